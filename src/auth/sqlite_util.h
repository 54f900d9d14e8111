// The few SQLite calls the key store and the usage reader need, with RAII.
// (Private to auth: the analytics module's wrapper sits below auth in the module order.)
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace corral::auth::sql {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;

class Stmt {
 public:
  // Check ok() after: a failed prepare leaves err set to SQLite's message.
  Stmt(sqlite3* db, std::string_view sql, std::string& err) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s_, nullptr) != SQLITE_OK) {
      err = sqlite3_errmsg(db);
      s_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return s_ != nullptr; }

  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_blob(int i, const void* p, size_t n) { sqlite3_bind_blob(s_, i, p, static_cast<int>(n), SQLITE_TRANSIENT); }
  int step() { return sqlite3_step(s_); }
  void reset() { sqlite3_reset(s_); }
  int64_t int_at(int i) const { return sqlite3_column_int64(s_, i); }
  std::string_view text_at(int i) const {
    const unsigned char* p = sqlite3_column_text(s_, i);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }
  std::string_view blob_at(int i) const {
    const void* p = sqlite3_column_blob(s_, i);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

inline bool exec(sqlite3* db, const char* sql, std::string& err) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  err = msg ? msg : sqlite3_errmsg(db);
  sqlite3_free(msg);
  return false;
}

// A single integer from a query such as "PRAGMA user_version"; false with err.
inline bool query_int(sqlite3* db, const char* sql, int64_t& out, std::string& err) {
  Stmt s(db, sql, err);
  if (!s.ok()) return false;
  int rc = s.step();
  if (rc != SQLITE_ROW) {
    err = sqlite3_errmsg(db);
    return false;
  }
  out = s.int_at(0);
  return true;
}

}  // namespace corral::auth::sql
