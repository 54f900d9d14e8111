// Requests and tokens per key over a recent period, read from the SQLite
// analytics store (its `requests` table: key_name, time_ms, prompt_tokens,
// completion_tokens) on a read-only connection, for `corral keys list` and
// GET /admin/keys. Never on the request path.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>

namespace corral::auth {

struct KeyActivity {
  int64_t requests = 0;
  int64_t tokens = 0;  // prompt + completion
};
using ActivityByKey = std::unordered_map<std::string, KeyActivity>;

// Rows since since_unix_ms, by key name. A store that does not exist yet is no
// activity; an unreadable one is false with err naming it.
bool read_activity(const std::string& analytics_db, int64_t since_unix_ms, ActivityByKey& out, std::string& err);

inline constexpr int64_t kActivityWindowMs = 24 * 3600 * 1000;

}  // namespace corral::auth
