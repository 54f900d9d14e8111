// HTTP/1.1 on the wire, as a proxy must treat it (RFC 9112): smuggling shapes
// and malformed heads rejected, limits, chunked bodies with 100-continue,
// pipelining; corral in front of corral-sim on loopback, both io backends.
#include <gtest/gtest.h>

#include "../integration/harness.h"

using namespace harness;

namespace {

class Protocol : public IoTest {};

const std::string kGen = R"({"model":"llama3.2","prompt":"why is the sky blue?"})";

}  // namespace

TEST_P(Protocol, MalformedAndSmugglingRequestsAre400AndProxyKeepsServing) {
  Sim sim;
  Corral corral({sim.url()}, io());
  std::vector<std::string> bad = {
      "POST /api/generate HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST /api/generate HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
      "POST /api/generate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\n\n",
      "GARBAGE\r\n\r\n",
  };
  for (const auto& raw : bad) {
    Client c(corral.port);
    c.send(raw);
    Response r = c.read_response(5000);
    EXPECT_EQ(r.status, 400) << raw;
    EXPECT_NE(r.body.find("\"error\":\"malformed HTTP"), std::string::npos) << r.body;
    EXPECT_TRUE(c.wait_closed(5000)) << raw;
  }
  EXPECT_EQ(request(corral.port, "GET", "/api/version").status, 200);
}

// RFC 9112 §3.2, §5, §6.1, §2.3 on the wire: each answered by corral and closed, the next request still served;
// §2.2: empty lines before a request-line are skipped.
TEST_P(Protocol, Rfc9112HostAndFramingRules) {
  Sim sim;
  Corral corral({sim.url()}, io());
  struct Case {
    std::string raw;
    int status;
  };
  std::vector<Case> cases = {
      {"GET /api/version HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"GET /api/version HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET /api/version HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400},
      {"POST /api/generate HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST /api/generate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"GET /api/version HTTP/2.0\r\nHost: a\r\n\r\n", 505},
  };
  for (const Case& k : cases) {
    Client c(corral.port);
    c.send(k.raw);
    Response r = c.read_response(5000);
    EXPECT_EQ(r.status, k.status) << k.raw;
    EXPECT_TRUE(c.wait_closed(5000)) << k.raw;
  }
  Client blank(corral.port);
  blank.send("\r\n\r\n" + build_request("GET", "/api/version", "", {}));
  EXPECT_EQ(blank.read_response(5000).status, 200);
}

TEST_P(Protocol, LimitsAnswer431And413And408) {
  Sim sim;
  Corral corral({sim.url()}, io(), "limits:\n  max_body_bytes: 2048\ntimeouts:\n  header: 500ms\n");
  Response big_head = request(corral.port, "GET", "/api/tags", "", {"X-Big: " + std::string(17000, 'a')});
  EXPECT_EQ(big_head.status, 431);
  Response big_body = request(corral.port, "POST", "/api/generate", std::string(4096, 'x'));
  EXPECT_EQ(big_body.status, 413);
  Client slow(corral.port);
  slow.send("GET /api/tags HTTP/1.1\r\nHost: a\r\n");
  Response r = slow.read_response(5000);
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(request(corral.port, "GET", "/api/tags").status, 200);
}

TEST_P(Protocol, ChunkedRequestBodyAndExpectContinue) {
  Sim sim;
  Corral corral({sim.url()}, io());
  Client c(corral.port);
  std::string body = R"({"model":"llama3.2","prompt":"hi","stream":false})";
  char size[16];
  snprintf(size, sizeof size, "%zx", body.size());
  c.send("POST /api/generate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + "\r\n" +
         body + "\r\n0\r\n\r\n");
  Response r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"done\":true"), std::string::npos) << r.body;

  Client e(corral.port);
  e.send("POST /api/generate HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_NE(e.read_until("\r\n\r\n", 5000).find("HTTP/1.1 100 Continue"), std::string::npos);
  e.send(body);
  Response er = e.read_response();
  EXPECT_EQ(er.status, 200);
  EXPECT_NE(er.body.find("\"done\":true"), std::string::npos);
}

TEST_P(Protocol, PipelinedRequestsAnsweredInOrderWithRequestIds) {
  Sim sim;
  Corral corral({sim.url()}, io());
  Client c(corral.port);
  c.send(build_request("GET", "/api/version", "", {"X-Request-Id: first-id"}) +
         build_request("POST", "/api/show", R"({"model":"missing"})", {}) + build_request("GET", "/api/tags", "", {}));
  Response a = c.read_response(), b = c.read_response(), t = c.read_response();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("x-request-id"), "first-id");
  EXPECT_EQ(b.status, 404);
  EXPECT_EQ(t.status, 200);
  EXPECT_NE(t.body.find("\"models\""), std::string::npos);
  EXPECT_FALSE(b.header("x-request-id").empty());
  EXPECT_NE(b.header("x-request-id"), t.header("x-request-id"));
}

// An idle keep-alive connection gives its per-request buffers back after a
// second; the next requests on it (a stream, then a pipelined pair) must not notice.
INSTANTIATE_TEST_SUITE_P(Io, Protocol, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });
