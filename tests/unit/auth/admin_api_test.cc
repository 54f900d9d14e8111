// The keys admin API over a real keys.db: every route, every kind of bad
// input naming what was wrong, and the last-24-h figures read from a real
// analytics store written by the analytics module's own sink.
#include <gtest/gtest.h>

#include "corral/analytics/sink.h"
#include "corral/auth/admin_api.h"
#include "corral/auth/store.h"
#include "corral/core/clock.h"
#include "helpers.h"

using namespace corral::auth;
using auth_test::TempDir;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;

class KeysAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    store_ = open_sqlite_store(dir_.file("keys.db"), err);
    ASSERT_TRUE(store_) << err;
  }
  corral::http::LocalResponse call(std::string_view method, std::string_view path, std::string_view body = "") {
    return handle_keys_request(AdminContext{*store_, analytics_, kNow}, method, path, body);
  }
  // The token of a key made through POST.
  std::string make(const std::string& json) {
    auto r = call("POST", "/admin/keys", json);
    EXPECT_EQ(r.status, 201) << r.body;
    size_t at = r.body.find("\"token\":\"");
    return at == std::string::npos ? "" : r.body.substr(at + 9, kTokenLength);
  }
  void expect_400(std::string_view method, std::string_view path, std::string_view body, const std::string& says) {
    auto r = call(method, path, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find(says), std::string::npos) << body << " → " << r.body;
  }

  TempDir dir_;
  std::unique_ptr<KeyStore> store_;
  std::string analytics_;
};

}  // namespace

TEST_F(KeysAdmin, CreateAnswersTheTokenOnceAndStoresOnlyItsDigest) {
  auto r = call("POST", "/admin/keys",
                R"({"name":"alice","admin":true,"models":["llama3.2","qwen*"],"rpm":10,"tpm":5000,)"
                R"("concurrency":2,"priority":"high","expires":"30d","note":"team a"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find(R"("name":"alice","state":"active","admin":true,"models":["llama3.2","qwen*"],"rpm":10,)"
                        R"("tpm":5000,"concurrency":2,"priority":"high")"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("expires":")" + corral::core::iso_time(kNow + 30ll * 86400000) + "\""), std::string::npos);
  size_t at = r.body.find("\"token\":\"");
  ASSERT_NE(at, std::string::npos);
  std::string token = r.body.substr(at + 9, kTokenLength);
  EXPECT_TRUE(well_formed(token));
  Key k;
  std::string err;
  ASSERT_EQ(store_->get("alice", k, err), StoreStatus::ok);
  Digest d;
  digest_of(token, d);
  EXPECT_EQ(k.digest, d);

  auto again = call("POST", "/admin/keys", R"({"name":"alice"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("'alice' already exists"), std::string::npos);

  auto list = call("GET", "/admin/keys");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(token), std::string::npos) << "a token is never shown again";
  EXPECT_EQ(call("GET", "/admin/keys/alice").body.find(token), std::string::npos);
}

TEST_F(KeysAdmin, ListAndGet) {
  EXPECT_EQ(call("GET", "/admin/keys").body, R"({"keys":[]})");
  make(R"({"name":"bob"})");
  make(R"({"name":"alice","expires":null})");
  auto list = call("GET", "/admin/keys?x=1");
  ASSERT_EQ(list.status, 200);
  EXPECT_LT(list.body.find(R"("name":"alice")"), list.body.find(R"("name":"bob")")) << list.body;
  EXPECT_NE(list.body.find(R"("expires":null,"last_used":null,"note":"","requests_24h":null,"tokens_24h":null})"),
            std::string::npos)
      << "no analytics store given: the figures are unknown, not 0; " << list.body;
  auto one = call("GET", "/admin/keys/bob");
  ASSERT_EQ(one.status, 200);
  EXPECT_TRUE(one.body.starts_with(R"({"name":"bob","state":"active","admin":false,"models":[],"rpm":0,)")) << one.body;
  auto missing = call("GET", "/admin/keys/carol");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"no key named 'carol'"})");
}

TEST_F(KeysAdmin, PatchChangesRotatesAndDeleteRevokes) {
  std::string old = make(R"({"name":"alice","rpm":10})");
  auto r = call("PATCH", "/admin/keys/alice", R"({"rpm":5,"models":["phi3"],"note":"moved"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("models":["phi3"],"rpm":5,)"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"token\""), std::string::npos);

  auto rot = call("PATCH", "/admin/keys/alice", R"({"rotate":true,"priority":"low"})");
  ASSERT_EQ(rot.status, 200) << rot.body;
  size_t at = rot.body.find("\"token\":\"");
  ASSERT_NE(at, std::string::npos) << rot.body;
  std::string fresh = rot.body.substr(at + 9, kTokenLength);
  EXPECT_NE(fresh, old);
  EXPECT_NE(rot.body.find(R"("priority":"low")"), std::string::npos);
  Key k;
  std::string err;
  store_->get("alice", k, err);
  Digest d;
  digest_of(fresh, d);
  EXPECT_EQ(k.digest, d) << "rotated and changed in one write";

  auto del = call("DELETE", "/admin/keys/alice");
  ASSERT_EQ(del.status, 200);
  EXPECT_NE(del.body.find(R"("state":"revoked")"), std::string::npos);
  EXPECT_NE(call("GET", "/admin/keys").body.find(R"("state":"revoked")"), std::string::npos) << "it stays listed";
  auto back = call("PATCH", "/admin/keys/alice", R"({"rotate":true})");
  EXPECT_NE(back.body.find(R"("state":"active")"), std::string::npos) << "rotating a revoked key revives it";

  EXPECT_EQ(call("PATCH", "/admin/keys/carol", R"({"rpm":1})").status, 404);
  EXPECT_EQ(call("DELETE", "/admin/keys/carol").status, 404);
}

TEST_F(KeysAdmin, BadInputIsA400NamingIt) {
  expect_400("POST", "/admin/keys", "", "invalid JSON");
  expect_400("POST", "/admin/keys", "{\"name\":", "invalid JSON");
  expect_400("POST", "/admin/keys", "[1]", "expected a JSON object");
  expect_400("POST", "/admin/keys", "{}", "name: required");
  expect_400("POST", "/admin/keys", R"({"name":"has space"})", "key name 'has space'");
  expect_400("POST", "/admin/keys", R"({"name":7})", "name: expected a string");
  expect_400("POST", "/admin/keys", R"({"name":"a","colour":"red"})", "unknown field 'colour'");
  expect_400("POST", "/admin/keys", R"({"name":"a","rotate":true})", "unknown field 'rotate'");
  expect_400("POST", "/admin/keys", R"({"name":"a","rpm":"10"})", "rpm: expected a whole number");
  expect_400("POST", "/admin/keys", R"({"name":"a","rpm":-1})", "rpm: expected a whole number");
  expect_400("POST", "/admin/keys", R"({"name":"a","rpm":1.5})", "rpm: expected a whole number");
  expect_400("POST", "/admin/keys", R"({"name":"a","rpm":200000})",
             "rpm: expected a whole number from 0 (no limit) to 100000");
  expect_400("POST", "/admin/keys", R"({"name":"a","concurrency":100001})", "concurrency: expected");
  expect_400("POST", "/admin/keys", R"({"name":"a","priority":"urgent"})", "priority: expected high, normal or low");
  expect_400("POST", "/admin/keys", R"({"name":"a","models":"a,b"})", "models: expected a list of model names");
  expect_400("POST", "/admin/keys", R"({"name":"a","models":["ok",3]})", "models: expected a list of model names");
  expect_400("POST", "/admin/keys", R"({"name":"a","models":["a b"]})", "models: 'a b' is not a model name");
  expect_400("POST", "/admin/keys", R"({"name":"a","models":["a*b"]})", "models: 'a*b' is not a model name");
  expect_400("POST", "/admin/keys", R"({"name":"a","expires":"3x"})", "expires: expected a duration like 30d");
  expect_400("POST", "/admin/keys", R"({"name":"a","expires":0})", "expires: expected a string");
  expect_400("POST", "/admin/keys", R"({"name":"a","admin":"yes"})", "admin: expected true or false");
  expect_400("POST", "/admin/keys", R"({"name":"a","note":"two\nlines"})", "note: expected at most 500 characters");
  expect_400("POST", "/admin/keys", R"({"name":"a","rpm":1,"rpm":2})", "rpm: given twice");
  make(R"({"name":"alice"})");
  expect_400("PATCH", "/admin/keys/alice", R"({"name":"bob"})", "unknown field 'name'");
  expect_400("PATCH", "/admin/keys/alice", R"({"rotate":"yes"})", "rotate: expected true or false");
  expect_400("PATCH", "/admin/keys/alice", "nope", "invalid JSON");
  std::vector<Key> keys;
  std::string err;
  store_->load(keys, err);
  EXPECT_EQ(keys.size(), 1u) << "nothing was written by a refused request";
}

TEST_F(KeysAdmin, RoutesAndMethods) {
  EXPECT_TRUE(is_keys_path("/admin/keys"));
  EXPECT_TRUE(is_keys_path("/admin/keys/alice"));
  EXPECT_TRUE(is_keys_path("/admin/keys?x=1"));
  EXPECT_FALSE(is_keys_path("/admin/keysx"));
  EXPECT_FALSE(is_keys_path("/admin"));
  EXPECT_EQ(call("PUT", "/admin/keys").status, 405);
  EXPECT_EQ(call("DELETE", "/admin/keys").status, 405);
  make(R"({"name":"alice"})");
  EXPECT_EQ(call("POST", "/admin/keys/alice").status, 405);
  EXPECT_EQ(call("GET", "/admin/keys/alice/more").status, 404);
  // Found by fuzz-admin_keys: a path that is no key name was echoed into the 404, invalid UTF-8 and all.
  auto odd = call("PATCH", "/admin/keys/a\xe4\x9d\x90", R"({"rpm":1})");
  EXPECT_EQ(odd.status, 404);
  EXPECT_EQ(odd.body, R"({"error":"no such key: key names are 1 to 64 of A-Z a-z 0-9 . _ -"})");
  EXPECT_EQ(call("GET", "/admin/keys/").status, 200) << "the collection";
}

TEST_F(KeysAdmin, LastDayFiguresComeFromTheAnalyticsStore) {
  using namespace corral::analytics;
  analytics_ = dir_.file("analytics.db");
  std::string err;
  auto sink = open_sqlite_sink(analytics_, err);
  ASSERT_TRUE(sink) << err;
  std::vector<Row> rows(4);
  auto fill = [](Row& r, const char* key, int64_t time_ms, int64_t prompt, int64_t completion) {
    r[cTimeMs].set(time_ms);
    if (key) r[cKeyName].set(std::string_view(key));
    r[cPromptTokens].set(prompt);
    r[cCompletionTokens].set(completion);
  };
  fill(rows[0], "alice", kNow - 1000, 10, 5);
  fill(rows[1], "alice", kNow - 3600000, 1, 1);
  fill(rows[2], "alice", kNow - 25 * 3600000ll, 100, 100);  // older than a day
  fill(rows[3], nullptr, kNow - 1000, 7, 7);                // before auth: no key
  ASSERT_TRUE(sink->write(rows.data(), rows.size(), {0, 0}, err)) << err;
  make(R"({"name":"alice"})");
  make(R"({"name":"bob"})");
  auto list = call("GET", "/admin/keys");
  EXPECT_NE(list.body.find(R"("requests_24h":2,"tokens_24h":17})"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find(R"("requests_24h":0,"tokens_24h":0})"), std::string::npos) << "bob: known to be none";
  EXPECT_NE(call("GET", "/admin/keys/alice").body.find(R"("requests_24h":2,"tokens_24h":17})"), std::string::npos);
}
