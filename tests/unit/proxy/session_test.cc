// Session, the upstream client, the pool, timeouts, backpressure and failover
// on a fake loop: deterministic, no sockets, no threads, the clock moved by hand.
#include <gtest/gtest.h>

#include "corral/proxy/session.h"
#include "rig.h"

using namespace corral;
using test::http_request;
using test::http_response;
using test::Rig;

namespace {

const std::string kGen = R"({"model":"m1","prompt":"hi","stream":false})";

std::string hex(size_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

// The body in two chunks.
std::string chunked(const std::string& body) {
  std::string a = body.substr(0, body.size() / 2), b = body.substr(body.size() / 2);
  return hex(a.size()) + "\r\n" + a + "\r\n" + hex(b.size()) + "\r\n" + b + "\r\n0\r\n\r\n";
}

}  // namespace

TEST(Session, ForwardsTheRequestAndRelaysTheAnswer) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen, "X-Request-Id: r-1\r\n"));
  int up = rig.accept_upstream();
  const std::string& sent = rig.loop.peer(up).received;
  EXPECT_NE(sent.find("POST /api/generate HTTP/1.1\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("X-Forwarded-For: 127.0.0.9\r\n"), std::string::npos) << sent;
  EXPECT_TRUE(sent.ends_with(kGen)) << sent;
  rig.answer(up, http_response(200, R"({"response":"hello","done":true,"eval_count":3})"));
  const std::string& got = rig.to_client(c);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_NE(got.find("X-Request-Id: r-1\r\n"), std::string::npos);
  EXPECT_TRUE(got.ends_with(R"({"response":"hello","done":true,"eval_count":3})"));
  EXPECT_EQ(rig.pool->idle_count(), 1u);  // kept alive for the next request
  EXPECT_EQ(rig.loop.buffers_out(), 0);   // every receive buffer given back
}

TEST(Session, IdleKeepAliveConnectionHoldsNoExchange) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("GET", "/api/version"));
  int up = rig.accept_upstream();
  rig.answer(up, http_response(200, R"({"version":"0.5"})"));
  ASSERT_NE(rig.to_client(c).find("0.5"), std::string::npos);
  // A second request on the same connection reuses the pooled upstream connection.
  rig.send(c, http_request("GET", "/api/version"));
  EXPECT_EQ(rig.loop.last_stream(), up);
  rig.answer(up, http_response(200, R"({"version":"0.6"})"));
  EXPECT_NE(rig.to_client(c).find("0.6"), std::string::npos);
  EXPECT_EQ(rig.loop.streams(), 1);
  EXPECT_EQ(rig.shard().upstream_reuses.load(), 1u);
}

// The plan stage reads the de-chunked body: a chunked /api/chat goes to the
// only backend that has its model.
TEST(Session, ChunkedBodyIsReadForModelRouting) {
  Rig rig({{"a", {"other"}}, {"b", {"m1"}}, {"c", {"other2"}}});
  std::string body = R"({"model":"m1","messages":[{"role":"user","content":"hello there"}],"stream":false})";
  for (int i = 0; i < 3; ++i) {
    int c = rig.connect_client();
    rig.send(c, "POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body));
    int up = rig.accept_upstream();
    EXPECT_EQ(rig.backend_of(up), "b");
    EXPECT_NE(rig.loop.peer(up).received.find("Transfer-Encoding: chunked"), std::string::npos);  // bytes as sent
    rig.answer(up, http_response(200, "{}"));
  }
}

TEST(Session, ConnectErrorFailsOverToTheNextBackend) {
  Rig rig({{"a", {"m1"}}, {"b", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int first = rig.loop.last_stream();
  std::string first_backend = rig.backend_of(first);
  rig.loop.finish_connect(first, -ECONNREFUSED);
  rig.loop.settle();
  int second = rig.accept_upstream();
  ASSERT_NE(first, second);
  EXPECT_NE(rig.backend_of(second), first_backend);
  rig.answer(second, http_response(200, "{}"));
  EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 200"));
  EXPECT_EQ(rig.shard().failovers.load(), 1u);
}

// Regression: the failover pick dropped X-Corral-Backend, so a pull pinned to
// one backend could fail over to another the first attempt would refuse.
TEST(Session, PinnedPullIsNotFailedOverToAnotherBackend) {
  Rig rig({{"a", {"m1"}}, {"b", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/pull", R"({"model":"m1"})", "X-Corral-Backend: a\r\n"));
  int up = rig.accept_upstream();
  ASSERT_EQ(rig.backend_of(up), "a");
  rig.answer(up, http_response(500, R"({"error":"disk full"})"));
  EXPECT_EQ(rig.loop.streams(), 1) << "failed over to another backend";
  EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 500")) << rig.to_client(c);
  EXPECT_NE(rig.to_client(c).find("disk full"), std::string::npos);
}

TEST(Session, UnpinnedServerErrorFailsOver) {
  Rig rig({{"a", {"m1"}}, {"b", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, http_response(500, R"({"error":"boom"})"));
  int second = rig.accept_upstream();
  EXPECT_NE(rig.backend_of(second), rig.backend_of(up));
  rig.answer(second, http_response(200, "{}"));
  EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 200"));
}

TEST(Session, StalePooledConnectionIsRetriedOnAFreshOne) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("GET", "/api/version"));
  int up = rig.accept_upstream();
  rig.answer(up, http_response(200, "{}"));
  rig.send(c, http_request("GET", "/api/version"));
  ASSERT_EQ(rig.loop.last_stream(), up);  // reused...
  rig.loop.peer_close(up);                // ...but the backend had closed it
  rig.loop.settle();
  int fresh = rig.accept_upstream();
  ASSERT_NE(fresh, up);
  rig.answer(fresh, http_response(200, R"({"version":"again"})"));
  EXPECT_NE(rig.to_client(c).find("again"), std::string::npos);
}

TEST(Session, NoResponseHeadInTimeIs504) {
  Rig rig({{"a", {"m1"}}}, "timeouts: {first_byte: 2s}\n");
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.tick(1000);
  EXPECT_TRUE(rig.to_client(c).empty());
  rig.tick(1500);
  EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 504")) << rig.to_client(c);
  EXPECT_TRUE(rig.loop.peer(up).closed);  // the backend request is cancelled
}

TEST(Session, ConnectTimeoutCountsAgainstTheBackendAndFailsOver) {
  Rig rig({{"a", {"m1"}}, {"b", {"m1"}}}, "timeouts: {connect: 1s}\n");
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int first = rig.loop.last_stream();
  rig.tick(1200);  // never connected
  int second = rig.accept_upstream();
  ASSERT_NE(first, second);
  rig.answer(second, http_response(200, "{}"));
  EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 200"));
  EXPECT_EQ(rig.table[0].failures.load() + rig.table[1].failures.load(), 1u);  // the timed-out one
}

TEST(Session, SlowClientPausesTheBackendAndResumes) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.loop.peer(c).hold_sends = true;  // the client stops reading
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
  rig.answer(up, head);
  std::string chunk(3000, 'x');
  std::string framed = "bb8\r\n" + chunk + "\r\n";
  for (int i = 0; i < 60 && rig.loop.peer(up).reading; ++i) rig.answer(up, framed);
  EXPECT_FALSE(rig.loop.peer(up).reading) << "backend not paused";
  EXPECT_GE(rig.shard().backpressure_pauses.load(), 1u);
  rig.loop.release_sends(c);
  rig.loop.settle();
  EXPECT_TRUE(rig.loop.peer(up).reading) << "backend not resumed";
}

// The range in flight when the client goes is never reported sent: closing gives
// its receive buffer back together with the queued ones, each exactly once.
TEST(Session, SlowClientGoneGivesBackTheBufferInFlight) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
  rig.loop.peer(c).hold_sends = true;  // the head went out; the client stops reading now
  std::string framed = "bb8\r\n" + std::string(3000, 'x') + "\r\n";
  for (int i = 0; i < 4; ++i) rig.answer(up, framed);
  ASSERT_EQ(rig.loop.peer(c).in_flight, framed.size());  // a backend's receive buffer in flight
  ASSERT_EQ(rig.loop.buffers_out(), 4);                  // and three more queued behind it
  rig.loop.peer_close(c);
  rig.loop.settle();
  EXPECT_EQ(rig.ctx.session_count, 0u);
  EXPECT_EQ(rig.loop.buffers_out(), 0);
}

TEST(Session, ClientGoneCancelsTheBackendRequest) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  rig.loop.peer_close(c);
  rig.loop.settle();
  EXPECT_TRUE(rig.loop.peer(up).closed);
  EXPECT_EQ(rig.pool->idle_count(), 0u);  // never reused mid-answer
  EXPECT_EQ(rig.ctx.session_count, 0u);
  EXPECT_EQ(rig.shard().errors[metrics::kErrClientAbort].load(), 1u);
}

TEST(Session, FullBackendQueuesThenServesInOrder) {
  Rig rig({{"a", {"m1"}, 1}});
  int c1 = rig.connect_client(), c2 = rig.connect_client();
  rig.send(c1, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.send(c2, http_request("POST", "/api/generate", kGen));
  EXPECT_EQ(rig.ctx.waiting.size(), 1u);
  EXPECT_EQ(rig.loop.streams(), 1);
  rig.answer(up, http_response(200, "{}"));
  rig.tick(0);  // a place came free: the waiter goes
  EXPECT_EQ(rig.ctx.waiting.size(), 0u);
  EXPECT_EQ(rig.loop.last_stream(), up);  // on the pooled connection
  rig.answer(up, http_response(200, "{}"));
  EXPECT_TRUE(rig.to_client(c2).starts_with("HTTP/1.1 200"));
}

// A scaling group's load counts a request from the moment it is queued or sent
// to a member until it ends, weighed by its model.
TEST(Session, RequestsWeighOnTheirScalingGroupUntilTheyEnd) {
  Rig rig({{"a", {"m1"}, 1}});
  config::ScalingConfig sc;
  sc.groups.push_back({});
  sc.groups[0].name = "g";
  sc.groups[0].members = {"a"};
  sc.groups[0].model_weights = {{"m1", 2.0}};
  fleet::ScalingLoad load(sc);
  rig.fleet.scaling = &load;
  double one = double(load.weight_milli(0, "m1", -1)) / 1000.0;
  ASSERT_GT(one, 1.9);
  int c1 = rig.connect_client(), c2 = rig.connect_client();
  rig.send(c1, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  EXPECT_DOUBLE_EQ(load.load(0), one);
  rig.send(c2, http_request("POST", "/api/generate", kGen));  // queued: counts too
  EXPECT_DOUBLE_EQ(load.load(0), 2 * one);
  rig.answer(up, http_response(200, "{}"));
  rig.tick(0);
  EXPECT_DOUBLE_EQ(load.load(0), one);  // the first ended; the second is at the backend, counted once
  rig.answer(up, http_response(200, "{}"));
  EXPECT_DOUBLE_EQ(load.load(0), 0.0);
  rig.fleet.scaling = nullptr;
}

// limits.max_in_flight caps the fleet as a whole: with two unlimited backends
// and a limit of 1, the second request waits in the queue until the first ends,
// and a third times out with the queue's 503.
TEST(Session, FleetLimitQueuesPastMaxInFlight) {
  Rig rig({{"a", {"m1"}}, {"b", {"m1"}}}, "limits: {max_in_flight: 1}\nrouting: {queue_timeout: 2s}\n");
  int c1 = rig.connect_client(), c2 = rig.connect_client(), c3 = rig.connect_client();
  rig.send(c1, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.send(c2, http_request("POST", "/api/generate", kGen));
  EXPECT_EQ(rig.ctx.waiting.size(), 1u);
  EXPECT_EQ(rig.loop.streams(), 1);  // the idle backend is not used: the fleet is full
  EXPECT_EQ(rig.fleet.in_flight.load(), 1u);
  EXPECT_EQ(rig.fleet.waiting.load(), 1u);
  rig.answer(up, http_response(200, "{}"));
  rig.tick(0);
  EXPECT_EQ(rig.ctx.waiting.size(), 0u);
  EXPECT_EQ(rig.fleet.waiting.load(), 0u);
  EXPECT_EQ(rig.fleet.in_flight.load(), 1u);  // the second holds the place now
  rig.send(c3, http_request("POST", "/api/generate", kGen));
  rig.tick(2100);
  EXPECT_TRUE(rig.to_client(c3).starts_with("HTTP/1.1 503")) << rig.to_client(c3);
  EXPECT_NE(rig.to_client(c3).find("Retry-After:"), std::string::npos);
  EXPECT_EQ(rig.to_client(c2).find("HTTP/1.1 200"), std::string::npos);  // still at its backend
  rig.answer(rig.loop.last_stream(), http_response(200, "{}"));
  EXPECT_TRUE(rig.to_client(c2).starts_with("HTTP/1.1 200")) << rig.to_client(c2);
  EXPECT_EQ(rig.fleet.in_flight.load(), 0u);
}

TEST(Session, BytesPastTheResponseMakeTheConnectionUntrusted) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("GET", "/api/version"));
  int up = rig.accept_upstream();
  rig.answer(up, http_response(200, "{}") + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!");
  EXPECT_TRUE(rig.to_client(c).ends_with("{}")) << rig.to_client(c);
  EXPECT_EQ(rig.to_client(c).find("evil"), std::string::npos);
  EXPECT_TRUE(rig.loop.peer(up).closed);
  EXPECT_EQ(rig.pool->idle_count(), 0u);
}

TEST(Session, InterimAnswersAreSkippedAndCloseDelimitedBodiesEnd) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("GET", "/api/version"));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close");
  rig.loop.peer_close(up);
  rig.loop.settle();
  const std::string& got = rig.to_client(c);
  EXPECT_EQ(got.find("100 Continue"), std::string::npos) << got;
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_TRUE(got.ends_with("until close"));
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
}

TEST(Session, PipelinedRequestsAreAnsweredInOrder) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("GET", "/api/version", "", "X-Request-Id: one\r\n") +
                  http_request("GET", "/api/version", "", "X-Request-Id: two\r\n"));
  int up = rig.accept_upstream();
  rig.answer(up, http_response(200, R"({"n":1})"));
  rig.answer(up, http_response(200, R"({"n":2})"));
  const std::string& got = rig.to_client(c);
  size_t one = got.find("X-Request-Id: one"), two = got.find("X-Request-Id: two");
  ASSERT_NE(one, std::string::npos) << got;
  ASSERT_NE(two, std::string::npos) << got;
  EXPECT_LT(one, two);
  EXPECT_LT(got.find(R"({"n":1})"), got.find(R"({"n":2})"));
}
