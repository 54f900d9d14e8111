#include "corral/auth/activity.h"

#include <unistd.h>

#include "sqlite_util.h"

namespace corral::auth {

bool read_activity(const std::string& analytics_db, int64_t since_unix_ms, ActivityByKey& out, std::string& err) {
  out.clear();
  if (::access(analytics_db.c_str(), F_OK) != 0) return true;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(analytics_db.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  sql::DbPtr db(raw);
  std::string why;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(raw, 2000);
    sql::Stmt s(raw,
                "SELECT key_name, count(*),"
                " coalesce(sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)), 0) FROM requests"
                " WHERE time_ms >= ?1 AND key_name IS NOT NULL AND key_name <> '' GROUP BY key_name",
                why);
    if (s.ok()) {
      s.bind(1, since_unix_ms);
      while ((rc = s.step()) == SQLITE_ROW) out[std::string(s.text_at(0))] = {s.int_at(1), s.int_at(2)};
      if (rc == SQLITE_DONE) return true;
      why = sqlite3_errmsg(raw);
    }
  } else {
    why = raw ? sqlite3_errmsg(raw) : "out of memory";
  }
  err = "analytics store '" + analytics_db + "': " + why;
  return false;
}

}  // namespace corral::auth
