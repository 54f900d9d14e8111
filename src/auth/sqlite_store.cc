// keys.db: one SQLite file in the data directory, mode 0600, WAL (the CLI
// writes while corral reads), synchronous=FULL (a printed token must survive a
// power cut). Changes by other processes are seen through PRAGMA data_version
// on the kept connection, and a replaced file through its inode.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "corral/auth/store.h"
#include "corral/core/fd.h"
#include "corral/core/files.h"
#include "sqlite_util.h"

namespace corral::auth {

std::string keys_db_path(const config::Config& cfg) { return cfg.data_dir + "/keys.db"; }

namespace {

constexpr int64_t kApplicationId = 0x63726c6b;  // "crlk": tells keys.db from any other SQLite file
constexpr int64_t kSchemaVersion = 1;

constexpr const char* kSchema =
    "CREATE TABLE keys("
    " name TEXT PRIMARY KEY,"
    " digest BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),"
    " admin INTEGER NOT NULL,"
    " models TEXT NOT NULL,"  // comma-separated; model names have no commas
    " rpm INTEGER NOT NULL, tpm INTEGER NOT NULL, concurrency INTEGER NOT NULL,"
    " priority TEXT NOT NULL CHECK (priority IN ('high', 'normal', 'low')),"
    " created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, last_used_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('active', 'revoked')),"
    " note TEXT NOT NULL) STRICT;"
    "PRAGMA application_id = 1668443243;"
    "PRAGMA user_version = 1;";

constexpr const char* kColumns =
    "name, digest, admin, models, rpm, tpm, concurrency, priority, created_ms, expires_ms, last_used_ms, state, note";

std::string join_models(const std::vector<std::string>& models) {
  std::string s;
  for (const std::string& m : models) s.append(s.empty() ? "" : ",").append(m);
  return s;
}

std::vector<std::string> split_models(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t c = s.find(',');
    out.emplace_back(s.substr(0, c));
    s = c == std::string_view::npos ? std::string_view() : s.substr(c + 1);
  }
  return out;
}

// Creates the file 0600 (owned like its directory when root creates it, so a
// service user can still open what `sudo corral keys` made) or tightens a looser mode.
bool prepare_file(const std::string& path, struct stat& st, std::string& err) {
  bool created = true;
  core::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd && errno == EEXIST) {
    created = false;
    fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  }
  if (!fd || fstat(fd.get(), &st) != 0) {
    err = "cannot open key store '" + path + "': " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    err = "key store '" + path + "' is not a regular file";
    return false;
  }
  struct stat dir;
  std::string parent = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  if (created && geteuid() == 0 && stat(parent.c_str(), &dir) == 0 && dir.st_uid != 0 &&
      fchown(fd.get(), dir.st_uid, dir.st_gid) != 0) {
    err = "key store '" + path + "': cannot give it to the directory's owner: " + std::strerror(errno);
    return false;
  }
  if ((st.st_mode & 077) != 0 && fchmod(fd.get(), 0600) != 0) {
    err = "key store '" + path + "' is readable by others and cannot be made 0600: " + std::strerror(errno);
    return false;
  }
  return true;
}

// SQLite creates -wal and -shm with the database's mode; one made while the file was looser is tightened too.
void tighten_side_files(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    struct stat st;
    std::string p = path + suffix;
    if (stat(p.c_str(), &st) == 0 && (st.st_mode & 077) != 0) chmod(p.c_str(), 0600);
  }
}

// BEGIN IMMEDIATE … COMMIT, rolled back unless committed.
class Transaction {
 public:
  Transaction(sqlite3* db, std::string& err) : db_(db), open_(sql::exec(db, "BEGIN IMMEDIATE", err)) {}
  ~Transaction() {
    std::string ignored;
    if (open_) sql::exec(db_, "ROLLBACK", ignored);
  }
  bool ok() const { return open_; }
  bool commit(std::string& err) {
    open_ = !sql::exec(db_, "COMMIT", err);
    return !open_;
  }

 private:
  sqlite3* db_;
  bool open_;
};

class SqliteKeyStore final : public KeyStore {
 public:
  bool open(const std::string& path, int busy_ms, std::string& err) {
    path_ = path;
    busy_ms_ = busy_ms;
    struct stat st;
    if (!core::make_parent_dirs(path, err) || !prepare_file(path, st, err)) return false;
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) return fail(raw ? sqlite3_errmsg(raw) : "out of memory", err);
    sqlite3_busy_timeout(raw, busy_ms);
    if (!check_schema(err)) return false;
    std::string why;
    if (!sql::exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", why)) return fail(why, err);
    tighten_side_files(path);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return true;
  }

  const std::string& where() const override { return path_; }

  bool load(std::vector<Key>& out, std::string& err) override {
    std::string why;
    sql::Stmt s(db_.get(), std::string("SELECT ") + kColumns + " FROM keys ORDER BY name", why);
    if (!s.ok()) return fail(why, err);
    out.clear();
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      Key k;
      if (!read_row(s, k, err)) return false;
      out.push_back(std::move(k));
    }
    return rc == SQLITE_DONE || fail(sqlite3_errmsg(db_.get()), err);
  }

  StoreStatus get(std::string_view name, Key& out, std::string& err) override {
    std::string why;
    sql::Stmt s(db_.get(), std::string("SELECT ") + kColumns + " FROM keys WHERE name = ?", why);
    if (!s.ok()) return failed(why, err);
    s.bind(1, name);
    int rc = s.step();
    if (rc == SQLITE_DONE) return StoreStatus::not_found;
    if (rc != SQLITE_ROW) return failed(sqlite3_errmsg(db_.get()), err);
    return read_row(s, out, err) ? StoreStatus::ok : StoreStatus::error;
  }

  StoreStatus insert(const Key& key, std::string& err) override {
    std::string why;
    Transaction txn(db_.get(), why);
    if (!txn.ok()) return failed(why, err);
    Key existing;
    StoreStatus found = get(key.name, existing, err);
    if (found != StoreStatus::not_found) return found == StoreStatus::ok ? StoreStatus::exists : found;
    sql::Stmt s(db_.get(), std::string("INSERT INTO keys(") + kColumns + ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", why);
    if (!s.ok()) return failed(why, err);
    bind_row(s, key);
    if (s.step() != SQLITE_DONE) return failed(sqlite3_errmsg(db_.get()), err);
    if (!txn.commit(why)) return failed(why, err);
    own_change_ = true;
    return StoreStatus::ok;
  }

  StoreStatus modify(std::string_view name, const std::function<void(Key&)>& change, Key& out,
                     std::string& err) override {
    std::string why;
    Transaction txn(db_.get(), why);
    if (!txn.ok()) return failed(why, err);
    Key before;
    StoreStatus found = get(name, before, err);
    if (found != StoreStatus::ok) return found;
    out = before;
    change(out);
    out.name = before.name;
    out.created_ms = before.created_ms;
    out.last_used_ms = before.last_used_ms;
    sql::Stmt s(db_.get(),
                "UPDATE keys SET digest = ?2, admin = ?3, models = ?4, rpm = ?5, tpm = ?6, concurrency = ?7,"
                " priority = ?8, expires_ms = ?10, state = ?12, note = ?13 WHERE name = ?1",
                why);
    if (!s.ok()) return failed(why, err);
    bind_row(s, out);
    if (s.step() != SQLITE_DONE) return failed(sqlite3_errmsg(db_.get()), err);
    if (!txn.commit(why)) return failed(why, err);
    own_change_ = true;
    return StoreStatus::ok;
  }

  bool touch(std::span<const LastUsed> batch, std::string& err) override {
    if (batch.empty()) return true;
    std::string why;
    Transaction txn(db_.get(), why);
    if (!txn.ok()) return fail(why, err);
    sql::Stmt s(db_.get(), "UPDATE keys SET last_used_ms = ?2 WHERE name = ?1 AND last_used_ms < ?2", why);
    if (!s.ok()) return fail(why, err);
    for (const LastUsed& u : batch) {
      s.bind(1, u.name);
      s.bind(2, u.unix_ms);
      if (s.step() != SQLITE_DONE) return fail(sqlite3_errmsg(db_.get()), err);
      s.reset();
    }
    return txn.commit(why) || fail(why, err);
  }

  bool changed(bool& out, std::string& err) override {
    struct stat st;
    if (stat(path_.c_str(), &st) != 0) {
      err = "key store '" + path_ + "': " + std::strerror(errno);
      return false;
    }
    if (st.st_dev != dev_ || st.st_ino != ino_) return reopen(out, err);  // replaced (restored from a backup, moved in)
    int64_t version;
    std::string why;
    if (!sql::query_int(db_.get(), "PRAGMA data_version", version, why)) return fail(why, err);
    out = own_change_ || version != data_version_;
    own_change_ = false;
    data_version_ = version;
    return true;
  }

 private:
  bool fail(std::string_view why, std::string& err) const {
    err = "key store '" + path_ + "': " + std::string(why);
    return false;
  }
  StoreStatus failed(std::string_view why, std::string& err) const {
    fail(why, err);
    return StoreStatus::error;
  }

  bool check_schema(std::string& err) {
    sqlite3* db = db_.get();
    int64_t app = 0, version = 0, tables = 0;
    std::string why;
    if (!sql::query_int(db, "PRAGMA application_id", app, why) ||
        !sql::query_int(db, "PRAGMA user_version", version, why) ||
        !sql::query_int(db, "SELECT count(*) FROM sqlite_schema", tables, why)) {
      return fail(why, err);
    }
    if (app == 0 && tables == 0) return create_schema(err);
    if (app != kApplicationId) return fail("not a corral key store (another program's SQLite file)", err);
    if (version > kSchemaVersion) {
      return fail("schema version " + std::to_string(version) + " is newer than this corral's " +
                      std::to_string(kSchemaVersion) + ": use a newer corral",
                  err);
    }
    return true;
  }

  // Two processes opening a new file at once: the second sees the first's schema inside its transaction.
  bool create_schema(std::string& err) {
    std::string why;
    Transaction txn(db_.get(), why);
    int64_t tables = 0;
    if (!txn.ok() || !sql::query_int(db_.get(), "SELECT count(*) FROM sqlite_schema", tables, why)) {
      return fail(why, err);
    }
    if (tables == 0 && !sql::exec(db_.get(), kSchema, why)) return fail(why, err);
    return txn.commit(why) || fail(why, err);
  }

  bool reopen(bool& out, std::string& err) {
    SqliteKeyStore fresh;
    if (!fresh.open(path_, busy_ms_, err)) return false;
    db_ = std::move(fresh.db_);
    dev_ = fresh.dev_;
    ino_ = fresh.ino_;
    data_version_ = -1;
    own_change_ = false;
    out = true;
    return true;
  }

  bool read_row(const sql::Stmt& s, Key& k, std::string& err) const {
    k.name = s.text_at(0);
    std::string_view digest = s.blob_at(1);
    bool ok = digest.size() == k.digest.size() && parse_priority(s.text_at(7), k.priority) &&
              parse_state(s.text_at(11), k.state) && s.int_at(4) >= 0 && s.int_at(5) >= 0 && s.int_at(6) >= 0;
    if (!ok) return fail("key '" + k.name + "' has an invalid digest, priority, state or limit", err);
    std::memcpy(k.digest.data(), digest.data(), k.digest.size());
    k.admin = s.int_at(2) != 0;
    k.models = split_models(s.text_at(3));
    k.limits.rpm = static_cast<uint32_t>(s.int_at(4));
    k.limits.tpm = static_cast<uint64_t>(s.int_at(5));
    k.limits.concurrency = static_cast<uint32_t>(s.int_at(6));
    k.created_ms = s.int_at(8);
    k.expires_ms = s.int_at(9);
    k.last_used_ms = s.int_at(10);
    k.note = s.text_at(12);
    return true;
  }

  static void bind_row(sql::Stmt& s, const Key& k) {
    s.bind(1, k.name);
    s.bind_blob(2, k.digest.data(), k.digest.size());
    s.bind(3, int64_t{k.admin});
    s.bind(4, join_models(k.models));
    s.bind(5, int64_t{k.limits.rpm});
    s.bind(6, static_cast<int64_t>(k.limits.tpm));
    s.bind(7, int64_t{k.limits.concurrency});
    s.bind(8, priority_name(k.priority));
    s.bind(9, k.created_ms);
    s.bind(10, k.expires_ms);
    s.bind(11, k.last_used_ms);
    s.bind(12, state_name(k.state));
    s.bind(13, k.note);
  }

  std::string path_;
  int busy_ms_ = 1000;
  sql::DbPtr db_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int64_t data_version_ = -1;
  bool own_change_ = true;  // the first changed() says true
};

}  // namespace

std::unique_ptr<KeyStore> open_sqlite_store(const std::string& path, std::string& err, int busy_ms) {
  auto s = std::make_unique<SqliteKeyStore>();
  if (!s->open(path, busy_ms, err)) return nullptr;
  return s;
}

}  // namespace corral::auth
