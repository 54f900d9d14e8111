// corral in front of corral-sim on loopback, for both io backends.
#include <gtest/gtest.h>

#include <signal.h>
#include <memory>

#include <atomic>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

class Proxy : public IoTest {};

const std::string kGen = R"({"model":"llama3.2","prompt":"why is the sky blue?"})";

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_P(Proxy, StartupLogNamesIoBackend) {
  Sim sim;
  Corral corral({sim.url()}, io());
  EXPECT_NE(corral.log().find(io() == "uring" ? "io=io_uring" : "io=epoll"), std::string::npos) << corral.log();
}

// OpenSSL is opened on first need: a corral with neither TLS nor keys, having served,
// has mapped neither libssl nor libcrypto (about 1.7 MiB of RSS at start).
TEST_P(Proxy, WithoutTlsOrKeysOpenSslIsNeverLoaded) {
  Sim sim;
  Corral corral({sim.url()}, io());
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen).status, 200);
  EXPECT_FALSE(maps_library(corral.proc.pid(), "libssl.so"));
  EXPECT_FALSE(maps_library(corral.proc.pid(), "libcrypto.so"));
}

TEST_P(Proxy, EveryEndpointMatchesDirect) {
  // Two identical backends: one answers directly, one behind corral, so calls
  // that change state (pull, copy, delete) see the same state on both sides.
  Sim direct_sim, sim;
  Corral corral({sim.url()}, io());
  struct Call {
    std::string method, path, body;
  };
  std::vector<Call> calls = {
      {"GET", "/", ""},
      {"HEAD", "/", ""},
      {"GET", "/api/version", ""},
      {"GET", "/api/tags", ""},
      {"GET", "/api/ps", ""},
      {"POST", "/api/show", R"({"model":"llama3.2"})"},
      {"POST", "/api/show", R"({"model":"missing"})"},
      {"POST", "/api/generate", kGen},
      {"POST", "/api/generate", R"({"model":"llama3.2","prompt":"hi","stream":false})"},
      {"POST", "/api/generate", R"({"model":"nope","prompt":"hi"})"},
      {"POST", "/api/chat", R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})"},
      {"POST", "/api/chat", R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false})"},
      {"POST", "/api/embed", R"({"model":"nomic-embed-text","input":["a","b"]})"},
      {"POST", "/api/embeddings", R"({"model":"nomic-embed-text","prompt":"a"})"},
      {"POST", "/api/pull", R"({"model":"llama3.2"})"},
      {"POST", "/api/push", R"({"model":"llama3.2"})"},
      {"POST", "/api/create", R"({"model":"mine","from":"llama3.2"})"},
      {"POST", "/api/copy", R"({"source":"llama3.2","destination":"copy1"})"},
      {"DELETE", "/api/delete", R"({"model":"copy1"})"},
      {"DELETE", "/api/delete", R"({"model":"copy1"})"},
      {"POST", "/v1/chat/completions", R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})"},
      {"POST", "/v1/chat/completions",
       R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}})"},
      {"POST", "/v1/completions", R"({"model":"llama3.2","prompt":"hi"})"},
      {"POST", "/v1/embeddings", R"({"model":"nomic-embed-text","input":"hi"})"},
      {"GET", "/v1/models", ""},
      {"GET", "/no/such/path", ""},
  };
  for (const Call& c : calls) {
    Response direct = request(direct_sim.port, c.method, c.path, c.body);
    Response via = request(corral.port, c.method, c.path, c.body);
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body);
    ASSERT_GT(direct.status, 0);
    EXPECT_EQ(via.status, direct.status);
    EXPECT_TRUE(via.complete);
    EXPECT_EQ(normalize(via.body), normalize(direct.body));
    EXPECT_EQ(via.header("content-type"), direct.header("content-type"));
    EXPECT_FALSE(via.header("x-request-id").empty());
  }
}

TEST_P(Proxy, StreamIsRelayedIncrementally) {
  // The backend sends 3 chunks and then stalls forever: a buffering proxy would show nothing.
  Sim sim;
  Corral corral({sim.url()}, io());
  Client c(corral.port);
  c.send(build_request("POST", "/api/generate", kGen, {"X-Sim-Tokens: 50", "X-Sim-Stall-After: 3"}));
  std::string got = c.read_until("token2", 5000);
  EXPECT_EQ(count(got, "\"done\":false"), 3) << got;
  EXPECT_EQ(got.find("\"done\":true"), std::string::npos);
}

TEST_P(Proxy, KeepAliveReusesUpstreamConnections) {
  Sim sim;
  Corral corral({sim.url()}, io());
  long before = sim.stat("connections_total");
  Client c(corral.port);
  for (int i = 0; i < 1000; ++i) {
    c.send(build_request("GET", "/api/version", "", {}));
    Response r = c.read_response();
    ASSERT_EQ(r.status, 200) << i;
  }
  long opened = sim.stat("connections_total") - before - 1;  // minus the stats request itself
  EXPECT_GE(opened, 1);
  EXPECT_LE(opened, 4) << "upstream connections opened for 1000 keep-alive requests";
}

TEST_P(Proxy, TwoHundredConcurrentStreamsCompleteIntact) {
  Sim sim;
  Corral corral({sim.url()}, io());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&] {
      Response r =
          request(corral.port, "POST", "/api/generate", kGen, {"X-Sim-Tokens: 20", "X-Sim-Token-Delay-Ms: 5"}, 30000);
      if (r.status == 200 && r.complete && count(r.body, "\"done\":false") == 20 &&
          count(r.body, "\"done\":true") == 1 &&
          json_int(r.body.substr(r.body.rfind("{\"model\"")), "eval_count") == 20) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

// With every descriptor in use corral stops accepting (instead of spinning on a
// connection it cannot take) and takes the waiting one as soon as one frees up.
TEST_P(Proxy, OutOfDescriptorsPausesAcceptingAndRecovers) {
  Sim sim;
  Corral corral({sim.url()}, io(), "", {"--analytics", "none"}, {"/usr/bin/prlimit", "--nofile=64:64", "--"});
  std::vector<std::unique_ptr<Client>> held;
  std::unique_ptr<Client> waiting;
  for (int i = 0; i < 80 && !waiting; ++i) {
    auto c = std::make_unique<Client>(corral.port);
    ASSERT_TRUE(c->connected());  // the kernel's backlog takes it either way
    c->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    if (c->read_response(500).status == 200) held.push_back(std::move(c));
    else waiting = std::move(c);
  }
  ASSERT_TRUE(waiting) << "64 descriptors never ran out";
  EXPECT_GT(held.size(), 10u);
  EXPECT_NE(corral.log().find("event=accept_paused error=\"Too many open files\""), std::string::npos) << corral.log();
  held.resize(held.size() / 2);  // give back plenty (the sanitizers' own checks need descriptors too)
  Response late = waiting->read_response(5000);
  EXPECT_EQ(late.status, 200) << "the connection that waited in the backlog is served";
  EXPECT_EQ(request(corral.port, "GET", "/api/tags").status, 200);
}

TEST_P(Proxy, ClientAbortClosesUpstream) {
  Sim sim;
  Corral corral({sim.url()}, io());
  {
    Client c(corral.port);
    c.send(build_request("POST", "/api/generate", kGen, {"X-Sim-Tokens: 200", "X-Sim-Token-Delay-Ms: 50"}));
    c.read_until("token0", 5000);
  }
  long aborted = 0;
  for (int i = 0; i < 100 && aborted < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    aborted = sim.stat("streams_aborted");
  }
  EXPECT_EQ(aborted, 1);
}

TEST_P(Proxy, BackendDownIs502Json) {
  int dead = free_port();
  Corral corral({"http://127.0.0.1:" + std::to_string(dead)}, io());
  Response r = request(corral.port, "POST", "/api/generate", kGen);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
  EXPECT_NE(r.body.find("{\"error\":\"backend http://127.0.0.1:" + std::to_string(dead) + " unreachable"),
            std::string::npos)
      << r.body;
  Response h = request(corral.port, "GET", "/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_NE(h.body.find("\"up\":false"), std::string::npos);
}

TEST_P(Proxy, BackendStallBeforeHeadIs504) {
  Sim sim;
  Corral corral({sim.url()}, io(), "timeouts:\n  first_byte: 500ms\n");
  Response r = request(corral.port, "POST", "/api/generate", kGen, {"X-Sim-Stall-After: 0"});
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("\"error\":\"backend did not respond in time\""), std::string::npos) << r.body;
}

TEST_P(Proxy, BackendStallMidStreamClosesAfterIdleTimeout) {
  Sim sim;
  Corral corral({sim.url()}, io(), "timeouts:\n  stream_idle: 500ms\n");
  Client c(corral.port);
  c.send(build_request("POST", "/api/generate", kGen, {"X-Sim-Stall-After: 2"}));
  std::string got = c.read_until("token1", 5000);
  EXPECT_NE(got.find("token1"), std::string::npos);
  EXPECT_TRUE(c.wait_closed(5000));
  EXPECT_EQ(c.read_until("\"done\":true", 10).find("\"done\":true"), std::string::npos);
}

TEST_P(Proxy, KeepAliveConnectionServesAfterIdleTrim) {
  Sim sim;
  Corral corral({sim.url()}, io());
  Client c(corral.port);
  c.send(build_request("POST", "/api/generate", kGen, {"X-Request-Id: before-idle"}));
  Response first = c.read_response();
  ASSERT_EQ(first.status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1400));
  c.send(build_request("POST", "/api/generate", kGen, {"X-Sim-Tokens: 20"}));
  Response stream = c.read_response();
  EXPECT_EQ(stream.status, 200);
  EXPECT_NE(stream.body.find("\"done\":true"), std::string::npos);
  EXPECT_NE(stream.header("x-request-id"), "before-idle");
  std::this_thread::sleep_for(std::chrono::milliseconds(1400));
  c.send(build_request("GET", "/api/version", "", {"X-Request-Id: after-idle"}) +
         build_request("GET", "/api/tags", "", {}));
  Response a = c.read_response(), t = c.read_response();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("x-request-id"), "after-idle");
  EXPECT_EQ(t.status, 200);
  EXPECT_NE(t.body.find("\"models\""), std::string::npos);
}

TEST_P(Proxy, ProxyPrefixIsStripped) {
  Sim sim;
  Corral corral({sim.url()}, io());
  Response r = request(corral.port, "GET", "/proxy/api/tags");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("llama3.2"), std::string::npos);
}

TEST_P(Proxy, HealthAndMetricsCountRequests) {
  Sim sim;
  Corral corral({sim.url()}, io());
  for (int i = 0; i < 5; ++i) request(corral.port, "GET", "/api/tags");
  request(corral.port, "POST", "/api/show", R"({"model":"missing"})");
  Response h = request(corral.port, "GET", "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "{\"status\":\"ok\",\"backends\":[{\"url\":\"" + sim.url() + "\",\"up\":true}]}");
  Response m{};
  m.status = 200;
  m.body = settled_metrics(corral.port);
  EXPECT_EQ(m.status, 200);
  std::string b = sim.url();
  EXPECT_NE(m.body.find("corral_requests_total{endpoint=\"/api/tags\",model=\"\",backend=\"" + b +
                        "\",code=\"200\",category=\"none\"} 5\n"),
            std::string::npos)
      << m.body;
  // corral knows from discovery that no backend has it: answered like Ollama, without a backend.
  EXPECT_NE(m.body.find("corral_requests_total{endpoint=\"/api/"
                        "show\",model=\"other\",backend=\"none\",code=\"404\",category=\"none\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("corral_in_flight_requests 1\n"), std::string::npos);  // the scrape itself
  EXPECT_NE(m.body.find("corral_build_info{version=\"0.1.0\",io=\"" +
                        std::string(io() == "uring" ? "io_uring" : "epoll") + "\"} 1"),
            std::string::npos);
}

TEST_P(Proxy, SigtermDrainsInFlightStream) {
  Sim sim;
  Corral corral({sim.url()}, io());
  Client c(corral.port);
  c.send(build_request("POST", "/api/generate", kGen, {"X-Sim-Tokens: 20", "X-Sim-Token-Delay-Ms: 50"}));
  c.read_until("token0", 5000);
  corral.proc.signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Client late(corral.port);
  EXPECT_FALSE(late.connected()) << "listener still accepting while draining";
  std::string all = c.read_until("\"done\":true", 10000);
  EXPECT_NE(all.find("\"done\":true"), std::string::npos);
  EXPECT_EQ(corral.proc.wait(10000), 0);
}

// Chunk payloads of an NDJSON stream with the created_at stamps masked (they
// differ between two runs; everything else must be byte-identical).
std::string stable_lines(const std::string& body) {
  std::string out = body;
  const std::string key = "\"created_at\":\"";
  for (size_t p = out.find(key); p != std::string::npos; p = out.find(key, p + 1)) {
    size_t v = p + key.size(), e = out.find('"', v);
    std::fill(out.begin() + static_cast<long>(v), out.begin() + static_cast<long>(e), '*');
  }
  return out.substr(0, out.rfind("{\"model\""));  // the final stats line carries timings
}

TEST_P(Proxy, SlowClientPausesBackendAndGetsWholeStream) {
  // A ~10 MB stream and a client that stops reading: once the kernel buffers are
  // full corral must stop reading from the backend (watermarks) instead of
  // buffering, then resume; the stream must arrive byte-exact.
  Sim sim;
  Corral corral({sim.url()}, io(), "", {"--workers", "1"});
  const std::vector<std::string> big = {"X-Sim-Tokens: 1200", "X-Sim-Token-Pad: 8192"};
  Response direct = request(sim.port, "POST", "/api/generate", kGen, big, 60000);
  ASSERT_EQ(direct.status, 200);
  ASSERT_GT(direct.body.size(), 9u << 20);
  Client c(corral.port, 256 << 10);  // a modest window, so the kernel cannot absorb the stream
  c.send(build_request("POST", "/api/generate", kGen, big));
  std::string raw = c.read_some(16384, 10000);
  const std::string series = "\ncorral_backpressure_pauses_total ";
  long pauses = 0;
  for (int i = 0; i < 300 && pauses == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string m = request(corral.port, "GET", "/metrics").body;
    size_t at = m.find(series);
    ASSERT_NE(at, std::string::npos);
    pauses = std::stol(m.substr(at + series.size()));
  }
  EXPECT_GT(pauses, 0) << "the backend was never paused while the client did not read";
  while (raw.size() < 5 || raw.compare(raw.size() - 5, 5, "0\r\n\r\n") != 0) {
    std::string piece = c.read_some(65536, 10000);
    ASSERT_FALSE(piece.empty()) << "stream stalled after " << raw.size() << " bytes";
    raw += piece;
  }
  size_t he = raw.find("\r\n\r\n");
  ASSERT_NE(he, std::string::npos);
  std::string body;  // de-chunk
  for (size_t p = he + 4;;) {
    size_t le = raw.find("\r\n", p);
    ASSERT_NE(le, std::string::npos);
    size_t n = std::stoul(raw.substr(p, le - p), nullptr, 16);
    if (n == 0) break;
    body.append(raw, le + 2, n);
    p = le + 2 + n + 2;
  }
  EXPECT_GT(body.size(), 9u << 20);
  EXPECT_TRUE(stable_lines(body) == stable_lines(direct.body)) << "relayed stream differs from the backend's";
  EXPECT_NE(body.find("\"done\":true"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Io, Proxy, ::testing::Values("uring", "epoll"), [](const auto& info) { return info.param; });
