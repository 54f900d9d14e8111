// Users and keys end to end (issue 12): a corral with auth on and 2 workers in
// front of corral-sim, keys made with `corral keys` (a second process) and
// through /admin/keys. Changes apply while traffic flows; every 401/403/429
// in its client's shape; rpm, tpm and concurrency exact across workers; the
// queue's priority order; the backend never sees corral's token (corral-sim
// --record-heads shows what it received); admin endpoints; no token in the log
// or the analytics store; a bad keys.db at start and while running; the
// official ollama and openai npm clients with a key.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

using Clock = std::chrono::steady_clock;

const std::string kGen = R"({"model":"llama3.2","prompt":"why is the sky blue?","stream":false})";
const std::string kChat = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false})";
const std::string kOpenAi = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})";
const std::string kAnthropic = R"({"model":"llama3.2","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";

// Polls `done` every 20 ms until it holds or `limit` passes; true when it held.
bool within(std::chrono::milliseconds limit, const std::function<bool()>& done) {
  auto end = Clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string bearer(const std::string& token) { return "Authorization: Bearer " + token; }

// The data directory of one test: keys.db (written by `corral keys`) and analytics.db.
class KeyDir {
 public:
  KeyDir() {
    char tmpl[] = "/tmp/corral-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~KeyDir() {
    std::error_code ec;
    std::filesystem::permissions(db(), std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return dir_; }
  std::string db() const { return dir_ + "/keys.db"; }
  // corral keys ARGS… --data-dir DIR
  Ran keys(std::vector<std::string> args) const {
    args.insert(args.begin(), {bin("CORRAL_BIN"), "keys"});
    args.insert(args.end(), {"--data-dir", dir_});
    return run_command(args, dir_ + "/.cli");
  }
  // Creates a key and returns its token (the last line of stdout).
  std::string create(const std::string& name, std::vector<std::string> flags = {}) const {
    flags.insert(flags.begin(), {"create", name});
    Ran r = keys(flags);
    EXPECT_EQ(r.status, 0) << r.err;
    std::string t = r.last_line();
    EXPECT_EQ(t.rfind("crl_", 0), 0u) << r.out;
    return t;
  }

 private:
  std::string dir_;
};

// corral with auth on over this data directory (the harness runs 2 workers).
Corral authed(const Sim& sim, const std::string& io, const KeyDir& d, const std::string& yaml = "",
              std::vector<std::string> extra = {}) {
  extra.insert(extra.end(), {"--auth", "--data-dir", d.path()});
  return Corral(yaml.empty() ? std::vector<std::string>{sim.url()} : std::vector<std::string>{}, io, yaml, extra);
}

// n requests at once, each on its own connection (so both workers take some).
std::vector<Response> at_once(int port, int n, const std::string& method, const std::string& path,
                              const std::string& body, const std::vector<std::string>& headers) {
  std::vector<std::future<Response>> fs;
  for (int i = 0; i < n; ++i) {
    fs.push_back(std::async(std::launch::async, [=] { return request(port, method, path, body, headers, 20000); }));
  }
  std::vector<Response> out;
  for (auto& f : fs) out.push_back(f.get());
  return out;
}

int count_status(const std::vector<Response>& rs, int status) {
  int n = 0;
  for (const Response& r : rs) n += r.status == status;
  return n;
}

// The heads corral-sim --record-heads received, as JSON text.
std::string received(const Sim& sim) { return request(sim.port, "GET", "/sim/requests").body; }

// Number of `"keys_loaded"` events in the log: the key table's reloads so far.
size_t reloads(const Corral& c) {
  std::string l = c.log();
  size_t n = 0;
  for (size_t p = 0; (p = l.find("event=keys_loaded", p)) != std::string::npos; ++p) ++n;
  return n;
}

// The log's lines about keys (what a failed assertion shows: the access log of a busy test is long).
std::string key_events(const Corral& c) {
  std::istringstream in(c.log());
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.find("event=keys_") != std::string::npos || line.find("event=auth_") != std::string::npos) {
      out += line + "\n";
    }
  }
  return out;
}

class Auth : public ::testing::TestWithParam<std::string> {};

}  // namespace

// While a loop of requests with one key keeps succeeding, `corral keys` creates,
// changes, revokes and rotates others; each change is live within 2 s.
TEST_P(Auth, CliChangesApplyWithinTwoSecondsWhileServing) {
  Sim sim;
  KeyDir d;
  std::string steady = d.create("steady"), alice = d.create("alice");
  Corral corral = authed(sim, GetParam(), d);

  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, failed{0};
  std::string last_failure;
  std::thread loop([&] {
    Client c(corral.port);
    while (!stop) {
      c.send(build_request("POST", "/api/generate", kGen, {bearer(steady), "X-Sim-Tokens: 2"}));
      Response r = c.read_response(10000);
      if (r.status == 200) {
        ++served;
      } else {
        if (failed++ == 0) last_failure = std::to_string(r.status) + " " + r.body;
        c = Client(corral.port);
      }
    }
  });
  auto status_of = [&](const std::string& token) {
    return request(corral.port, "POST", "/api/generate", kGen, {bearer(token)}).status;
  };
  const auto two_s = std::chrono::milliseconds(2000);

  // create: the new key works within 2 s of the command's exit.
  std::string bob = d.create("bob");
  Response last;
  long long last_ms = 0;
  auto created_works = [&] {
    auto t0 = Clock::now();
    last = request(corral.port, "POST", "/api/generate", kGen, {bearer(bob)});
    last_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    return last.status == 200;
  };
  EXPECT_TRUE(within(two_s, created_works)) << "a created key is live within 2 s; last answer " << last.status
                                            << " after " << last_ms << " ms: " << last.body << "\n"
                                            << key_events(corral);

  // set --rpm: once the table reloads, exactly 3 requests pass and the 4th names the limit.
  size_t before = reloads(corral);
  Ran set = d.keys({"set", "bob", "--rpm", "3"});
  ASSERT_EQ(set.status, 0) << set.err;
  ASSERT_TRUE(within(two_s, [&] { return reloads(corral) > before; })) << key_events(corral);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(status_of(bob), 200) << i;
  Response limited = request(corral.port, "POST", "/api/generate", kGen, {bearer(bob)});
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.body.find("3 requests per minute (rpm) for key bob"), std::string::npos) << limited.body;

  // revoke: 401 within 2 s, and never served again.
  ASSERT_EQ(d.keys({"revoke", "bob"}).status, 0);
  Response revoked;
  EXPECT_TRUE(within(two_s, [&] {
    revoked = request(corral.port, "POST", "/api/generate", kGen, {bearer(bob)});
    return revoked.status == 401;
  }));
  EXPECT_EQ(revoked.body, R"j({"error":"API key revoked (key bob)"})j");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(status_of(bob), 401);

  // rotate: the old token stops working within 2 s, the printed one works.
  Ran rotated = d.keys({"rotate", "alice"});
  ASSERT_EQ(rotated.status, 0) << rotated.err;
  std::string alice2 = rotated.last_line();
  ASSERT_NE(alice2, alice);
  int old_status = 0, new_status = 0;
  auto t_rotated = Clock::now();
  EXPECT_TRUE(within(two_s,
                     [&] {
                       old_status = status_of(alice);
                       new_status = status_of(alice2);
                       return old_status == 401 && new_status == 200;
                     }))
      << "after rotate, last seen: old token " << old_status << ", new token " << new_status << ", after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_rotated).count() << " ms\n"
      << key_events(corral);
  EXPECT_EQ(status_of(alice), 401);
  EXPECT_EQ(status_of(alice2), 200);

  Ran list = d.keys({"list", "--json"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find(R"({"name":"bob","state":"revoked","admin":false,"models":[],"rpm":3,)"), std::string::npos)
      << list.out;

  stop = true;
  loop.join();
  EXPECT_EQ(failed.load(), 0) << "the steady key's requests all succeed meanwhile; first failure: " << last_failure;
  EXPECT_GT(served.load(), 10);
}

// Missing, malformed, unknown, revoked and expired tokens: 401 with a Bearer
// challenge, in Ollama's, OpenAI's or Anthropic's shape by path.
TEST_P(Auth, UnauthenticatedIs401InTheClientsShape) {
  Sim sim;
  KeyDir d;
  std::string ok = d.create("ok");
  std::string gone = d.create("gone");
  ASSERT_EQ(d.keys({"revoke", "gone"}).status, 0);
  std::string brief = d.create("brief", {"--expires", "1s"});
  Corral corral = authed(sim, GetParam(), d);
  EXPECT_TRUE(maps_library(corral.proc.pid(), "libcrypto.so")) << "auth on opens OpenSSL (digests) at start";
  // An unknown token of the right shape (corral made it, but for another store).
  KeyDir other;
  std::string unknown = other.create("x");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // "brief" is past its expiry now

  struct Case {
    std::vector<std::string> headers;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "missing API key: send Authorization: Bearer KEY or x-api-key: KEY"},
      {{"Authorization: Basic dXNlcjpwYXNz"}, "missing API key: send Authorization: Bearer KEY or x-api-key: KEY"},
      {{bearer("crl_short")}, "invalid API key"},
      {{bearer(unknown)}, "unknown API key"},
      {{"x-api-key: " + unknown}, "unknown API key"},
      {{bearer(gone)}, "API key revoked (key gone)"},
      {{"x-api-key: " + brief}, "API key expired (key brief)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message + (c.headers.empty() ? "" : " / " + c.headers[0].substr(0, 20)));
    // Each dialect's refusal: 401, a Bearer challenge and the dialect's error; its model list
    // (when it has one) refused with the same body.
    auto refused = [&](const char* path, const std::string& body, const std::string& error, const char* list) {
      Response r = request(corral.port, "POST", path, body, c.headers);
      EXPECT_EQ(r.status, 401);
      EXPECT_EQ(r.header("www-authenticate"), "Bearer");
      EXPECT_EQ(r.body, error);
      if (!list) return;
      Response l = request(corral.port, "GET", list, "", c.headers);
      EXPECT_EQ(l.status, 401);
      EXPECT_EQ(l.body, r.body);
    };
    refused("/api/chat", kChat, "{\"error\":\"" + c.message + "\"}", "/api/tags");
    refused("/v1/chat/completions", kOpenAi,
            R"({"error":{"message":")" + c.message +
                R"(","type":"authentication_error","param":null,"code":"invalid_api_key"}})",
            "/v1/models");
    refused("/v1/messages", kAnthropic,
            R"({"type":"error","error":{"type":"authentication_error","message":")" + c.message + "\"}}", nullptr);
  }
  // The connection stays usable after a refusal whose body was drained.
  Client c(corral.port);
  c.send(build_request("POST", "/api/chat", kChat, {}));
  EXPECT_EQ(c.read_response().status, 401);
  c.send(build_request("POST", "/api/chat", kChat, {bearer(ok)}));
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200) << "/health needs no key";
  EXPECT_EQ(request(corral.port, "GET", "/metrics").status, 200) << "/metrics needs none without auth.metrics";
  EXPECT_EQ(value_of(settled_metrics(corral.port), "corral_rejected_total{reason=\"auth\"}"),
            static_cast<double>(cases.size() * 5 + 1));
}

// A model outside the key's list: 403 naming it; a non-admin key on admin
// endpoints: 403; each limit: 429 with Retry-After naming it.
TEST_P(Auth, ForbiddenIs403AndOverALimitIs429NamingIt) {
  Sim sim;
  KeyDir d;
  std::string only = d.create("only", {"--models", "llama3.2"});
  std::string rpm = d.create("rpm2", {"--rpm", "2"});
  std::string tpm = d.create("tpm10", {"--tpm", "10"});
  std::string conc = d.create("conc1", {"--concurrency", "1"});
  Corral corral = authed(sim, GetParam(), d);

  const std::string qwen = R"({"model":"qwen2.5:7b","messages":[{"role":"user","content":"hi"}],"stream":false})";
  Response f = request(corral.port, "POST", "/api/chat", qwen, {bearer(only)});
  EXPECT_EQ(f.status, 403);
  EXPECT_EQ(f.body, R"({"error":"model \"qwen2.5:7b\" is not allowed for key only"})");
  Response fv1 =
      request(corral.port, "POST", "/v1/chat/completions", R"({"model":"qwen2.5:7b","messages":[]})", {bearer(only)});
  EXPECT_EQ(fv1.status, 403);
  EXPECT_EQ(fv1.body, R"({"error":{"message":"model \"qwen2.5:7b\" is not allowed for key only",)"
                      R"("type":"permission_error","param":null,"code":null}})");
  Response fant = request(corral.port, "POST", "/v1/messages",
                          R"({"model":"qwen2.5:7b","max_tokens":4,"messages":[{"role":"user","content":"hi"}]})",
                          {"x-api-key: " + only});
  EXPECT_EQ(fant.status, 403);
  EXPECT_EQ(fant.body, R"({"type":"error","error":{"type":"permission_error",)"
                       R"("message":"model \"qwen2.5:7b\" is not allowed for key only"}})");
  EXPECT_EQ(request(corral.port, "POST", "/api/chat", kChat, {bearer(only)}).status, 200);
  EXPECT_EQ(request(corral.port, "POST", "/api/chat", R"({"model":"llama3.2:latest","messages":[],"stream":false})",
                    {bearer(only)})
                .status,
            200)
      << "name and name:latest are the same model";

  for (const char* path : {"/status", "/analytics", "/analytics/stats", "/analytics/search", "/admin/keys"}) {
    Response r = request(corral.port, "GET", path, "", {bearer(only)});
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_NE(r.body.find("key only is not an admin key"), std::string::npos) << path << " " << r.body;
    EXPECT_EQ(request(corral.port, "GET", path).status, 401) << path;
  }

  // rpm 2: the third inside the minute, on /api and /v1.
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, {bearer(rpm)}).status, 200);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, {bearer(rpm)}).status, 200);
  Response r = request(corral.port, "POST", "/api/generate", kGen, {bearer(rpm)});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, R"({"error":"rate limit reached: 2 requests per minute (rpm) for key rpm2"})");
  int retry = std::atoi(r.header("retry-after").c_str());
  EXPECT_GE(retry, 1) << r.header("retry-after");
  EXPECT_LE(retry, 60);
  Response rv1 = request(corral.port, "POST", "/v1/chat/completions", kOpenAi, {bearer(rpm)});
  EXPECT_EQ(rv1.status, 429);
  EXPECT_EQ(rv1.body, R"({"error":{"message":"rate limit reached: 2 requests per minute (rpm) for key rpm2",)"
                      R"("type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}})");
  EXPECT_FALSE(rv1.header("retry-after").empty());
  Response rant = request(corral.port, "POST", "/v1/messages", kAnthropic, {"x-api-key: " + rpm});
  EXPECT_EQ(rant.status, 429);
  EXPECT_EQ(rant.body, R"({"type":"error","error":{"type":"rate_limit_error",)"
                       R"("message":"rate limit reached: 2 requests per minute (rpm) for key rpm2"}})");

  // tpm 10: the first request spends more than 10 tokens; the next is refused.
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, {bearer(tpm), "X-Sim-Tokens: 20"}).status, 200);
  settled_metrics(corral.port);  // its tokens are charged once corral has finished with it
  Response t = request(corral.port, "POST", "/api/generate", kGen, {bearer(tpm)});
  EXPECT_EQ(t.status, 429);
  EXPECT_EQ(t.body, R"({"error":"rate limit reached: 10 tokens per minute (tpm) for key tpm10"})");
  int t_retry = std::atoi(t.header("retry-after").c_str());
  EXPECT_GE(t_retry, 1) << t.header("retry-after");
  EXPECT_LE(t_retry, 60);

  // concurrency 1: a stream held open, then a second request.
  Client held(corral.port);
  held.send(build_request("POST", "/api/generate", R"({"model":"llama3.2","prompt":"hi"})",
                          {bearer(conc), "X-Sim-Tokens: 50", "X-Sim-Stall-After: 1"}));
  ASSERT_NE(held.read_until("token0", 5000).find("token0"), std::string::npos);
  Response c = request(corral.port, "POST", "/api/generate", kGen, {bearer(conc)});
  EXPECT_EQ(c.status, 429);
  EXPECT_EQ(c.body, R"({"error":"rate limit reached: 1 requests in flight (concurrency) for key conc1"})");
  EXPECT_EQ(c.header("retry-after"), "1");
  held.close();
  settled_metrics(corral.port);  // corral has seen the client go
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, {bearer(conc)}).status, 200)
      << "a client gone mid-stream gives its slot back";

  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(value_of(m, "corral_rejected_total{reason=\"forbidden\"}"), 3 + 5);
  EXPECT_EQ(value_of(m, "corral_rejected_total{reason=\"rate_limit\"}"), 5);
}

// Limits hold whichever worker takes a request: 20 requests at once on 20
// connections with rpm 10 give exactly 10 answers; concurrency 3 admits 3 of 6
// held streams; tpm refuses once the minute's tokens are spent.
TEST_P(Auth, LimitsAreExactAcrossTwoWorkers) {
  Sim sim;
  KeyDir d;
  std::string rpm = d.create("rpm10", {"--rpm", "10"});
  std::string conc = d.create("conc3", {"--concurrency", "3"});
  std::string tpm = d.create("tpm100", {"--tpm", "100"});
  Corral corral = authed(sim, GetParam(), d);

  std::vector<Response> rs = at_once(corral.port, 20, "POST", "/api/generate", kGen, {bearer(rpm)});
  EXPECT_EQ(count_status(rs, 200), 10);
  EXPECT_EQ(count_status(rs, 429), 10);
  std::vector<Response> more = at_once(corral.port, 6, "POST", "/v1/chat/completions", kOpenAi, {bearer(rpm)});
  EXPECT_EQ(count_status(more, 429), 6) << "the 60 s window has not moved";

  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 6; ++i) {
    held.push_back(std::make_unique<Client>(corral.port));
    held.back()->send(build_request("POST", "/api/generate", R"({"model":"llama3.2","prompt":"hi"})",
                                    {bearer(conc), "X-Sim-Tokens: 50", "X-Sim-Stall-After: 1"}));
  }
  int streaming = 0, refused = 0;
  for (auto& c : held) {
    std::string head = c->read_until("\r\n\r\n", 5000);
    if (head.rfind("HTTP/1.1 429", 0) == 0) ++refused;
    if (head.rfind("HTTP/1.1 200", 0) == 0 && c->read_until("token0", 5000).find("token0") != std::string::npos) {
      ++streaming;
    }
  }
  EXPECT_EQ(streaming, 3);
  EXPECT_EQ(refused, 3);
  held.clear();                  // the streams end: their places come back
  settled_metrics(corral.port);  // once corral has seen them go
  EXPECT_EQ(count_status(at_once(corral.port, 3, "POST", "/api/generate", kGen, {bearer(conc)}), 200), 3);

  // tpm 100, 25 tokens a request (prompt + completion), one after another on fresh connections.
  long prompt = json_int(request(sim.port, "POST", "/api/generate", kGen).body, "prompt_eval_count");
  ASSERT_GT(prompt, 0);
  ASSERT_LT(prompt, 25);
  std::string completion = "X-Sim-Tokens: " + std::to_string(25 - prompt);
  int ok = 0, over = 0;
  for (int i = 0; i < 7; ++i) {
    int s = request(corral.port, "POST", "/api/generate", kGen, {bearer(tpm), completion}).status;
    ok += s == 200;
    over += s == 429;
    settled_metrics(corral.port);  // charged before the next one asks
  }
  EXPECT_EQ(ok, 4) << "100 / 25";
  EXPECT_EQ(over, 3);
}

// max_concurrent 1 and a stream holding it: low, normal and high keys queue in
// that order and are served high first, FIFO within a priority.
TEST_P(Auth, QueueServesHighPriorityFirst) {
  Sim sim({"--record-heads", "100"});
  KeyDir d;
  std::string hold = d.create("hold");
  std::map<std::string, std::string> token = {{"low", d.create("lo", {"--priority", "low"})},
                                              {"normal", d.create("mid")},
                                              {"high", d.create("hi", {"--priority", "high"})}};
  Corral corral =
      authed(sim, GetParam(), d,
             "health: {interval: 1h}\ndiscovery: {interval: 1h}\nbackends:\n  - {name: one, url: " + sim.url() +
                 ", max_concurrent: 1}\n");
  Client holder(corral.port);
  holder.send(build_request("POST", "/api/generate", R"({"model":"llama3.2","prompt":"hold"})",
                            {bearer(hold), "X-Sim-Tokens: 50", "X-Sim-Stall-After: 1"}));
  ASSERT_NE(holder.read_until("token0", 5000).find("token0"), std::string::npos);

  const std::string queued = "corral_queued_requests{backend=\"" + sim.url() + "\"}";
  const std::vector<std::string> arrivals = {"low-1", "normal-1", "high-1", "low-2", "normal-2", "high-2"};
  std::vector<std::future<Response>> waiting;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    std::string who = arrivals[i], cls = who.substr(0, who.find('-'));
    waiting.push_back(std::async(std::launch::async, [&, who, cls] {
      return request(corral.port, "POST", "/api/generate", kGen, {bearer(token[cls]), "X-Test-Who: " + who}, 20000);
    }));
    ASSERT_TRUE(within(
        std::chrono::milliseconds(5000),
        [&] { return value_of(request(corral.port, "GET", "/metrics").body, queued) == static_cast<double>(i + 1); }))
        << who << " queued";
  }
  holder.close();  // the held stream ends: its place goes to the queue
  for (auto& w : waiting) EXPECT_EQ(w.get().status, 200);

  std::string heads = received(sim);
  std::vector<std::string> order, classes;
  std::regex who(R"re(\["X-Test-Who","(([a-z]+)-[0-9])"\])re");
  for (auto it = std::sregex_iterator(heads.begin(), heads.end(), who); it != std::sregex_iterator(); ++it) {
    order.push_back((*it)[1]);
    classes.push_back((*it)[2]);
  }
  // Each worker has its own queue, FIFO within a priority; which of two waiters of
  // one priority on different workers goes first is a race, their priority is not.
  EXPECT_EQ(classes, (std::vector<std::string>{"high", "high", "normal", "normal", "low", "low"}))
      << ::testing::PrintToString(order) << "\n"
      << heads;
}

// corral's token never reaches the backend: not as Authorization, not as
// x-api-key, on native, OpenAI and translated Anthropic requests.
TEST_P(Auth, BackendNeverReceivesTheToken) {
  Sim sim({"--record-heads", "100"});
  KeyDir d;
  std::string t = d.create("alice");
  Corral corral = authed(sim, GetParam(), d);
  EXPECT_EQ(request(corral.port, "POST", "/api/chat", kChat, {bearer(t), "X-Marker: a"}).status, 200);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, {"x-api-key: " + t, "X-Marker: b"}).status, 200);
  EXPECT_EQ(request(corral.port, "POST", "/v1/chat/completions", kOpenAi, {"authorization: bearer " + t}).status, 200);
  Response ant =
      request(corral.port, "POST", "/v1/messages", kAnthropic, {"x-api-key: " + t, "anthropic-version: 2023-06-01"});
  EXPECT_EQ(ant.status, 200) << ant.body;
  EXPECT_EQ(request(corral.port, "GET", "/api/tags", "", {bearer(t)}).status, 200);
  Client keep(corral.port);  // pipelined on one keep-alive connection
  keep.send(build_request("POST", "/api/generate", kGen, {bearer(t)}) +
            build_request("POST", "/api/generate", kGen, {"X-Api-Key: " + t}));
  EXPECT_EQ(keep.read_response().status, 200);
  EXPECT_EQ(keep.read_response().status, 200);

  std::string heads = received(sim);
  EXPECT_NE(heads.find(R"(["X-Marker","a"])"), std::string::npos) << "other headers pass: " << heads;
  EXPECT_NE(heads.find(R"(["X-Marker","b"])"), std::string::npos) << heads;
  EXPECT_NE(heads.find(R"("path":"/api/chat")"), std::string::npos) << heads;
  EXPECT_NE(heads.find(R"("path":"/v1/chat/completions")"), std::string::npos) << heads;
  EXPECT_EQ(heads.find(t), std::string::npos) << heads;
  EXPECT_EQ(heads.find(t.substr(4, 12)), std::string::npos) << "not even part of it";
  std::string lower = heads;
  for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(lower.find(R"(["authorization")"), std::string::npos) << heads;
  EXPECT_EQ(lower.find(R"(["x-api-key")"), std::string::npos) << heads;
}

// /admin/keys with an admin key: list, create (the token works within 2 s),
// get, change, rotate, revoke; the key's changes are live, never its token in a list.
TEST_P(Auth, AdminKeysApiWithAnAdminKey) {
  Sim sim;
  KeyDir d;
  std::string ops = d.create("ops", {"--admin"});
  std::string user = d.create("user");
  Corral corral = authed(sim, GetParam(), d);
  auto admin = [&](const std::string& method, const std::string& path, const std::string& body = "") {
    return request(corral.port, method, path, body, {bearer(ops)});
  };
  const auto two_s = std::chrono::milliseconds(2000);

  Response list = admin("GET", "/admin/keys");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find(R"("name":"ops","state":"active","admin":true)"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find(R"("name":"user","state":"active","admin":false)"), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find("crl_"), std::string::npos) << "no token in a list";

  Response made = admin("POST", "/admin/keys", R"({"name":"bob","models":["llama3.2"],"rpm":1000})");
  ASSERT_EQ(made.status, 201) << made.body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(made.body, m, std::regex(R"re("token":"(crl_[A-Za-z0-9_-]{43})")re"))) << made.body;
  std::string bob = m[1];
  EXPECT_TRUE(within(two_s, [&] {
    return request(corral.port, "POST", "/api/chat", kChat, {bearer(bob)}).status == 200;
  })) << "a key made over HTTP is live within 2 s";
  EXPECT_EQ(admin("POST", "/admin/keys", R"({"name":"bob"})").status, 409);
  EXPECT_EQ(admin("POST", "/admin/keys", R"({"name":"carol","rpm":"many"})").status, 400);

  Response one = admin("GET", "/admin/keys/bob");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_NE(one.body.find(R"("models":["llama3.2"],"rpm":1000,)"), std::string::npos) << one.body;
  EXPECT_EQ(one.body.find(bob), std::string::npos);
  EXPECT_EQ(admin("GET", "/admin/keys/nobody").status, 404);

  Response patched = admin("PATCH", "/admin/keys/bob", R"({"models":["qwen*"]})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_NE(patched.body.find(R"("models":["qwen*"])"), std::string::npos) << patched.body;
  EXPECT_TRUE(within(two_s, [&] {
    return request(corral.port, "POST", "/api/chat", kChat, {bearer(bob)}).status == 403;
  })) << "a changed model list is live within 2 s";

  Response rotated = admin("PATCH", "/admin/keys/bob", R"({"rotate":true})");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  ASSERT_TRUE(std::regex_search(rotated.body, m, std::regex(R"re("token":"(crl_[A-Za-z0-9_-]{43})")re")));
  std::string bob2 = m[1];
  const std::string qwen = R"({"model":"qwen2.5:7b","messages":[{"role":"user","content":"hi"}],"stream":false})";
  EXPECT_TRUE(within(two_s, [&] {
    return request(corral.port, "POST", "/api/chat", qwen, {bearer(bob)}).status == 401 &&
           request(corral.port, "POST", "/api/chat", qwen, {bearer(bob2)}).status == 200;
  }));

  Response gone = admin("DELETE", "/admin/keys/bob");
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_NE(gone.body.find(R"("state":"revoked")"), std::string::npos) << gone.body;
  EXPECT_TRUE(
      within(two_s, [&] { return request(corral.port, "POST", "/api/chat", qwen, {bearer(bob2)}).status == 401; }));
  Ran cli = d.keys({"list"});
  EXPECT_TRUE(std::regex_search(cli.out, std::regex("\nbob +revoked "))) << "the CLI sees the API's change:\n"
                                                                         << cli.out;

  // Everything an admin key opens is closed to a user key, whatever the method.
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{{"GET", "/admin/keys"},
                                                                                     {"POST", "/admin/keys"},
                                                                                     {"GET", "/admin/keys/user"},
                                                                                     {"PATCH", "/admin/keys/user"},
                                                                                     {"DELETE", "/admin/keys/user"},
                                                                                     {"GET", "/status"},
                                                                                     {"GET", "/analytics"},
                                                                                     {"GET", "/analytics/stats"}}) {
    Response r = request(corral.port, method, path, method == "GET" || method == "DELETE" ? "" : R"({"admin":true})",
                         {bearer(user)});
    EXPECT_EQ(r.status, 403) << method << " " << path << " " << r.body;
  }
  EXPECT_NE(d.keys({"list", "--json"}).out.find(R"({"name":"user","state":"active","admin":false)"), std::string::npos)
      << "the refused PATCH changed nothing";
  EXPECT_EQ(admin("GET", "/status").status, 200);
  EXPECT_EQ(admin("GET", "/analytics/stats").status, 200);
  EXPECT_EQ(admin("GET", "/analytics").status, 200);
}

// No token in corral's log or anywhere in the analytics store (every column of
// every table), for accepted and refused requests alike; the key's name is there.
TEST_P(Auth, TokensNeverInTheLogOrTheAnalyticsStore) {
  Sim sim;
  KeyDir d;
  std::string ops = d.create("ops", {"--admin"});
  std::string alice = d.create("alice", {"--rpm", "3", "--models", "llama3.2"});
  std::string old = d.create("old");
  ASSERT_EQ(d.keys({"revoke", "old"}).status, 0);
  KeyDir other;
  std::string unknown = other.create("stranger");
  std::vector<std::string> tokens = {ops, alice, old, unknown};
  long requests = 0;
  {
    Corral corral = authed(sim, GetParam(), d);
    for (std::string path : {"/api/generate", "/v1/chat/completions"}) {
      const std::string& body = path == "/api/generate" ? kGen : kOpenAi;
      for (const std::string& t : tokens) {
        for (int i = 0; i < 2; ++i) {
          request(corral.port, "POST", path, body, {bearer(t)});
          request(corral.port, "POST", path, body, {"x-api-key: " + t});
          requests += 2;
        }
      }
    }
    request(corral.port, "POST", "/api/chat", R"({"model":"qwen2.5:7b","messages":[],"stream":false})",
            {bearer(alice)});  // 403
    ++requests;
    long stored = -1;
    ASSERT_TRUE(within(std::chrono::milliseconds(10000),
                       [&] {
                         stored = json_int(
                             request(corral.port, "GET", "/analytics/search?limit=1", "", {bearer(ops)}).body, "total");
                         return stored >= requests;
                       }))
        << stored << " of " << requests;
    Response by_user = request(corral.port, "GET", "/analytics/search?user=alice&limit=100", "", {bearer(ops)});
    EXPECT_EQ(json_int(by_user.body, "total"), 9) << "all of alice's, the refused ones too: " << by_user.body;
    std::string log = corral.log();
    for (const std::string& t : tokens) {
      EXPECT_EQ(log.find(t), std::string::npos) << log.substr(log.rfind('\n', log.find(t)) + 1, 300);
      EXPECT_EQ(log.find(t.substr(4, 16)), std::string::npos);
    }
    EXPECT_NE(log.find("event=request_refused"), std::string::npos) << "refusals are logged, without the token";
  }  // corral stopped: the store is complete and closed

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((d.path() + "/analytics.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  ASSERT_FALSE(tables.empty());
  long cells = 0, rows_with_key = 0;
  for (const std::string& table : tables) {
    ASSERT_EQ(sqlite3_prepare_v2(db, ("SELECT * FROM \"" + table + "\"").c_str(), -1, &st, nullptr), SQLITE_OK);
    int n = sqlite3_column_count(st);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < n; ++c) {
        const unsigned char* v = sqlite3_column_text(st, c);
        if (!v) continue;
        std::string cell(reinterpret_cast<const char*>(v), static_cast<size_t>(sqlite3_column_bytes(st, c)));
        ++cells;
        for (const std::string& t : tokens) {
          EXPECT_EQ(cell.find(t.substr(4, 16)), std::string::npos) << table << "." << sqlite3_column_name(st, c);
        }
        if (std::string(sqlite3_column_name(st, c)) == "key_name" && (cell == "alice" || cell == "ops")) {
          ++rows_with_key;
        }
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  EXPECT_GT(cells, requests);
  EXPECT_GE(rows_with_key, 3) << "requests carry their key's name";
  for (const char* f : {"/analytics.db", "/analytics.db-wal", "/keys.db", "/keys.db-wal"}) {
    std::string bytes = slurp(d.path() + f);
    for (const std::string& t : tokens) EXPECT_EQ(bytes.find(t.substr(4, 16)), std::string::npos) << f;
  }
}

// A corrupt or unreadable keys.db stops corral at start, naming the file.
TEST_P(Auth, BadKeysDbIsAStartUpErrorNamingTheFile) {
  KeyDir d;
  Sim sim;
  auto start = [&](const std::string& log) {
    Process p({bin("CORRAL_BIN"), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--io", GetParam(),
               "--workers", "2", "--backend", sim.url(), "--auth", "--data-dir", d.path()},
              log);
    return p.wait(10000);
  };
  std::string log = d.path() + "/corral.log";
  std::ofstream(d.db()) << std::string(8192, 'x');
  int rc = start(log);
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, -1) << "exits, does not hang";
  EXPECT_NE(slurp(log).find("key store '" + d.db() + "': file is not a database"), std::string::npos) << slurp(log);

  std::filesystem::remove(d.db());
  std::filesystem::create_directory(d.db());  // unreadable as a database, even for root
  rc = start(log);
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, -1);
  EXPECT_NE(slurp(log).find("key store '" + d.db() + "'"), std::string::npos) << slurp(log);
  std::filesystem::remove(d.db());

  if (geteuid() != 0) {  // permissions stop only other users
    d.create("a");
    std::filesystem::permissions(d.db(), std::filesystem::perms::none);
    rc = start(log);
    EXPECT_NE(rc, 0);
    EXPECT_NE(slurp(log).find("key store '" + d.db() + "'"), std::string::npos) << slurp(log);
  }
}

// Corrupting keys.db under a running corral keeps the last good table: valid
// keys pass and revoked ones do not, whether the bytes are overwritten in place
// or a corrupt file is moved over it (then the reload fails, and the log says so
// naming the file); a good file put back is followed again.
TEST_P(Auth, CorruptingTheStoreWhileRunningKeepsTheLastGoodTable) {
  Sim sim;
  KeyDir d;
  std::string good = d.create("good");
  std::string old = d.create("old");
  ASSERT_EQ(d.keys({"revoke", "old"}).status, 0);
  Corral corral = authed(sim, GetParam(), d);
  auto status_of = [&](const std::string& t) {
    return request(corral.port, "POST", "/api/generate", kGen, {bearer(t)}).status;
  };
  ASSERT_EQ(status_of(good), 200);
  auto still_the_last_good_table = [&](const std::string& when) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(status_of(good), 200) << when;
      EXPECT_EQ(status_of(old), 401) << when;
    }
  };

  {  // every byte overwritten in place (same inode), header included
    std::fstream f(d.db(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0, std::ios::end);
    std::streamoff size = f.tellp();
    f.seekp(0);
    f << std::string(static_cast<size_t>(size), '\x5a');
  }
  size_t loads = reloads(corral);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // two checks of the store meanwhile
  still_the_last_good_table("overwritten in place");
  EXPECT_EQ(reloads(corral), loads) << "nothing was loaded from the garbage: " << key_events(corral);

  std::string garbage = d.path() + "/garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  ASSERT_EQ(::rename(garbage.c_str(), d.db().c_str()), 0);
  ASSERT_TRUE(within(std::chrono::milliseconds(5000),
                     [&] { return corral.log().find("event=keys_reload_failed") != std::string::npos; }))
      << "corral's whole log:\n"
      << corral.log();
  std::string events = key_events(corral);
  EXPECT_NE(events.find("key store '" + d.db() + "': file is not a database"), std::string::npos) << events;
  EXPECT_NE(events.find("kept_version="), std::string::npos) << events;
  still_the_last_good_table("a corrupt file moved over it");

  // A good store put back (a new one here, with a key "fresh" only): the table follows it.
  std::filesystem::remove(d.db());
  std::filesystem::remove(d.db() + "-wal");
  std::filesystem::remove(d.db() + "-shm");
  std::string fresh = d.create("fresh");
  EXPECT_TRUE(within(std::chrono::milliseconds(5000), [&] { return status_of(fresh) == 200; })) << key_events(corral);
  EXPECT_EQ(status_of(good), 401) << "the new store has no key 'good'";
  EXPECT_NE(key_events(corral).find("event=keys_reload_recovered"), std::string::npos) << key_events(corral);
}

// The official ollama (headers), openai (apiKey) and @anthropic-ai/sdk (apiKey,
// as x-api-key) npm clients authenticate through corral, and raise their own
// errors for a bad key and a spent limit.
TEST_P(Auth, OfficialClientsAuthenticate) {
  Sim sim;
  KeyDir d;
  std::string t = d.create("sdk");
  std::string limited = d.create("sdk-limited", {"--rpm", "1"});
  Corral corral = authed(sim, GetParam(), d);
  std::string script = bin("FAKES_DIR") + "/../clients/auth.mjs";
  Ran r = run_command({bin("NODE_BIN"), script, "http://127.0.0.1:" + std::to_string(corral.port), t, limited},
                      d.path() + "/.node");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  for (const char* line :
       {"ok ollama chat", "ok ollama stream", "ok ollama list", "ok ollama bad key 401", "ok ollama rate limit 429",
        "ok openai chat", "ok openai stream", "ok openai models", "ok openai bad key AuthenticationError",
        "ok openai rate limit RateLimitError", "ok anthropic messages", "ok anthropic bad key AuthenticationError",
        "ok anthropic rate limit RateLimitError"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out << r.err;
  }
  EXPECT_EQ(corral.log().find(t), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Io, Auth, ::testing::Values("uring", "epoll"), [](const auto& info) { return info.param; });
