// A backend that dies mid-stream, as the client sees it: its answer ends
// without the terminating zero-length chunk, and a streamed NDJSON or SSE
// answer ends with an error object in its API's shape before the close.
#include <gtest/gtest.h>

#include "rig.h"

using namespace corral;
using test::http_request;
using test::Rig;

namespace {

const std::string kGen = R"({"model":"m1","prompt":"hi"})";
const std::string kChat = R"({"model":"m1","messages":[{"role":"user","content":"hi"}],"stream":true})";

// The client's answer after the backend sent `head` and `body` and closed.
std::string answer_after_death(const std::string& path, const std::string& request, const std::string& head,
                               const std::string& body) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", path, request));
  int up = rig.accept_upstream();
  rig.answer(up, head + body);
  rig.loop.peer_close(up);
  rig.loop.settle();
  EXPECT_TRUE(rig.loop.peer(c).closed) << "the client's connection stays open";
  EXPECT_EQ(rig.pool->idle_count(), 0u);
  EXPECT_EQ(rig.loop.buffers_out(), 0);
  return rig.to_client(c);
}

const std::string kNdjsonHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kSseHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string chunk(const std::string& data) {
  char len[20];
  std::snprintf(len, sizeof len, "%zx\r\n", data.size());
  return len + data + "\r\n";
}

}  // namespace

TEST(MidStream, NdjsonEndsWithAnOllamaErrorLineAndNoLastChunk) {
  std::string line = chunk(R"({"response":"The","done":false})"
                           "\n");
  std::string got = answer_after_death("/api/generate", kGen, kNdjsonHead, line);
  std::string error = R"({"error":"backend http://127.0.0.1:)";
  size_t at = got.rfind(line);
  ASSERT_NE(at, std::string::npos) << got;
  std::string tail = got.substr(at + line.size());
  EXPECT_NE(tail.find(error), std::string::npos) << tail;
  EXPECT_NE(tail.find("closed the connection mid-stream\"}\n\r\n"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("0\r\n\r\n"), std::string::npos) << "a terminating chunk: " << tail;
}

TEST(MidStream, OpenAiSseEndsWithAnErrorEventAndNoLastChunk) {
  std::string event = chunk("data: {\"choices\":[{\"delta\":{\"content\":\"The\"}}]}\n\n");
  std::string got = answer_after_death("/v1/chat/completions", kChat, kSseHead, event);
  size_t at = got.rfind(event);
  ASSERT_NE(at, std::string::npos) << got;
  std::string tail = got.substr(at + event.size());
  EXPECT_NE(tail.find("data: {\"error\":{\"message\":\"backend "), std::string::npos) << tail;
  EXPECT_TRUE(tail.ends_with("}}\n\n\r\n")) << tail;
  EXPECT_EQ(tail.find("0\r\n\r\n"), std::string::npos) << tail;
}

// Cut inside a chunk: no chunk of corral's own can follow, the truncated framing tells.
TEST(MidStream, DeathInsideAChunkEndsWithTheBytesSentAndNothingElse) {
  std::string got = answer_after_death("/api/generate", kGen, kNdjsonHead, "20\r\n{\"response\":\"Th");
  EXPECT_TRUE(got.ends_with("20\r\n{\"response\":\"Th")) << got;
}

// A line cut short between chunks: the error object goes on a line of its own.
TEST(MidStream, DeathAfterAPartialLinePutsTheErrorOnItsOwnLine) {
  std::string part = chunk(R"({"response":"Th)");
  std::string got = answer_after_death("/api/generate", kGen, kNdjsonHead, part);
  size_t at = got.rfind(part);
  ASSERT_NE(at, std::string::npos) << got;
  EXPECT_NE(got.find("\n{\"error\":\"backend ", at + part.size()), std::string::npos) << got;
}

// A chunk's size line ends one receive buffer; the next holds its data and then bytes that
// are no chunk framing. That buffer is not relayed, so the client's bytes end inside the
// chunk: no chunk of corral's own may follow (found by fuzz-session_upstream).
TEST(MidStream, AnUnparsableBufferAfterASizeLineAddsNoChunkOfCorrals) {
  Rig rig({{"a", {"m1"}}});
  int c = rig.connect_client();
  rig.send(c, http_request("POST", "/api/generate", kGen));
  int up = rig.accept_upstream();
  std::string line = chunk(R"({"response":"The","done":false})"
                           "\n");
  rig.answer(up, kNdjsonHead + line + "2\r\n");
  rig.answer(up, "xx{}\r\n0\rjunk");  // the 2 bytes, then no CRLF: not HTTP/1 framing
  rig.loop.settle();
  EXPECT_TRUE(rig.loop.peer(c).closed);
  std::string got = rig.to_client(c);
  EXPECT_TRUE(got.ends_with(line + "2\r\n")) << got;
  EXPECT_EQ(got.find("{\"error\""), std::string::npos) << got;
  EXPECT_EQ(rig.loop.buffers_out(), 0);
}
