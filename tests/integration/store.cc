#include "store.h"

#include <sqlite3.h>

#include "harness.h"

namespace harness {
namespace {

// Runs query on a read-only handle, calling row(statement) per result row; false when it failed.
template <typename F>
bool each_row(const std::string& db_path, const std::string& query, F row) {
  sqlite3* db = nullptr;
  bool ok = false;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      int rc;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!row(st)) break;
      }
      ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return ok;
}

std::string text(sqlite3_stmt* st) {
  const unsigned char* t = sqlite3_column_text(st, 0);
  return t ? reinterpret_cast<const char*>(t) : "NULL";
}

}  // namespace

std::string sql(const std::string& db_path, const std::string& query) {
  std::string out;
  bool ok = each_row(db_path, query, [&](sqlite3_stmt* st) {
    out = text(st);
    return false;
  });
  return ok ? out : "<error>";
}

long count_rows(const std::string& db_path, const std::string& where) {
  std::string v = sql(db_path, "SELECT COUNT(*) FROM requests WHERE " + where);
  return v.empty() || v == "<error>" ? -1 : std::stol(v);
}

long wait_rows(const std::string& db_path, long n, int timeout_ms) {
  long got = -1;
  eventually([&] { return (got = count_rows(db_path)) == n; }, timeout_ms);
  return got;
}

std::multiset<std::string> stored_ids(const std::string& db_path) {
  std::multiset<std::string> out;
  each_row(db_path, "SELECT request_id FROM requests", [&](sqlite3_stmt* st) {
    out.insert(text(st));
    return true;
  });
  return out;
}

}  // namespace harness
