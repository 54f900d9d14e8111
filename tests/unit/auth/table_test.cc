// The key table (lookup verdicts, model lists, counters kept across
// rebuilds), the box workers read it from, and the watcher against real
// keys.db files changed by another connection and by the corral CLI as a
// separate process. Time is injected: "live within 2 s" is "live at the next
// check", and the check interval is 0.5 s.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <fstream>

#include "corral/auth/manage.h"
#include "corral/auth/table.h"
#include "corral/auth/watcher.h"
#include "corral/core/clock.h"
#include "helpers.h"

using namespace corral::auth;
using auth_test::TempDir;

namespace {

constexpr int64_t kSec = 1'000'000;

Key key_for(const std::string& name, const std::string& token) {
  Key k;
  k.name = name;
  digest_of(token, k.digest);
  return k;
}

std::string token() {
  std::string t, err;
  make_token(t, err);
  return t;
}

std::unique_ptr<KeyStore> open(const std::string& path) {
  std::string err;
  auto s = open_sqlite_store(path, err);
  EXPECT_TRUE(s) << err;
  return s;
}

std::string create(KeyStore& s, const std::string& name, const KeySpec& spec = {}) {
  Key k;
  std::string t, err;
  EXPECT_EQ(create_key(s, name, spec, 1000, k, t, err), StoreStatus::ok) << err;
  return t;
}

}  // namespace

TEST(KeysTable, LookupVerdicts) {
  std::string ta = token(), tr = token(), te = token();
  Key a = key_for("alice", ta), r = key_for("rev", tr), e = key_for("old", te);
  r.state = KeyState::revoked;
  e.expires_ms = 5000;
  auto t = KeyTable::build({a, r, e}, nullptr, 7);
  EXPECT_EQ(t->version(), 7u);
  Lookup l = t->find(ta, 6000);
  ASSERT_EQ(l.verdict, Verdict::ok);
  EXPECT_EQ(l.entry->key.name, "alice");
  EXPECT_EQ(t->find(tr, 0).verdict, Verdict::revoked);
  EXPECT_EQ(t->find(tr, 0).entry->key.name, "rev");
  EXPECT_EQ(t->find(te, 4999).verdict, Verdict::ok);
  EXPECT_EQ(t->find(te, 5000).verdict, Verdict::expired);
  EXPECT_EQ(t->find(token(), 0).verdict, Verdict::unknown);
  EXPECT_EQ(t->find(token(), 0).entry, nullptr);
  EXPECT_EQ(t->find("Bearer x", 0).verdict, Verdict::malformed);
  EXPECT_EQ(t->by_name("old")->key.expires_ms, 5000);
  EXPECT_EQ(t->by_name("nobody"), nullptr);
  EXPECT_EQ(verdict_message(Verdict::revoked), "API key revoked");
}

TEST(KeysTable, ModelAllowList) {
  Key k;
  EXPECT_TRUE(k.allows_model("anything")) << "empty = every model";
  k.models = {"llama3.2", "qwen2.5:7b", "mistral*"};
  EXPECT_TRUE(k.allows_model("llama3.2"));
  EXPECT_TRUE(k.allows_model("llama3.2:latest")) << "a bare name is :latest";
  EXPECT_FALSE(k.allows_model("llama3.2:1b"));
  EXPECT_TRUE(k.allows_model("qwen2.5:7b"));
  EXPECT_FALSE(k.allows_model("qwen2.5"));
  EXPECT_TRUE(k.allows_model("mistral-nemo:12b"));
  EXPECT_FALSE(k.allows_model("mixtral"));
  k.models = {"phi3:latest"};
  EXPECT_TRUE(k.allows_model("phi3"));
}

TEST(KeysTable, RebuildKeepsCountersOfKeysThatStay) {
  std::string ta = token(), tb = token();
  Key a = key_for("alice", ta), b = key_for("bob", tb);
  a.limits.concurrency = 1;
  auto first = KeyTable::build({a, b}, nullptr, 1);
  Admission held;
  Refusal why;
  ASSERT_TRUE(first->find(ta, 0).entry->limiter.admit(0, held, why));
  std::string ta2 = token();
  Key rotated = key_for("alice", ta2);
  rotated.limits.concurrency = 1;
  auto second = KeyTable::build({rotated}, first.get(), 2);
  EXPECT_EQ(second->find(ta, 0).verdict, Verdict::unknown) << "the old token stops working";
  EXPECT_EQ(second->find(tb, 0).verdict, Verdict::unknown) << "bob is gone";
  const KeyEntry* e = second->find(ta2, 0).entry;
  ASSERT_NE(e, nullptr);
  Admission more;
  EXPECT_FALSE(e->limiter.admit(0, more, why)) << "alice's request in flight still counts";
  held = Admission();
  EXPECT_TRUE(e->limiter.admit(0, more, why));
}

TEST(KeysTable, BoxRefreshesOnlyWhenTheVersionMoved) {
  KeyTableBox box;
  std::shared_ptr<const KeyTable> mine;
  box.publish(KeyTable::build({}, nullptr, 1));
  box.refresh(mine);
  ASSERT_TRUE(mine);
  const KeyTable* seen = mine.get();
  box.refresh(mine);
  EXPECT_EQ(mine.get(), seen);
  box.publish(KeyTable::build({key_for("a", token())}, mine.get(), 2));
  box.refresh(mine);
  EXPECT_EQ(mine->version(), 2u);
  EXPECT_EQ(mine->entries().size(), 1u);
}

TEST(KeysWatcher, SeesAnotherConnectionsChangeAtTheNextCheck) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto server = open(path), admin = open(path);
  KeyTableBox box;
  KeyWatcher w(*server, box);
  std::string err;
  int64_t now = 100 * kSec;
  ASSERT_TRUE(w.start(now, err)) << err;
  EXPECT_EQ(box.get()->entries().size(), 0u);
  std::string t = create(*admin, "alice");
  w.poll(now + kSec / 4);
  EXPECT_EQ(box.get()->find(t, 0).verdict, Verdict::unknown) << "not checked before the interval";
  w.poll(now + kSec / 2);
  EXPECT_EQ(box.get()->find(t, 0).verdict, Verdict::ok);
  uint64_t v = box.version();
  w.poll(now + kSec);
  EXPECT_EQ(box.version(), v) << "no change, no rebuild";
}

TEST(KeysWatcher, SeesTheCliInAnotherProcess) {
  TempDir dir;
  auto server = open(dir.file("keys.db"));
  KeyTableBox box;
  KeyWatcher w(*server, box);
  std::string err;
  int64_t now = 0;
  ASSERT_TRUE(w.start(now, err)) << err;

  auto cli = auth_test::run_keys({"create", "alice", "--rpm", "5", "--data-dir", dir.path()}, dir.path());
  ASSERT_EQ(cli.status, 0) << cli.err;
  std::string t = cli.last_line();
  w.poll(now += kSec / 2);
  Lookup l = box.get()->find(t, corral::core::wall_us() / 1000);
  ASSERT_EQ(l.verdict, Verdict::ok) << "created by another process, live at the next check";
  EXPECT_EQ(l.entry->limiter.limits().rpm, 5u);

  ASSERT_EQ(auth_test::run_keys({"set", "alice", "--rpm", "7", "--data-dir", dir.path()}, dir.path()).status, 0);
  w.poll(now += kSec / 2);
  EXPECT_EQ(box.get()->find(t, 0).entry->limiter.limits().rpm, 7u);

  auto rotated = auth_test::run_keys({"rotate", "alice", "--data-dir", dir.path()}, dir.path());
  ASSERT_EQ(rotated.status, 0) << rotated.err;
  w.poll(now += kSec / 2);
  EXPECT_EQ(box.get()->find(t, 0).verdict, Verdict::unknown) << "the old token stops working";
  EXPECT_EQ(box.get()->find(rotated.last_line(), 0).verdict, Verdict::ok);

  ASSERT_EQ(auth_test::run_keys({"revoke", "alice", "--data-dir", dir.path()}, dir.path()).status, 0);
  w.poll(now += kSec / 2);
  EXPECT_EQ(box.get()->find(rotated.last_line(), 0).verdict, Verdict::revoked);
  EXPECT_TRUE(w.error().empty()) << w.error();
}

TEST(KeysWatcher, ABrokenStoreKeepsTheLastGoodTable) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto server = open(path);
  std::string t = create(*server, "alice");
  KeyTableBox box;
  KeyWatcher w(*server, box);
  std::string err;
  ASSERT_TRUE(w.start(0, err)) << err;
  uint64_t good = box.version();

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "DROP TABLE keys", nullptr, nullptr, nullptr), SQLITE_OK);
  w.poll(kSec);
  EXPECT_EQ(box.version(), good);
  EXPECT_EQ(box.get()->find(t, 0).verdict, Verdict::ok) << "the last good table still answers";
  EXPECT_NE(w.error().find("no such table"), std::string::npos) << w.error();
  EXPECT_NE(w.error().find(path), std::string::npos) << w.error();
  sqlite3_close(other);

  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());  // deleted under it
  w.poll(2 * kSec);
  EXPECT_EQ(box.version(), good);
  EXPECT_NE(w.error().find("No such file"), std::string::npos) << w.error();

  std::ofstream(path) << std::string(8192, 'x');
  w.poll(3 * kSec);
  EXPECT_EQ(box.version(), good);
  EXPECT_EQ(box.get()->find(t, 0).verdict, Verdict::ok);
  EXPECT_NE(w.error().find("not a database"), std::string::npos) << w.error();

  ASSERT_EQ(std::remove(path.c_str()), 0);
  auto fresh = open(path);  // a new store in its place
  std::string t2 = create(*fresh, "bob");
  w.poll(4 * kSec);
  EXPECT_TRUE(w.error().empty()) << w.error();
  EXPECT_EQ(box.get()->find(t2, 0).verdict, Verdict::ok);
  EXPECT_EQ(box.get()->find(t, 0).verdict, Verdict::unknown);
}

TEST(KeysWatcher, WritesLastUsedInBatches) {
  TempDir dir;
  std::string path = dir.file("keys.db");
  auto server = open(path);
  std::string t = create(*server, "alice");
  create(*server, "idle");
  KeyTableBox box;
  KeyWatcher w(*server, box);
  std::string err;
  int64_t now = 50 * kSec;
  ASSERT_TRUE(w.start(now, err)) << err;
  Admission a;
  Refusal why;
  ASSERT_TRUE(box.get()->find(t, 0).entry->limiter.admit(now + kSec, a, why));
  int64_t wall_before = corral::core::wall_us() / 1000;
  w.poll(now + 2 * kSec);
  auto reader = open(path);
  Key k;
  reader->get("alice", k, err);
  EXPECT_EQ(k.last_used_ms, 0) << "not before the touch interval";
  w.poll(now + 5 * kSec);
  reader->get("alice", k, err);
  EXPECT_GE(k.last_used_ms, wall_before - 4000) << "used 4 s before the write";
  EXPECT_LE(k.last_used_ms, corral::core::wall_us() / 1000 - 4000);
  reader->get("idle", k, err);
  EXPECT_EQ(k.last_used_ms, 0);
  w.poll(now + 5 * kSec + kSec / 2);
  EXPECT_EQ(box.version(), 1u) << "its own last-used writes do not rebuild the table";
}
