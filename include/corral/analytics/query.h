// /analytics/* requests: parsed and checked on the worker (bad parameters are
// a 400 there, without touching the store), answered by the query thread.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace corral::analytics {

enum class QueryKind : uint8_t { dashboard, stats, search, export_ };

struct Filters {
  int64_t start_ms = 0, end_ms = 0;  // [start, end)
  std::string model, prompt_search, user, backend, endpoint;
  int status = 0;            // exact code, 0 = any
  int status_class = 0;      // 2..5 for "2xx".."5xx", 0 = any
  bool errors_only = false;  // status=error: 4xx and 5xx
};

struct Query {
  QueryKind kind = QueryKind::dashboard;
  Filters f;
  uint32_t limit = 100;
  uint32_t offset = 0;
  bool csv = false;
  bool head_only = false;  // HEAD: the status line and headers of the GET answer
};

inline constexpr uint32_t kSearchLimitMax = 1000;

// path is /analytics or /analytics/<stats|search|export>; query is what follows '?'.
// Defaults: stats covers the last 24 hours, search and export all time.
bool parse_query(std::string_view path, std::string_view query, int64_t now_ms, Query& q, std::string& err);

// ISO 8601 ("2026-11-27", "2026-11-27T07:00:00", with fraction, "Z" or ±hh:mm) or Unix seconds.
bool parse_time(std::string_view s, int64_t& unix_ms);

// %XX and '+' decoding of one query-string component.
std::string url_decode(std::string_view s);

}  // namespace corral::analytics
