// The parser's RFC 9112 decisions as a client and a backend see them through a
// Session on the fake loop: rejected requests never reach a backend, and a
// backend answer with faulty framing never leaves its connection in the pool.
#include <gtest/gtest.h>

#include "corral/analytics/ring.h"
#include "rig.h"

using namespace corral;
using test::http_request;
using test::Rig;

namespace {
const std::string kGen = R"({"model":"m1","prompt":"hi","stream":false})";
}  // namespace

// §3.2 and §6.1: answered 400 by corral and closed; no backend connection is opened.
TEST(Rfc9112Session, RequestsARecipientMustRejectNeverReachABackend) {
  for (const std::string raw :
       {"GET /api/tags HTTP/1.1\r\n\r\n", "GET /api/tags HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /api/tags HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
        "POST /api/generate HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}) {
    Rig rig({{"a", {"m1"}}});
    int c = rig.connect_client();
    rig.send(c, raw);
    EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 400 ")) << raw << rig.to_client(c);
    EXPECT_TRUE(rig.loop.peer(c).closed) << raw;
    EXPECT_EQ(rig.loop.streams(), 0) << raw;
  }
}

// §2.2: empty lines before the request-line are skipped, the request is served.
TEST(Rfc9112Session, EmptyLinesBeforeARequestAreIgnored) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, "\r\n\n" + http_request("GET", "/api/version"));
  int up = rig.accept_upstream();
  rig.answer(up, test::http_response(200, R"({"version":"1"})"));
  EXPECT_TRUE(rig.to_client(c).starts_with("HTTP/1.1 200 ")) << rig.to_client(c);
}

// §6.3 rules 3 and 5: both Content-Length and Transfer-Encoding is invalid framing; a proxy closes the connection
// to the server, discards the response and answers 502.
TEST(Rfc9112Session, BackendAnswerWithBothLengthsIs502AndItsConnectionIsClosed) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  const std::string& got = rig.to_client(c);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 502 ")) << got;
  EXPECT_EQ(got.find("\r\n2\r\nhi"), std::string::npos) << got;
  EXPECT_TRUE(rig.loop.peer(up).closed);
  EXPECT_EQ(rig.pool->idle_count(), 0u);
}

// §6.1: an HTTP/1.0 answer with Transfer-Encoding is read, then its connection is closed, never reused.
TEST(Rfc9112Session, Http10AnswerWithTransferEncodingIsRelayedButNotReused) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("GET", "/api/version"));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  EXPECT_TRUE(rig.to_client(c).ends_with("2\r\n{}\r\n0\r\n\r\n")) << rig.to_client(c);
  EXPECT_TRUE(rig.loop.peer(up).closed);
  EXPECT_EQ(rig.pool->idle_count(), 0u);
}

// §7.1: a chunk size that is not hexadecimal mid-stream: the client's connection ends without the last chunk, so it
// can tell the answer is incomplete, and the backend connection is not reused.
TEST(Rfc9112Session, InvalidChunkMidStreamEndsBothConnections) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n");
  rig.answer(up, "zz\r\nmore\r\n0\r\n\r\n");
  EXPECT_TRUE(rig.to_client(c).ends_with("2\r\nhi\r\n")) << rig.to_client(c);
  EXPECT_TRUE(rig.loop.peer(c).closed);
  EXPECT_TRUE(rig.loop.peer(up).closed);
  EXPECT_EQ(rig.pool->idle_count(), 0u);
}

// Found by fuzz-session_upstream: a head and a broken chunk in one receive buffer closed the client's connection
// without a byte, although nothing had been sent yet; the client gets corral's 502 (§6.3 rule 5).
TEST(Rfc9112Session, HeadAndBrokenChunkInOneBufferIs502) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n");
  const std::string& got = rig.to_client(c);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 502 ")) << got;
  EXPECT_NE(got.find("invalid response from backend"), std::string::npos) << got;
  EXPECT_TRUE(rig.loop.peer(up).closed);
  EXPECT_EQ(rig.pool->idle_count(), 0u);
}

// §2.2 and the issue's probe: a connection that sends only empty lines and closes sent no request — it is
// not counted, recorded or answered; nor is one that sends empty lines until the header timeout.
TEST(Rfc9112Session, OnlyEmptyLinesAreNoRequest) {
  Rig rig({{"a", {"m1"}}});
  analytics::RecordRing ring(64 << 10);
  rig.ctx.records = &ring;
  int probe = rig.connect_client();
  rig.send(probe, "\n");
  rig.loop.peer_close(probe);
  rig.loop.settle();
  int waiter = rig.connect_client();
  rig.send(waiter, "\r\n\r\n");
  rig.tick(rig.cfg.timeouts.header_ms + 1);
  EXPECT_EQ(rig.ctx.session_count, 0u);
  EXPECT_EQ(rig.to_client(probe), "");
  EXPECT_EQ(rig.to_client(waiter), "") << "no 408 for a request that never began";
  EXPECT_EQ(rig.shard().requests_started.load(), 0u);
  EXPECT_EQ(rig.shard().requests_finished.load(), 0u);
  EXPECT_TRUE(ring.front().empty()) << "an analytics record for no request";
}

// After a served request, an empty line and a close add nothing: one request counted and recorded.
TEST(Rfc9112Session, EmptyLineAfterARequestThenCloseIsNoSecondRequest) {
  Rig rig({{"a", {"m1"}}});
  analytics::RecordRing ring(64 << 10);
  rig.ctx.records = &ring;
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  rig.answer(up, test::http_response(200, R"({"response":"x","done":true})"));
  rig.send(c, "\r\n");
  rig.loop.peer_close(c);
  rig.loop.settle();
  EXPECT_EQ(rig.ctx.session_count, 0u);
  EXPECT_EQ(rig.shard().requests_started.load(), 1u);
  EXPECT_EQ(rig.shard().requests_finished.load(), 1u);
  EXPECT_FALSE(ring.front().empty());
  ring.pop();
  EXPECT_TRUE(ring.front().empty()) << "a second record";
}
