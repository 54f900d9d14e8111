// Thin RAII over the SQLite C API: a connection and prepared statements.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace corral::analytics {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql, std::string& err);
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  explicit operator bool() const { return s_ != nullptr; }
  sqlite3_stmt* get() const { return s_; }

  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind_real(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // v must stay unchanged until the statement is stepped and reset.
  void bind_static(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }
  int step() { return sqlite3_step(s_); }  // SQLITE_ROW, SQLITE_DONE or an error
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t int_at(int i) const { return sqlite3_column_int64(s_, i); }
  double real_at(int i) const { return sqlite3_column_double(s_, i); }
  bool null_at(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::string_view text_at(int i) const {
    const unsigned char* p = sqlite3_column_text(s_, i);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

class Db {
 public:
  Db() = default;
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  // read_only: a query connection (WAL readers never block the writer).
  bool open(const std::string& path, bool read_only, std::string& err);
  bool exec(const char* sql, std::string& err);
  sqlite3* get() const { return db_; }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace corral::analytics
