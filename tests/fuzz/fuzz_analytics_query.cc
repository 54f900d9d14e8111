// Query strings of /analytics/* into analytics::parse_query, parse_time and
// url_decode. Byte 0 picks the path. Invariants: a query taken is consistent
// (start before end, limits within bounds), every refusal says why, decoding
// never grows a string.
#include <array>
#include <string>

#include "corral/analytics/query.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::array<std::string_view, 6> kPaths = {"/analytics",        "/analytics/stats",
                                                             "/analytics/search", "/analytics/export",
                                                             "/analytics/stats/", "/analytics/nope"};
  if (size == 0) return 0;
  std::string_view path = kPaths[data[0] % kPaths.size()];
  std::string_view query(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int64_t now_ms = 1790000000000;
  analytics::Query q;
  std::string err;
  if (analytics::parse_query(path, query, now_ms, q, err)) {
    if (q.f.start_ms >= q.f.end_ms) broken("a query taken with start_time not before end_time");
    if (q.kind == analytics::QueryKind::search && q.limit > analytics::kSearchLimitMax) broken("search limit over max");
    if (q.limit == 0) broken("a query taken with limit 0");
  } else if (err.empty()) {
    broken("parse_query refused without saying why");
  }
  if (analytics::url_decode(query).size() > query.size()) broken("url_decode grew the string");
  int64_t ms = 0;
  analytics::parse_time(query, ms);
  return 0;
}
