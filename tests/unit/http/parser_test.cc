#include <gtest/gtest.h>

#include <string>

#include "corral/http/parser.h"

using corral::http::Limits;
using corral::http::MessageParser;
using St = MessageParser::Status;

namespace {

struct Parsed {
  St last;
  std::string body;
  size_t used;
};

// Feeds `in` in pieces of `step` bytes, collecting raw body bytes until done or error.
Parsed parse_all(MessageParser& m, const std::string& in, size_t step = 1 << 20) {
  Parsed out{St::more, "", 0};
  size_t pos = 0;
  bool in_body = false;
  while (true) {
    size_t n = std::min(step, in.size() - pos);
    auto r = m.feed(in.data() + pos, n);
    if (in_body) out.body.append(in.data() + pos, r.used);
    pos += r.used;
    out.last = r.status;
    out.used = pos;
    if (r.status == St::error || r.status == St::done) return out;
    if (r.status == St::head) {
      in_body = true;
      continue;
    }
    if (pos >= in.size()) return out;
  }
}


}  // namespace

TEST(Parser, GetWithoutBodyCompletes) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  auto p = parse_all(m, "GET /api/tags?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(p.last, St::done);
  EXPECT_EQ(m.head().method(), "GET");
  EXPECT_EQ(m.head().url(), "/api/tags?x=1");
  EXPECT_EQ(m.head().path(), "/api/tags");
  EXPECT_EQ(m.head().get("HOST"), "a");
}

TEST(Parser, ContentLengthBodyIsRawAndPipelinedRestIsLeft) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  std::string first = "POST /api/chat HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  auto p = parse_all(m, first + "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.last, St::done);
  EXPECT_EQ(p.body, "hello");
  EXPECT_EQ(p.used, first.size());
}

TEST(Parser, ChunkedBodyByteByByteKeepsFraming) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  std::string body = "5\r\nhello\r\n0\r\n\r\n";
  auto p = parse_all(m, "POST /api/generate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body, 1);
  EXPECT_EQ(p.last, St::done);
  EXPECT_EQ(p.body, body);
  EXPECT_TRUE(m.chunked());
}

TEST(Parser, EmptyHeaderValueDoesNotMergeWithNext) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  auto p = parse_all(m, "GET / HTTP/1.1\r\nX-Empty:\r\nX-B: 2\r\n\r\n");
  ASSERT_EQ(p.last, St::done);
  ASSERT_EQ(m.head().header_count(), 2u);
  EXPECT_EQ(m.head().name(0), "X-Empty");
  EXPECT_EQ(m.head().value(0), "");
  EXPECT_EQ(m.head().name(1), "X-B");
  EXPECT_EQ(m.head().value(1), "2");
}

TEST(Parser, NextMessageParsesPipelinedRequests) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  auto p = parse_all(m, two);
  ASSERT_EQ(p.last, St::done);
  EXPECT_EQ(m.head().url(), "/a");
  m.next_message();
  auto q = parse_all(m, two.substr(p.used));
  ASSERT_EQ(q.last, St::done);
  EXPECT_EQ(m.head().url(), "/b");
}

struct BadCase {
  const char* name;
  std::string raw;
  int status;
};

class Rejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(Rejects, WithStatus) {
  MessageParser m(MessageParser::Kind::request, Limits{1024, 10, 100});
  auto p = parse_all(m, GetParam().raw);
  EXPECT_EQ(p.last, St::error) << GetParam().name;
  EXPECT_EQ(m.error_status(), GetParam().status) << GetParam().name << ": " << m.error_text();
}

INSTANTIATE_TEST_SUITE_P(
    Smuggling, Rejects,
    ::testing::Values(
        BadCase{"cl_and_te", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        BadCase{"duplicate_cl", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
        BadCase{"bad_cl", "POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\nabc", 400},
        BadCase{"negative_cl", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        BadCase{"bad_chunk_size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
        BadCase{"te_not_chunked_last", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        BadCase{"obs_fold", "GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
        BadCase{"bare_lf", "GET / HTTP/1.1\nHost: a\n\n", 400},
        BadCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        BadCase{"header_too_large", "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431},
        BadCase{"too_many_headers", [] {
                  std::string s = "GET / HTTP/1.1\r\n";
                  for (int i = 0; i < 12; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
                  return s + "\r\n";
                }(), 431},
        BadCase{"body_too_large_cl", "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413},
        BadCase{"body_too_large_chunked",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + std::string(101, 'a') + "\r\n0\r\n\r\n",
                413}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Parser, ResponseHeadThenChunkedBodyAndSkipBodyForHead) {
  MessageParser m(MessageParser::Kind::response, Limits{});
  std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  auto r = m.feed(resp.data(), resp.size());
  ASSERT_EQ(r.status, St::head);
  EXPECT_EQ(r.used, resp.size());
  m.skip_body();
  auto d = m.feed(resp.data() + r.used, 0);
  EXPECT_EQ(d.status, St::done);
}

TEST(Parser, ResponseUntilEof) {
  MessageParser m(MessageParser::Kind::response, Limits{});
  std::string resp = "HTTP/1.0 200 OK\r\n\r\nabc";
  auto p = parse_all(m, resp);
  EXPECT_EQ(p.last, St::more);
  EXPECT_TRUE(m.body_until_eof());
  EXPECT_EQ(m.finish().status, St::done);
}
