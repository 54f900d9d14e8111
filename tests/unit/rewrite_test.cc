#include <gtest/gtest.h>

#include <memory>

#include "corral/http/parser.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/endpoint.h"
#include "corral/proxy/stream_stats.h"

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
  http::ForwardInfo fi{proxy::kProxyPrefix, "127.0.0.1:11435", "127.0.0.7", "rid-1"};
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
  auto m = parsed("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
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
  EXPECT_EQ(http::usable_request_id(parsed("GET / HTTP/1.1\r\nX-Request-Id: " + std::string(200, 'a') + "\r\n\r\n")->head()), "");
}

TEST(Endpoint, ClassifiesApiRoutes) {
  EXPECT_EQ(proxy::classify("/api/generate"), proxy::kGenerate);
  EXPECT_EQ(proxy::classify("/proxy/api/chat"), proxy::kChat);
  EXPECT_EQ(proxy::classify("/v1/chat/completions"), proxy::kOaiChat);
  EXPECT_EQ(proxy::classify("/v1/models/llama3.2"), proxy::kOaiModels);
  EXPECT_EQ(proxy::classify("/api/blobs/sha256:abc"), proxy::kBlobs);
  EXPECT_EQ(proxy::classify("/etc/passwd"), proxy::kOther);
}

TEST(StreamStats, OllamaFinalNdjsonObject) {
  std::string tail =
      "{\"model\":\"m\",\"response\":\"x\",\"done\":false}\n"
      "{\"model\":\"m\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\",\"total_duration\":5000,"
      "\"load_duration\":100,\"prompt_eval_count\":26,\"prompt_eval_duration\":300,\"eval_count\":290,"
      "\"eval_duration\":4000}\n";
  auto s = proxy::extract_final_stats(tail);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.prompt_tokens, 26);
  EXPECT_EQ(s.completion_tokens, 290);
  EXPECT_EQ(s.total_duration_ns, 5000);
  EXPECT_EQ(s.load_duration_ns, 100);
  EXPECT_EQ(s.prompt_eval_duration_ns, 300);
  EXPECT_EQ(s.eval_duration_ns, 4000);
}

TEST(StreamStats, OpenAiSseUsageChunk) {
  std::string tail =
      "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
      "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n"
      "data: [DONE]\n\n";
  auto s = proxy::extract_final_stats(tail);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.prompt_tokens, 11);
  EXPECT_EQ(s.completion_tokens, 7);
}

TEST(StreamStats, NothingInPlainText) {
  EXPECT_FALSE(proxy::extract_final_stats("Ollama is running").found);
}

TEST(StreamStats, BodySampleKeepsOnlyTheEnd) {
  proxy::BodySample t;
  std::string big(5000, 'a');
  t.on_body(big.data(), big.size());
  t.on_body("xyz", 3);
  EXPECT_EQ(t.tail().size(), proxy::BodySample::kTailBytes);
  EXPECT_EQ(t.tail().substr(t.tail().size() - 3), "xyz");
  EXPECT_TRUE(t.head().empty());  // no head asked for
}

TEST(StreamStats, BodySampleKeepsTheFirstBytesWhenAsked) {
  proxy::BodySample t;
  t.clear(6);
  t.on_body("abcd", 4);
  t.on_body("efgh", 4);
  EXPECT_EQ(t.head(), "abcdef");
  EXPECT_EQ(t.tail(), "abcdefgh");
  t.clear(0);
  EXPECT_TRUE(t.head().empty());
}
