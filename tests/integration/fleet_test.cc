// Fleet routing against several corral-sim backends: one test per routing rule
// (presence, memory, loaded preference, priority, P2C, assignment, overrides and
// patterns, failover, health, circuit breaker, queue, affinity, merged lists,
// pulls, DNS members, SIGHUP reload).
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

constexpr char kQuiet[] = "health: {interval: 1h, timeout: 2s}\ndiscovery: {interval: 1h}\n";

std::string gen(const std::string& model, const std::string& extra = "") {
  return "{\"model\":\"" + model + "\",\"prompt\":\"hi\",\"stream\":false" + extra + "}";
}

std::string entry(const Sim& s, const std::string& name, const std::string& more = "") {
  return "  - {name: " + name + ", url: " + s.url() + (more.empty() ? "" : ", " + more) + "}\n";
}

// Requests corral sent to `url` for an endpoint, from corral_requests_total.
long served(const std::string& metrics, const std::string& url, const std::string& endpoint = "/api/generate") {
  long n = 0;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("corral_requests_total{", 0) != 0) continue;
    if (line.find("backend=\"" + url + "\"") == std::string::npos) continue;
    if (line.find("endpoint=\"" + endpoint + "\"") == std::string::npos) continue;
    n += std::stol(line.substr(line.rfind(' ') + 1));
  }
  return n;
}

void send_n(int port, int n, const std::string& body, const std::vector<std::string>& headers = {}) {
  for (int i = 0; i < n; ++i) ASSERT_EQ(request(port, "POST", "/api/generate", body, headers).status, 200) << body;
}

}  // namespace

TEST(Fleet, ModelGoesToTheOnlyBackendThatHasIt) {
  Sim a({"--models", "m1=1000"}), b({"--models", "m2=1000"}), c({"--models", "m3=1000"});
  Corral corral({}, "uring", std::string(kQuiet) + "backends:\n" + entry(a, "a") + entry(b, "b") + entry(c, "c"));
  send_n(corral.port, 5, gen("m2"));
  send_n(corral.port, 3, gen("m3:latest"));
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url()), 5) << m;
  EXPECT_EQ(served(m, c.url()), 3);
  EXPECT_EQ(served(m, a.url()), 0);
  Response r = request(corral.port, "POST", "/api/generate", gen("nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"model \\\"nope\\\" not found, try pulling it first\"}");
  Response o = request(corral.port, "POST", "/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[]}");
  EXPECT_EQ(o.status, 404);
  EXPECT_NE(o.body.find("\"error\":{\"message\":\"model \\\"nope\\\" not found"), std::string::npos) << o.body;
}

TEST(Fleet, ModelTooBigForAMemoryLimitedBackendGoesElsewhere) {
  Sim a({"--models", "big=5000000000,small=1000000000"}), b({"--models", "big=5000000000,small=1000000000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 1, max_memory_gb: 2") +
                    entry(b, "b", "priority: 2"));
  send_n(corral.port, 4, gen("big"));
  send_n(corral.port, 3, gen("small"));
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url()), 4) << m;
  EXPECT_EQ(served(m, a.url()), 3);
}

TEST(Fleet, LoadedModelBeatsPriority) {
  Sim a({"--models", "m=1000"}), b({"--models", "m=1000:loaded"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 1") + entry(b, "b", "priority: 5"));
  send_n(corral.port, 6, gen("m"));
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url()), 6) << m;
}

TEST(Fleet, LowerPriorityNumberWins) {
  Sim a({"--models", "m=1000"}), b({"--models", "m=1000"}), c({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 3") + entry(b, "b", "priority: 1") +
                    entry(c, "c", "priority: 2"));
  send_n(corral.port, 6, gen("m"));
  EXPECT_EQ(served(settled_metrics(corral.port), b.url()), 6);
}

TEST(Fleet, PowerOfTwoChoicesSpreadsEqualBackends) {
  // Loaded on all three: equals (a model loaded nowhere follows its first load instead).
  Sim a({"--models", "m=1000:loaded"}), b({"--models", "m=1000:loaded"}), c({"--models", "m=1000:loaded"});
  Corral corral({}, "uring", std::string(kQuiet) + "backends:\n" + entry(a, "a") + entry(b, "b") + entry(c, "c"));
  // 12 concurrent slow requests: least outstanding requests keeps them even.
  std::vector<std::future<int>> rs;
  for (int i = 0; i < 12; ++i) {
    rs.push_back(std::async(std::launch::async, [&] {
      return request(corral.port, "POST", "/api/generate", gen("m"), {"X-Sim-Tokens: 4", "X-Sim-Token-Delay-Ms: 100"})
          .status;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& r : rs) EXPECT_EQ(r.get(), 200);
  std::string m = settled_metrics(corral.port);
  for (const Sim* s : {&a, &b, &c}) {
    EXPECT_GE(served(m, s->url()), 3) << m;
    EXPECT_LE(served(m, s->url()), 5) << m;
  }
}

TEST(Fleet, ExplicitAssignmentOverridesAutomaticRouting) {
  Sim a({"--models", "m=1000:loaded"}), b({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 1") + entry(b, "b", "priority: 9") +
                    "models:\n  assignments: {\"m\": b}\n");
  send_n(corral.port, 3, gen("m"));
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url()), 3) << m;
  EXPECT_EQ(served(m, a.url()), 0);
}

TEST(Fleet, MemoryOverridesAndPatternsApplyWhenNoSizeIsReported) {
  Sim a({"--models", "llama-70b=0,special=0,tiny-7b=0"}), b({"--models", "llama-70b=0,special=0,tiny-7b=0"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 1, max_memory_gb: 10") +
                    entry(b, "b", "priority: 2") +
                    "models:\n  memory_overrides: {\"special\": 20}\n"
                    "  memory_patterns:\n    - {pattern: \".*-70b.*\", memory_gb: 40}\n"
                    "    - {pattern: \".*-7b.*\", memory_gb: 4.5}\n");
  send_n(corral.port, 2, gen("llama-70b"));
  send_n(corral.port, 2, gen("special"));
  send_n(corral.port, 3, gen("tiny-7b"));
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url()), 4) << m;
  EXPECT_EQ(served(m, a.url()), 3);
}

// The body is read for routing whatever its framing: a chunked /api/chat
// lands on the only backend that has its model.
TEST(Fleet, ChunkedChatGoesToTheBackendWithTheModel) {
  Sim a({"--models", "m1=1000"}), b({"--models", "m2=1000"}), c({"--models", "m3=1000"});
  Corral corral({}, "uring", std::string(kQuiet) + "backends:\n" + entry(a, "a") + entry(b, "b") + entry(c, "c"));
  std::string body = R"({"model":"m2","messages":[{"role":"user","content":"hello"}],"stream":false})";
  std::string half = body.substr(0, body.size() / 2), rest = body.substr(body.size() / 2);
  auto hex = [](size_t n) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return std::string(buf);
  };
  for (int i = 0; i < 4; ++i) {
    Client cl(corral.port);
    cl.send("POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(half.size()) + "\r\n" +
            half + "\r\n" + hex(rest.size()) + "\r\n" + rest + "\r\n0\r\n\r\n");
    Response r = cl.read_response();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"model\":\"m2\""), std::string::npos) << r.body;
  }
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url(), "/api/chat"), 4) << m;
  EXPECT_EQ(served(m, a.url(), "/api/chat") + served(m, c.url(), "/api/chat"), 0);
}

class FleetIo : public ::testing::TestWithParam<std::string> {};

TEST_P(FleetIo, FailoverWhenABackendIsKilledMidRun) {
  Sim a({"--models", "m=1000:loaded"}), b({"--models", "m=1000:loaded"});  // equals: both get requests
  Corral corral({}, GetParam(), std::string(kQuiet) + "backends:\n" + entry(a, "a") + entry(b, "b"));
  for (int i = 0; i < 40; ++i) {
    if (i == 15) a.proc.kill_now();
    Response r = request(corral.port, "POST", "/api/generate", gen("m"));
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
  }
  std::string m = settled_metrics(corral.port);
  EXPECT_GT(served(m, a.url()), 0);
  EXPECT_GE(served(m, b.url()), 25);
}
INSTANTIATE_TEST_SUITE_P(Io, FleetIo, ::testing::Values("uring", "epoll"), [](const auto& info) { return info.param; });

TEST(Fleet, HealthDownThenUpAgain) {
  auto a = std::make_unique<Sim>(std::vector<std::string>{"--models", "m=1000"});
  int port = a->port;
  Sim b({"--models", "m=1000"});
  Corral corral({}, "uring",
                "health: {interval: 100ms, timeout: 1s, unhealthy_after: 2, healthy_after: 2}\n"
                "backends:\n" +
                    entry(*a, "a") + entry(b, "b"));
  auto a_up = [&] {
    return request(corral.port, "GET", "/status")
               .body.find("\"name\":\"a\",\"url\":\"http://127.0.0.1:" + std::to_string(port) +
                          "\",\"address\":\"127.0.0.1:" + std::to_string(port) + "\",\"up\":true") != std::string::npos;
  };
  ASSERT_TRUE(a_up()) << request(corral.port, "GET", "/status").body;
  a.reset();
  ASSERT_TRUE(eventually([&] { return !a_up(); })) << request(corral.port, "GET", "/status").body;
  EXPECT_NE(corral.log().find("event=backend_down"), std::string::npos);
  send_n(corral.port, 5, gen("m"));  // all on b, no failed attempt: a is known down
  EXPECT_EQ(value_of(settled_metrics(corral.port), "corral_failovers_total"), 0);
  a = std::make_unique<Sim>(std::vector<std::string>{"--models", "m=1000"}, port);
  ASSERT_TRUE(eventually([&] { return a_up(); }));
  EXPECT_NE(corral.log().find("event=backend_up"), std::string::npos);
}

TEST(Fleet, CircuitBreakerOpensAfterConsecutiveFailures) {
  Sim a({"--models", "m=1000", "--fail-status", "500"}), b({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "routing: {max_attempts: 1, circuit_failures: 2, circuit_cooldown: 1h}\n" +
                    "backends:\n" + entry(a, "a", "priority: 1") + entry(b, "b", "priority: 2"));
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 500);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 500);
  // Open: a is skipped although it is healthy and preferred.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 200);
  std::string st = request(corral.port, "GET", "/status").body;
  EXPECT_NE(st.find("\"name\":\"a\""), std::string::npos);
  EXPECT_NE(st.find("\"circuit\":\"open\""), std::string::npos) << st;
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, a.url()), 2) << m;
  EXPECT_EQ(served(m, b.url()), 3);
}

TEST(Fleet, HalfOpenTrialClosesTheCircuitWhenTheBackendRecovered) {
  // Loaded on both: the circuit decides, not where the model was sent to load.
  Sim a({"--models", "m=1000:loaded"}), b({"--models", "m=1000:loaded"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "routing: {max_attempts: 1, circuit_failures: 1, circuit_cooldown: 300ms}\n" +
                    "backends:\n" + entry(a, "a", "priority: 1") + entry(b, "b", "priority: 2"));
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m"), {"X-Sim-Status: 500"}).status, 500);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 200);  // b: a is open
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 200);  // the trial, on a
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 200);  // closed again: a
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, a.url()), 3) << m;
  EXPECT_EQ(served(m, b.url()), 1);
  EXPECT_NE(request(corral.port, "GET", "/status").body.find("\"circuit\":\"closed\""), std::string::npos);
}

TEST(Fleet, OllamaBusy503IsRetriedOnAnotherBackend) {
  Sim a({"--models", "m=1000", "--fail-status", "503"}), b({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 1") + entry(b, "b", "priority: 2"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("m")).status, 200);
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(value_of(m, "corral_failovers_total"), 3) << m;
  EXPECT_EQ(served(m, b.url()), 3);
  EXPECT_EQ(request(corral.port, "GET", "/status").body.find("\"circuit\":\"open\""), std::string::npos);
}

TEST(Fleet, AdmissionQueueWaitsThenOverflowsWith503) {
  Sim a({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "routing: {queue_size: 2, queue_timeout: 10s, retry_after: 3s}\n" +
                    "backends:\n" + entry(a, "a", "max_concurrent: 1"),
                {"--workers", "1"});
  auto slow = std::async(std::launch::async, [&] {
    return request(corral.port, "POST", "/api/generate", gen("m"), {"X-Sim-Tokens: 5", "X-Sim-Token-Delay-Ms: 200"})
        .status;
  });
  ASSERT_TRUE(eventually(
      [&] { return request(corral.port, "GET", "/status").body.find("\"in_flight\":1") != std::string::npos; }));
  std::vector<std::future<Response>> rest;
  for (int i = 0; i < 4; ++i) {
    rest.push_back(
        std::async(std::launch::async, [&] { return request(corral.port, "POST", "/api/generate", gen("m")); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  EXPECT_EQ(slow.get(), 200);
  int ok = 0, busy = 0;
  for (auto& f : rest) {
    Response r = f.get();
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++busy;
      EXPECT_EQ(r.header("retry-after"), "3");
      EXPECT_NE(r.body.find("queue is full"), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(busy, 2);
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(value_of(m, "corral_rejected_total{reason=\"queue_full\"}"), 2) << m;
  EXPECT_EQ(value_of(m, "corral_queue_wait_seconds_count"), 2);
}

// limits.max_in_flight holds the whole fleet, both workers together, to its
// number: six slow requests over two unlimited backends run two at a time and
// all succeed.
TEST_P(FleetIo, FleetWideInFlightLimitAcrossWorkers) {
  Sim a({"--models", "m=1000"}), b({"--models", "m=1000"});
  Corral corral({}, GetParam(),
                std::string(kQuiet) + "limits: {max_in_flight: 2}\nrouting: {queue_timeout: 20s}\n" + "backends:\n" +
                    entry(a, "a") + entry(b, "b"),
                {"--workers", "2"});
  std::vector<std::future<int>> all;
  for (int i = 0; i < 6; ++i) {
    all.push_back(std::async(std::launch::async, [&] {
      return request(corral.port, "POST", "/api/generate", gen("m"), {"X-Sim-Tokens: 4", "X-Sim-Token-Delay-Ms: 150"},
                     20000)
          .status;
    }));
  }
  long most = 0;
  bool queued = false;
  for (int i = 0; i < 40 && !queued; ++i) {  // while they run: never more than 2 at the backends
    std::string body = request(corral.port, "GET", "/status").body;
    std::string st = body.substr(std::min(body.size(), body.find("\"cluster\"")));  // the fleet's totals
    most = std::max(most, json_int(st, "in_flight"));
    queued = json_int(st, "queued") >= 3;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(queued) << "four of the six should wait";
  for (auto& f : all) EXPECT_EQ(f.get(), 200);
  EXPECT_LE(most, 2);
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(value_of(m, "corral_queue_wait_seconds_count"), 4) << m;
}

TEST(Fleet, AdmissionQueueTimesOut) {
  Sim a({"--models", "m=1000"});
  Corral corral(
      {}, "uring",
      std::string(kQuiet) + "routing: {queue_timeout: 300ms}\n" + "backends:\n" + entry(a, "a", "max_concurrent: 1"),
      {"--workers", "1"});
  auto slow = std::async(std::launch::async, [&] {
    return request(corral.port, "POST", "/api/generate", gen("m"), {"X-Sim-Tokens: 5", "X-Sim-Token-Delay-Ms: 300"})
        .status;
  });
  ASSERT_TRUE(eventually(
      [&] { return request(corral.port, "GET", "/status").body.find("\"in_flight\":1") != std::string::npos; }));
  Response r = request(corral.port, "POST", "/api/generate", gen("m"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("queue_timeout"), std::string::npos) << r.body;
  EXPECT_EQ(slow.get(), 200);
  EXPECT_EQ(value_of(settled_metrics(corral.port), "corral_rejected_total{reason=\"queue_timeout\"}"), 1);
}

TEST(Fleet, AffinityKeepsAConversationOnOneBackend) {
  Sim a({"--models", "m=1000:loaded"}), b({"--models", "m=1000:loaded"}), c({"--models", "m=1000:loaded"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "routing: {affinity: prefix}\n" + "backends:\n" + entry(a, "a") + entry(b, "b") +
                    entry(c, "c"));
  auto chat = [](int conv, int turn) {
    std::string msgs = "{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"conversation " +
                       std::to_string(conv) + "\"}";
    for (int t = 0; t < turn; ++t)
      msgs += ",{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"more\"}";
    return "{\"model\":\"m\",\"stream\":false,\"messages\":[" + msgs + "]}";
  };
  for (int turn = 0; turn < 6; ++turn) ASSERT_EQ(request(corral.port, "POST", "/api/chat", chat(1, turn)).status, 200);
  std::string m = settled_metrics(corral.port);
  int used = 0;
  for (const Sim* s : {&a, &b, &c}) used += served(m, s->url(), "/api/chat") > 0;
  EXPECT_EQ(used, 1) << m;
  for (int conv = 2; conv < 14; ++conv) ASSERT_EQ(request(corral.port, "POST", "/api/chat", chat(conv, 0)).status, 200);
  m = settled_metrics(corral.port);
  used = 0;
  for (const Sim* s : {&a, &b, &c}) used += served(m, s->url(), "/api/chat") > 0;
  EXPECT_GE(used, 2) << m;  // different conversations spread
}

TEST(Fleet, TagsPsAndModelsAreMergedAcrossBackends) {
  Sim a({"--models", "m1=1000:loaded,m2=2000"}), b({"--models", "m2=2000,m3=3000:loaded"});
  Corral corral({}, "uring", std::string(kQuiet) + "backends:\n" + entry(a, "a") + entry(b, "b"));
  Response tags = request(corral.port, "GET", "/api/tags");
  ASSERT_EQ(tags.status, 200);
  for (const char* n : {"m1:latest", "m2:latest", "m3:latest"}) {
    size_t first = tags.body.find(std::string("\"name\":\"") + n + "\"");
    EXPECT_NE(first, std::string::npos) << tags.body;
    EXPECT_EQ(tags.body.find(std::string("\"name\":\"") + n + "\"", first + 1), std::string::npos) << "duplicate " << n;
  }
  Response ps = request(corral.port, "GET", "/api/ps");
  EXPECT_NE(ps.body.find("\"name\":\"m1:latest\""), std::string::npos) << ps.body;
  EXPECT_NE(ps.body.find("\"name\":\"m3:latest\""), std::string::npos);
  EXPECT_EQ(ps.body.find("\"name\":\"m2:latest\""), std::string::npos);
  Response v1 = request(corral.port, "GET", "/v1/models");
  EXPECT_EQ(v1.body.rfind("{\"object\":\"list\",\"data\":[", 0), 0u) << v1.body;
  for (const char* n : {"m1:latest", "m2:latest", "m3:latest"})
    EXPECT_NE(v1.body.find(std::string("\"id\":\"") + n + "\""), std::string::npos);
}

TEST(Fleet, PullGoesWhereItFitsAndDeleteReachesEveryHolder) {
  Sim a({"--models", "m=1000"}), b({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "priority: 1, max_memory_gb: 10") +
                    entry(b, "b", "priority: 2") +
                    "models:\n  memory_patterns: [{pattern: \".*-70b.*\", memory_gb: 40}]\n");
  auto has = [](const Sim& s, const std::string& n) {
    return request(s.port, "GET", "/api/tags").body.find("\"name\":\"" + n + "\"") != std::string::npos;
  };
  EXPECT_EQ(request(corral.port, "POST", "/api/pull", "{\"model\":\"big-70b\",\"stream\":false}").status, 200);
  EXPECT_TRUE(has(b, "big-70b:latest"));
  EXPECT_FALSE(has(a, "big-70b:latest"));
  EXPECT_EQ(request(corral.port, "POST", "/api/pull", "{\"model\":\"small\",\"stream\":false}").status, 200);
  EXPECT_TRUE(has(a, "small:latest"));
  EXPECT_EQ(request(corral.port, "POST", "/api/pull", "{\"model\":\"named\",\"stream\":false}", {"X-Corral-Backend: b"})
                .status,
            200);
  EXPECT_TRUE(has(b, "named:latest"));
  // The merged list shows a pulled model at once (asked live, not from the last discovery).
  EXPECT_NE(request(corral.port, "GET", "/api/tags").body.find("\"name\":\"big-70b:latest\""), std::string::npos);
  Response d = request(corral.port, "DELETE", "/api/delete", "{\"model\":\"m\"}");
  EXPECT_EQ(d.status, 200) << d.body;
  EXPECT_FALSE(has(a, "m:latest"));
  EXPECT_FALSE(has(b, "m:latest"));
  EXPECT_EQ(request(corral.port, "DELETE", "/api/delete", "{\"model\":\"m\"}").status, 404);
}

TEST(Fleet, DnsBackendMembersComeFromTheResolver) {
  Sim a({"--models", "m=1000"});
  Corral corral({}, "uring",
                std::string(kQuiet) +
                    "backends:\n  - {name: pool, url: \"dns+http://localhost:" + std::to_string(a.port) + "\"}\n");
  send_n(corral.port, 3, gen("m"));
  std::string st = request(corral.port, "GET", "/status").body;
  EXPECT_NE(st.find("\"name\":\"pool\",\"url\":\"http://127.0.0.1:" + std::to_string(a.port) +
                    "\",\"address\":\"127.0.0.1:" + std::to_string(a.port) + "\",\"up\":true"),
            std::string::npos)
      << st;
  EXPECT_EQ(served(settled_metrics(corral.port), "http://127.0.0.1:" + std::to_string(a.port)), 3);
}

TEST(Fleet, SighupAppliesAGoodFileAndKeepsTheOldOneOnABadFile) {
  Sim a({"--models", "m=1000"}), b({"--models", "m=1000"});
  std::string base = std::string(kQuiet) + "backends:\n" + entry(a, "a");
  Corral corral({}, "uring", base);
  // A stream in flight across the reload keeps going.
  Client streaming(corral.port);
  streaming.send(build_request("POST", "/api/generate", "{\"model\":\"m\",\"prompt\":\"x\"}",
                               {"X-Sim-Tokens: 6", "X-Sim-Token-Delay-Ms: 100"}));
  ASSERT_TRUE(eventually([&] {  // routed to a before the reload
    return request(corral.port, "GET", "/status").body.find("\"in_flight\":1") != std::string::npos;
  }));
  std::ofstream(corral.log_path + ".yaml") << base << entry(b, "b") << "models:\n  assignments: {\"m\": b}\n";
  corral.proc.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return corral.log().find("event=reload_applied") != std::string::npos; }));
  Response done = streaming.read_response();
  EXPECT_EQ(done.status, 200);
  EXPECT_NE(done.body.find("\"done\":true"), std::string::npos);
  send_n(corral.port, 3, gen("m"));
  std::ofstream(corral.log_path + ".yaml") << base << "bogus_key: 1\n";
  corral.proc.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return corral.log().find("event=reload_failed") != std::string::npos; }));
  EXPECT_NE(corral.log().find("bogus_key: unknown key"), std::string::npos) << corral.log();
  send_n(corral.port, 2, gen("m"));
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(served(m, b.url()), 5) << m;
  EXPECT_EQ(served(m, a.url()), 1);
}

TEST(Fleet, StatusReportsMembersAndClusterSummary) {
  Sim a({"--models", "m=1000:loaded", "--version-string", "0.9.1"});
  int dead = free_port();
  Corral corral({}, "uring",
                std::string(kQuiet) + "backends:\n" + entry(a, "a", "max_concurrent: 4") +
                    "  - {name: gone, url: \"http://127.0.0.1:" + std::to_string(dead) + "\", max_concurrent: 2}\n");
  Response r = request(corral.port, "GET", "/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"version\":\"0.9.1\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"loaded\":[{\"name\":\"m:latest\""), std::string::npos);
  EXPECT_NE(r.body.find("\"name\":\"gone\""), std::string::npos);
  EXPECT_NE(r.body.find("\"up\":false"), std::string::npos);
  EXPECT_NE(r.body.find("\"last_error\":\"Connection refused\""), std::string::npos) << r.body;
  EXPECT_NE(
      r.body.find("\"cluster\":{\"backends\":2,\"healthy_endpoints\":1,\"in_flight\":0,\"queued\":0,\"capacity\":4,"
                  "\"utilization\":0}"),
      std::string::npos)
      << r.body;
}

TEST(Fleet, CheckConfigValidatesFleetFilesAndNamesTheBrokenKey) {
  auto check = [](const std::string& yaml, std::string& out) {
    std::string path = "/tmp/corral-check-" + std::to_string(getpid()) + ".yaml", log = path + ".log";
    std::ofstream(path) << yaml;
    Process p({bin("CORRAL_BIN"), "--check-config", path}, log);
    int rc = p.wait(10000);
    std::ifstream in(log);
    out.assign(std::istreambuf_iterator<char>(in), {});
    ::unlink(path.c_str());
    ::unlink(log.c_str());
    return rc;
  };
  std::string out;
  EXPECT_EQ(check("backends:\n  - {name: a, url: http://127.0.0.1:1, priority: 2, max_memory_gb: 8}\n"
                  "  - {name: b, url: \"dns+http://localhost:2\"}\nmodels:\n  assignments: {m: a}\n"
                  "routing: {affinity: prefix}\n",
                  out),
            0)
      << out;
  EXPECT_NE(out.find("is valid"), std::string::npos);
  EXPECT_EQ(check("backends:\n  - {name: a, url: http://127.0.0.1:1}\nmodels:\n  assignments: {m: z}\n", out), 2);
  EXPECT_NE(out.find("models.assignments.m: no backend named 'z'"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;  // one clear line
  EXPECT_EQ(check("routing:\n  circuit_cooldown: soonish\n", out), 2);
  EXPECT_NE(out.find("routing.circuit_cooldown: expected a duration"), std::string::npos) << out;
  EXPECT_EQ(check("backends:\n  - {url: http://127.0.0.1:1, weight: 3}\n", out), 2);
  EXPECT_NE(out.find("backends[0].weight: unknown key"), std::string::npos) << out;
}
