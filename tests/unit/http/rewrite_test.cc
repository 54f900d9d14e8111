#include <gtest/gtest.h>

#include <memory>

#include "corral/http/parser.h"
#include "corral/http/rewrite.h"

using namespace corral;

namespace {
std::unique_ptr<http::MessageParser> parsed(const std::string& raw,
                                            http::MessageParser::Kind k = http::MessageParser::Kind::request) {
  auto m = std::make_unique<http::MessageParser>(k, http::Limits{});
  m->feed(raw.data(), raw.size());
  return m;
}
}  // namespace

TEST(Rewrite, UpstreamRequestDropsHopByHopAndAddsForwarding) {
  auto m = parsed(
      "POST /proxy/api/chat?x=1 HTTP/1.1\r\nHost: corral.example:11434\r\nConnection: keep-alive, X-Secret\r\n"
      "X-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nExpect: 100-continue\r\n"
      "X-Forwarded-For: 10.0.0.9\r\nAuthorization: Bearer k\r\nContent-Length: 2\r\n\r\n");
  std::string out;
  http::ForwardInfo fi;
  fi.path_prefix_strip = "/proxy";
  fi.upstream_host = "127.0.0.1:11435";
  fi.client_ip = "127.0.0.7";
  fi.request_id = "rid-1";
  http::build_upstream_request(m->head(), fi, out);
  EXPECT_EQ(out,
            "POST /api/chat?x=1 HTTP/1.1\r\n"
            "Authorization: Bearer k\r\n"
            "Content-Length: 2\r\n"
            "Host: 127.0.0.1:11435\r\n"
            "X-Forwarded-Host: corral.example:11434\r\n"
            "X-Forwarded-For: 10.0.0.9, 127.0.0.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Request-Id: rid-1\r\n\r\n");
}

TEST(Rewrite, ClientResponseKeepsFramingAndSetsRequestId) {
  auto m = parsed(
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
      "Connection: keep-alive\r\nX-Request-Id: upstream\r\n\r\n",
      http::MessageParser::Kind::response);
  std::string out;
  http::build_client_response(m->head(), "rid-2", true, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
            "X-Request-Id: rid-2\r\nConnection: close\r\n\r\n");
}

TEST(Rewrite, RequestIdFromClientOnlyWhenSane) {
  EXPECT_EQ(http::usable_request_id(parsed("GET / HTTP/1.1\r\nX-Request-Id: abc-123\r\n\r\n")->head()), "abc-123");
  EXPECT_EQ(
      http::usable_request_id(parsed("GET / HTTP/1.1\r\nX-Request-Id: " + std::string(200, 'a') + "\r\n\r\n")->head()),
      "");
}
