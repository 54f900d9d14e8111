// The default store: one SQLite file in WAL mode, so the query connection
// reads while the offload thread writes.
#include <span>

#include "corral/analytics/sink.h"
#include "corral/analytics/sliced_vfs.h"
#include "corral/analytics/sqlite.h"
#include "corral/core/files.h"

namespace corral::analytics {

Stmt::Stmt(sqlite3* db, std::string_view sql, std::string& err) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s_, nullptr) !=
      SQLITE_OK) {
    err = std::string("sqlite: ") + sqlite3_errmsg(db);
    s_ = nullptr;
  }
}

bool Db::open(const std::string& path, bool read_only, std::string& err) {
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  // The writer's pages go through the sliced VFS (the ingest thread's commits and checkpoints).
  const char* vfs = read_only ? nullptr : sliced_vfs();
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, vfs) != SQLITE_OK) {
    err = "sqlite: cannot open '" + path + "': " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
    return false;
  }
  sqlite3_busy_timeout(db_, 5000);
  return true;
}

bool Db::exec(const char* sql, std::string& err) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  err = std::string("sqlite: ") + (msg ? msg : sqlite3_errmsg(db_));
  sqlite3_free(msg);
  return false;
}

namespace {

const char* sql_type(Type t) { return t == Type::text ? " TEXT" : t == Type::real ? " REAL" : " INTEGER"; }

std::string schema_sql() {
  std::string s = "CREATE TABLE IF NOT EXISTS requests(id INTEGER PRIMARY KEY";
  for (const Column& c : kColumns) s.append(", ").append(c.name).append(sql_type(c.type));
  return s + ");";
}

// After the columns: an older store has gained the ones its indexes need.
std::string index_sql() {
  return "CREATE INDEX IF NOT EXISTS requests_time ON requests(time_ms);"
         "CREATE INDEX IF NOT EXISTS requests_model ON requests(model, time_ms);"
         "CREATE INDEX IF NOT EXISTS requests_status ON requests(status, time_ms);"
         "CREATE INDEX IF NOT EXISTS requests_user ON requests(user, time_ms);"
         "CREATE TABLE IF NOT EXISTS spool_position(id INTEGER PRIMARY KEY CHECK (id = 1), segment INTEGER, offset "
         "INTEGER);"
         "PRAGMA user_version = 1;";
}

std::string insert_sql() {
  std::string cols, marks;
  for (const Column& c : kColumns) {
    cols.append(cols.empty() ? "" : ",").append(c.name);
    marks.append(marks.empty() ? "?" : ",?");
  }
  return "INSERT INTO requests(" + cols + ") VALUES(" + marks + ")";
}

class SqliteSink final : public Sink {
 public:
  // A store made by an older corral gets the columns added since (NULL in its old rows).
  bool add_missing_columns(std::string& err) {
    for (const Column& c : kColumns) {
      Stmt probe(db_.get(), "SELECT 1 FROM pragma_table_info('requests') WHERE name = ?", err);
      if (!probe) return false;
      probe.bind_static(1, c.name);
      bool present = probe.step() == SQLITE_ROW;
      if (present) continue;
      std::string sql = "ALTER TABLE requests ADD COLUMN " + std::string(c.name) + sql_type(c.type);
      if (!db_.exec(sql.c_str(), err)) return false;
    }
    return true;
  }

  bool open(const std::string& path, std::string& err) {
    if (!core::make_parent_dirs(path, err) || !db_.open(path, false, err)) return false;
    if (!db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=4000;", err))
      return false;
    if (!db_.exec(schema_sql().c_str(), err) || !add_missing_columns(err) || !db_.exec(index_sql().c_str(), err)) {
      return false;
    }
    insert_ = Stmt(db_.get(), insert_sql(), err);
    save_position_ = Stmt(db_.get(), "INSERT OR REPLACE INTO spool_position(id, segment, offset) VALUES(1, ?, ?)", err);
    expire_ = Stmt(
        db_.get(),
        "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE time_ms < ? ORDER BY time_ms LIMIT ?)", err);
    return insert_ && expire_ && save_position_;
  }

  bool write(const Row* rows, size_t n, const SpoolPosition& upto, std::string& err) override {
    SliceWrites sliced(slice());
    if (!db_.exec("BEGIN IMMEDIATE", err)) return false;
    for (const Row& r : std::span(rows, n)) {
      between_rows();
      for (size_t c = 0; c < kColumnCount; ++c) {
        const Value& v = r[c];
        int i = static_cast<int>(c) + 1;
        if (v.null) insert_.bind_null(i);
        else if (kColumns[c].type == Type::text) insert_.bind_static(i, v.s);
        else if (kColumns[c].type == Type::real) insert_.bind_real(i, v.d);
        else insert_.bind(i, v.i);
      }
      int rc = insert_.step();
      insert_.reset();
      if (rc != SQLITE_DONE) {
        err = "sqlite insert: " + db_.error();
        std::string ignored;
        db_.exec("ROLLBACK", ignored);
        return false;
      }
    }
    save_position_.bind(1, static_cast<int64_t>(upto.segment));
    save_position_.bind(2, static_cast<int64_t>(upto.offset));
    int rc = save_position_.step();
    save_position_.reset();
    if (rc == SQLITE_DONE && db_.exec("COMMIT", err)) return true;
    if (rc != SQLITE_DONE) err = "sqlite spool position: " + db_.error();
    std::string ignored;
    db_.exec("ROLLBACK", ignored);
    return false;
  }

  void release_memory() override { sqlite3_db_release_memory(db_.get()); }

  bool position(SpoolPosition& out) override {
    std::string err;
    Stmt s(db_.get(), "SELECT segment, offset FROM spool_position WHERE id = 1", err);
    if (!s || s.step() != SQLITE_ROW) return false;
    out = {static_cast<uint64_t>(s.int_at(0)), static_cast<uint64_t>(s.int_at(1))};
    return true;
  }

  int64_t expire(int64_t cutoff_ms, int limit, std::string& err) override {
    SliceWrites sliced(slice());
    expire_.bind(1, cutoff_ms);
    expire_.bind(2, static_cast<int64_t>(limit));
    int rc = expire_.step();
    expire_.reset();
    if (rc != SQLITE_DONE) {
      err = "sqlite retention: " + db_.error();
      return -1;
    }
    return sqlite3_changes(db_.get());
  }

 private:
  Db db_;
  Stmt insert_, expire_, save_position_;
};

}  // namespace

std::unique_ptr<Sink> open_sqlite_sink(const std::string& path, std::string& err) {
  auto s = std::make_unique<SqliteSink>();
  if (!s->open(path, err)) return nullptr;
  return s;
}

}  // namespace corral::analytics
