// The SQLite key store against real files: create, read, modify, touch,
// change detection by another connection, file modes, and clear errors for
// corrupt, foreign, newer and unopenable files.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

#include "corral/auth/store.h"
#include "helpers.h"

using namespace corral::auth;
using auth_test::TempDir;

namespace {

Key sample(const std::string& name, uint8_t fill) {
  Key k;
  k.name = name;
  k.digest.fill(fill);
  k.admin = fill % 2;
  k.models = {"llama3.2", "qwen*"};
  k.limits = {10, 5000, 2};
  k.priority = Priority::high;
  k.created_ms = 1700000000000;
  k.expires_ms = 1800000000000;
  k.note = "team a";
  return k;
}

std::unique_ptr<KeyStore> open(const std::string& path) {
  std::string err;
  auto s = open_sqlite_store(path, err);
  EXPECT_TRUE(s) << err;
  return s;
}

int mode_of(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

void sql(const std::string& path, const char* statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  EXPECT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, &msg), SQLITE_OK) << (msg ? msg : "");
  sqlite3_free(msg);
  sqlite3_close(db);
}

}  // namespace

TEST(KeysStore, CreatesReadsAndModifies) {
  TempDir dir;
  auto s = open(dir.file("sub/keys.db"));
  ASSERT_TRUE(s);
  std::string err;
  EXPECT_EQ(s->insert(sample("alice", 1), err), StoreStatus::ok) << err;
  EXPECT_EQ(s->insert(sample("bob", 2), err), StoreStatus::ok) << err;
  EXPECT_EQ(s->insert(sample("alice", 3), err), StoreStatus::exists);

  Key got;
  ASSERT_EQ(s->get("alice", got, err), StoreStatus::ok) << err;
  Key want = sample("alice", 1);
  EXPECT_EQ(got.digest, want.digest);
  EXPECT_EQ(got.admin, want.admin);
  EXPECT_EQ(got.models, want.models);
  EXPECT_EQ(got.limits, want.limits);
  EXPECT_EQ(got.priority, Priority::high);
  EXPECT_EQ(got.created_ms, want.created_ms);
  EXPECT_EQ(got.expires_ms, want.expires_ms);
  EXPECT_EQ(got.note, "team a");
  EXPECT_EQ(got.state, KeyState::active);
  EXPECT_EQ(s->get("carol", got, err), StoreStatus::not_found);

  Key out;
  auto change = [](Key& k) {
    k.name = "renamed";  // ignored: the name, created and last-used times are kept
    k.created_ms = 1;
    k.limits.rpm = 99;
    k.models.clear();
    k.state = KeyState::revoked;
  };
  ASSERT_EQ(s->modify("alice", change, out, err), StoreStatus::ok) << err;
  EXPECT_EQ(out.name, "alice");
  EXPECT_EQ(out.created_ms, want.created_ms);
  EXPECT_EQ(s->modify("carol", change, out, err), StoreStatus::not_found);

  std::vector<Key> all;
  ASSERT_TRUE(s->load(all, err)) << err;
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[0].limits.rpm, 99u);
  EXPECT_TRUE(all[0].models.empty());
  EXPECT_EQ(all[0].state, KeyState::revoked);
  EXPECT_EQ(all[1].name, "bob");

  s.reset();
  auto again = open(dir.file("sub/keys.db"));
  ASSERT_TRUE(again->load(all, err));
  EXPECT_EQ(all.size(), 2u) << "written to the file";
}

TEST(KeysStore, TouchWritesABatchAndNeverGoesBack) {
  TempDir dir;
  auto s = open(dir.file("keys.db"));
  std::string err;
  s->insert(sample("alice", 1), err);
  s->insert(sample("bob", 2), err);
  std::vector<LastUsed> batch = {{"alice", 5000}, {"bob", 7000}, {"gone", 1}};
  ASSERT_TRUE(s->touch(batch, err)) << err;
  batch = {{"alice", 4000}};
  ASSERT_TRUE(s->touch(batch, err)) << err;
  Key k;
  s->get("alice", k, err);
  EXPECT_EQ(k.last_used_ms, 5000);
  s->get("bob", k, err);
  EXPECT_EQ(k.last_used_ms, 7000);
}

TEST(KeysStore, FileAndItsWalAreOwnerOnly) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto s = open(path);
  std::string err;
  ASSERT_EQ(s->insert(sample("alice", 1), err), StoreStatus::ok);
  EXPECT_EQ(mode_of(path), 0600);
  EXPECT_EQ(mode_of(path + "-wal"), 0600) << "open while the store is";
  EXPECT_EQ(mode_of(path + "-shm"), 0600);
  s.reset();
  chmod(path.c_str(), 0644);
  s = open(path);
  EXPECT_EQ(mode_of(path), 0600) << "a looser file is tightened when opened";
}

TEST(KeysStore, SeesChangesByAnotherConnection) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto mine = open(path);
  auto other = open(path);
  bool changed = false;
  std::string err;
  ASSERT_TRUE(mine->changed(changed, err)) << err;
  EXPECT_TRUE(changed) << "the first call says true";
  ASSERT_TRUE(mine->changed(changed, err));
  EXPECT_FALSE(changed);
  other->insert(sample("alice", 1), err);
  ASSERT_TRUE(mine->changed(changed, err));
  EXPECT_TRUE(changed) << "another connection's commit";
  ASSERT_TRUE(mine->changed(changed, err));
  EXPECT_FALSE(changed);
  Key out;
  mine->modify(
      "alice", [](Key& k) { k.limits.rpm = 1; }, out, err);
  ASSERT_TRUE(mine->changed(changed, err));
  EXPECT_TRUE(changed) << "its own edits count too";
  std::vector<LastUsed> batch = {{"alice", 9}};
  mine->touch(batch, err);
  ASSERT_TRUE(mine->changed(changed, err));
  EXPECT_FALSE(changed) << "last-used times are not a change of keys";
}

// corral holds two stores on keys.db (the watcher's and the admin API's). Opening
// the second must not drop the first's SQLite locks: a `corral keys` process
// would then take itself for the only user, checkpoint and remove the WAL on
// exit, and the first store would read a stale snapshot ever after.
TEST(KeysStore, ASecondStoreInTheProcessKeepsTheFirstSeeingOtherProcesses) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto watcher = open(path);
  bool changed = false;
  std::string err;
  ASSERT_TRUE(watcher->changed(changed, err)) << err;
  auto admin = open(path);
  for (int i = 0; i < 3; ++i) {
    auth_test::Run r = auth_test::run_keys({"create", "key" + std::to_string(i), "--data-dir", dir.path()}, dir.path());
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(watcher->changed(changed, err)) << err;
    EXPECT_TRUE(changed) << "change " << i;
    std::vector<Key> keys;
    ASSERT_TRUE(watcher->load(keys, err)) << err;
    EXPECT_EQ(keys.size(), static_cast<size_t>(i + 1)) << "change " << i;
  }
}

TEST(KeysStore, AReplacedFileIsReopened) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto mine = open(path);
  bool changed;
  std::string err;
  mine->changed(changed, err);
  {
    auto other = open(dir.file("new.db"));
    other->insert(sample("restored", 7), err);
  }
  ASSERT_EQ(std::rename(dir.file("new.db").c_str(), path.c_str()), 0);
  ASSERT_TRUE(mine->changed(changed, err)) << err;
  EXPECT_TRUE(changed);
  std::vector<Key> all;
  ASSERT_TRUE(mine->load(all, err)) << err;
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "restored");
}

TEST(KeysStore, CorruptFileIsAnErrorNamingIt) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  std::ofstream(path) << std::string(8192, 'x');
  std::string err;
  EXPECT_FALSE(open_sqlite_store(path, err));
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("not a database"), std::string::npos) << err;
}

TEST(KeysStore, ForeignAndNewerFilesAreRefused) {
  TempDir dir;
  std::string foreign = dir.file("analytics.db");
  sql(foreign, "CREATE TABLE requests(id INTEGER PRIMARY KEY)");
  std::string err;
  EXPECT_FALSE(open_sqlite_store(foreign, err));
  EXPECT_NE(err.find("not a corral key store"), std::string::npos) << err;
  EXPECT_NE(err.find(foreign), std::string::npos) << err;

  std::string newer = dir.file("keys.db");
  open(newer).reset();
  sql(newer, "PRAGMA user_version = 9");
  EXPECT_FALSE(open_sqlite_store(newer, err));
  EXPECT_NE(err.find("schema version 9"), std::string::npos) << err;
}

TEST(KeysStore, UnopenablePathIsAnErrorNamingIt) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);  // root may read any file, but nobody opens a directory as one
  std::string err;
  EXPECT_FALSE(open_sqlite_store(path, err));
  EXPECT_NE(err.find("key store '" + path + "' is not a regular file"), std::string::npos) << err;
}

TEST(KeysStore, BadRowsAreAnErrorNotAGuess) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto s = open(path);
  std::string err;
  s->insert(sample("alice", 1), err);
  sql(path, "UPDATE keys SET rpm = -5");
  std::vector<Key> all;
  EXPECT_FALSE(s->load(all, err));
  EXPECT_NE(err.find("key 'alice'"), std::string::npos) << err;
}
