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
  std::string first = "POST /api/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  auto p = parse_all(m, first + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(p.last, St::done);
  EXPECT_EQ(p.body, "hello");
  EXPECT_EQ(p.used, first.size());
}

TEST(Parser, ChunkedBodyByteByByteKeepsFraming) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  std::string body = "5\r\nhello\r\n0\r\n\r\n";
  auto p = parse_all(m, "POST /api/generate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body, 1);
  EXPECT_EQ(p.last, St::done);
  EXPECT_EQ(p.body, body);
  EXPECT_TRUE(m.chunked());
}

TEST(Parser, EmptyHeaderValueDoesNotMergeWithNext) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  auto p = parse_all(m, "GET / HTTP/1.1\r\nX-Empty:\r\nX-B: 2\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.last, St::done);
  ASSERT_EQ(m.head().header_count(), 3u);
  EXPECT_EQ(m.head().name(0), "X-Empty");
  EXPECT_EQ(m.head().value(0), "");
  EXPECT_EQ(m.head().name(1), "X-B");
  EXPECT_EQ(m.head().value(1), "2");
}

TEST(Parser, NextMessageParsesPipelinedRequests) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  std::string two = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
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
        BadCase{"cl_and_te",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        BadCase{"duplicate_cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                400},
        BadCase{"bad_cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc", 400},
        BadCase{"negative_cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        BadCase{"bad_chunk_size",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
        BadCase{"te_not_chunked_last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        BadCase{"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
        BadCase{"bare_lf", "GET / HTTP/1.1\nHost: a\n\n", 400},
        BadCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        BadCase{"header_too_large", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431},
        BadCase{"too_many_headers",
                [] {
                  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
                  for (int i = 0; i < 11; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
                  return s + "\r\n";
                }(),
                431},
        BadCase{"body_too_large_cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 413},
        BadCase{"body_too_large_chunked",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + std::string(101, 'a') +
                    "\r\n0\r\n\r\n",
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

// RFC 9112 checks, each named by the section that asks for it.
namespace {

// The error status a request gets (0 when it parses to the end), fed whole and byte by byte.
int request_status(const std::string& raw) {
  int whole = -1;
  for (size_t step : {size_t(1) << 20, size_t(1)}) {
    MessageParser m(MessageParser::Kind::request, Limits{});
    auto p = parse_all(m, raw, step);
    int status = p.last == St::error ? m.error_status() : p.last == St::done ? 0 : -1;
    if (whole == -1) whole = status;
    EXPECT_EQ(status, whole) << "split changes the outcome of " << raw;
  }
  return whole;
}

std::string post_with(const std::string& version, const std::string& headers, const std::string& body = "0\r\n\r\n") {
  return "POST /api/generate " + version + "\r\n" + headers + "\r\n" + body;
}

}  // namespace

TEST(Rfc9112, Section3_2_Http11RequestWithoutHostIs400) {
  EXPECT_EQ(request_status("GET /api/tags HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400);
  EXPECT_EQ(request_status("GET /api/tags HTTP/1.1\r\nAccept: */*\r\nHost: a\r\n\r\n"), 0);
}

TEST(Rfc9112, Section3_2_Http10RequestMayOmitHost) { EXPECT_EQ(request_status("GET /api/tags HTTP/1.0\r\n\r\n"), 0); }

TEST(Rfc9112, Section3_2_MoreThanOneHostLineIs400) {
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
  EXPECT_EQ(request_status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

TEST(Rfc9112, Section3_2_HostWithAnInvalidValueIs400) {
  for (const char* bad : {"a b", "a/b", "a@b", "a:8x", "[::1", "[]", "a?b", "a#b", "[::1]x", "a%4"}) {
    EXPECT_EQ(request_status(std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n"), 400) << bad;
  }
  for (const char* good : {"", "localhost:11434", "127.0.0.1", "[::1]:11434", "ollama.svc.cluster.local", "a%41b",
                           "xn--bcher-kva.example:80"}) {
    EXPECT_EQ(request_status(std::string("GET / HTTP/1.1\r\nHost: ") + good + "\r\n\r\n"), 0) << good;
  }
}

// RFC 9112 §5.1 / RFC 9110 §5.1: a field name is a token, at least one tchar.
TEST(Rfc9112, Section5_EmptyFieldNameIs400) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  auto p = parse_all(m, "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n");
  EXPECT_EQ(p.last, St::error);
  EXPECT_EQ(m.error_status(), 400);
  EXPECT_NE(m.error_text().find("empty header field name"), std::string::npos) << m.error_text();
}

TEST(Rfc9112, Section6_1_TransferEncodingInHttp10RequestIs400) {
  EXPECT_EQ(request_status(post_with("HTTP/1.0", "Transfer-Encoding: chunked\r\n")), 400);
  EXPECT_EQ(request_status(post_with("HTTP/1.0", "Host: a\r\nTransfer-Encoding: chunked\r\n")), 400);
  EXPECT_EQ(request_status(post_with("HTTP/1.0", "Content-Length: 5\r\n", "hello")), 0);
}

TEST(Rfc9112, Section6_3_RequestTransferEncodingNotEndingInChunkedIs400) {
  for (const char* te : {"gzip", "chunked, gzip", "identity", ""}) {
    EXPECT_EQ(request_status(post_with("HTTP/1.1", std::string("Host: a\r\nTransfer-Encoding: ") + te + "\r\n")), 400)
        << "Transfer-Encoding: " << te;
  }
}

// §6.1: "A server that receives a request message with a transfer coding it does not understand SHOULD respond with
// 501": corral forwards the body as it came and reads it for routing, so only chunked is accepted.
TEST(Rfc9112, Section6_1_RequestCodingOtherThanChunkedIs501) {
  EXPECT_EQ(request_status(post_with("HTTP/1.1", "Host: a\r\nTransfer-Encoding: gzip, chunked\r\n")), 501);
  EXPECT_EQ(request_status(post_with("HTTP/1.1", "Host: a\r\nTransfer-Encoding: CHUNKED\r\n")), 0);
}

// §6.3 rule 5: a Content-Length that is not one number is unrecoverable (corral does not merge equal lists).
TEST(Rfc9112, Section6_3_ContentLengthThatIsNotANumberIs400) {
  for (const char* cl : {"5, 5", "5,6", "+5", "0x5", "5 5", "", "five", "99999999999999999999999"}) {
    EXPECT_EQ(request_status(post_with("HTTP/1.1", std::string("Host: a\r\nContent-Length: ") + cl + "\r\n", "hello")),
              400)
        << "Content-Length: " << cl;
  }
  EXPECT_EQ(request_status(post_with("HTTP/1.1", "Host: a\r\nContent-Length: 5 \r\n", "hello")), 0);  // trailing OWS
}

// §2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore at least one empty line (CRLF)
// received prior to the request-line"; a bare LF there is an empty line too (§2.2 lets a recipient take LF alone).
TEST(Rfc9112, Section2_2_EmptyLinesBeforeTheRequestLineAreIgnored) {
  EXPECT_EQ(request_status("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(request_status("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  MessageParser m(MessageParser::Kind::request, Limits{});
  auto r = m.feed("\r\n", 2);
  EXPECT_EQ(r.status, St::more);
  EXPECT_EQ(r.used, 2u);
  EXPECT_FALSE(m.message_begun()) << "an empty line is not a request";
  auto g = m.feed("G", 1);
  EXPECT_EQ(g.status, St::more);
  EXPECT_TRUE(m.message_begun());
}

TEST(Rfc9112, Section2_2_EmptyLineBetweenPipelinedRequestsIsIgnored) {
  MessageParser m(MessageParser::Kind::request, Limits{});
  std::string first = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
  std::string in = first + "\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  auto p = parse_all(m, in);
  ASSERT_EQ(p.last, St::done);
  ASSERT_EQ(p.used, first.size());
  m.next_message();
  auto q = parse_all(m, in.substr(p.used));
  ASSERT_EQ(q.last, St::done);
  EXPECT_EQ(m.head().url(), "/b");
}

TEST(Rfc9112, Section2_2_BareCrOrEndlessEmptyLinesAre400) {
  EXPECT_EQ(request_status("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  MessageParser m(MessageParser::Kind::request, Limits{1024, 10, 100});
  std::string lines;
  for (int i = 0; i < 600; ++i) lines += "\r\n";
  auto p = parse_all(m, lines + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(p.last, St::error);
  EXPECT_EQ(m.error_status(), 400);
}

// §2.3: corral speaks HTTP/1.x; RFC 9110 §15.6.6 names 505 for the rest.
TEST(Rfc9112, Section2_3_OtherMajorVersionsAre505) {
  EXPECT_EQ(request_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(request_status("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
}

// §7.1: chunk extensions are ignored, a chunk size is hexadecimal and may not overflow.
TEST(Rfc9112, Section7_1_ChunkExtensionsAndTrailersAreReadAndBadSizesAre400) {
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(request_status(head + "1;name=value\r\nx\r\n0\r\nX-Trailer: t\r\n\r\n"), 0);
  EXPECT_EQ(request_status(head + "ffffffffffffffffff\r\n"), 400);
  EXPECT_EQ(request_status(head + "1 \r\nx\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(request_status(head + "1\r\nxy0\r\n\r\n"), 400);
  EXPECT_EQ(request_status(head + "-1\r\nx\r\n0\r\n\r\n"), 400);
}

// Response side. §6.3 rule 3: a message with both Transfer-Encoding and Content-Length "ought to be handled as an
// error"; rule 5: a proxy that receives invalid framing closes the connection to the server, discards the response
// and answers 502. corral takes both as a parse error (upstream::Client: bad_response, never reused).
TEST(Rfc9112, Section6_3_ResponseWithContentLengthAndTransferEncodingIsAnError) {
  for (const char* head : {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"}) {
    MessageParser m(MessageParser::Kind::response, Limits{});
    auto p = parse_all(m, std::string(head) + "0\r\n\r\n");
    EXPECT_EQ(p.last, St::error) << head;
  }
}

TEST(Rfc9112, Section6_3_ResponseContentLengthListOrInvalidChunkIsAnError) {
  for (const char* raw : {"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n"}) {
    MessageParser m(MessageParser::Kind::response, Limits{});
    EXPECT_EQ(parse_all(m, raw).last, St::error) << raw;
  }
}

// §6.1: "A server or client that receives an HTTP/1.0 message containing a Transfer-Encoding header field MUST treat
// the message as if the framing is faulty, even if a Content-Length is present, and close the connection after
// processing the message": the response is read, framing_suspect() keeps its connection out of the pool.
TEST(Rfc9112, Section6_1_Http10ResponseWithTransferEncodingIsFramingSuspect) {
  MessageParser m(MessageParser::Kind::response, Limits{});
  auto p = parse_all(m, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(p.last, St::done);
  EXPECT_TRUE(m.framing_suspect());
  m.next_message();
  auto q = parse_all(m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(q.last, St::done);
  EXPECT_FALSE(m.framing_suspect());
}

// Found by fuzz-session_upstream (UBSan: llhttp computes data + len on a null pointer): an empty
// std::string_view hands feed() nullptr with n = 0; that is nothing to read, not undefined behaviour.
TEST(Parser, FeedingNothingFromANullPointerIsNothing) {
  MessageParser m(MessageParser::Kind::response, Limits{});
  auto r = m.feed(std::string_view().data(), 0);
  EXPECT_EQ(r.status, St::more);
  EXPECT_EQ(r.used, 0u);
  EXPECT_EQ(parse_all(m, "HTTP/1.1 204 No Content\r\n\r\n").last, St::done);
}

// Found by fuzz-http_parser: each on_field call counted ": " and CRLF, so a header name cut in two pieces
// counted them twice and a head just under max_header_bytes was refused or not depending on the cuts.
TEST(Parser, HeaderSizeLimitDoesNotDependOnTheCuts) {
  for (size_t n = 980; n < 1010; ++n) {
    std::string raw = "GET / HTTP/1.1\r\nHost: corral\r\nX-Big: " + std::string(n, 'a') + "\r\n\r\n";
    MessageParser whole(MessageParser::Kind::request, Limits{1024, 10, 100});
    MessageParser cut(MessageParser::Kind::request, Limits{1024, 10, 100});
    EXPECT_EQ(parse_all(whole, raw).last, parse_all(cut, raw, 1).last) << n;
  }
}

// The parser never claims more bytes than it was given, whatever the input (the fuzz targets check it too).
TEST(Parser, NeverUsesMoreBytesThanGiven) {
  for (const std::string& raw : {std::string("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET"), std::string("\r\n\r\nXX"),
                                 std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nab")}) {
    MessageParser m(MessageParser::Kind::request, Limits{});
    for (size_t i = 0; i < raw.size();) {
      auto r = m.feed(raw.data() + i, raw.size() - i);
      ASSERT_LE(r.used, raw.size() - i);
      if (r.status == St::error || r.status == St::done || r.used == 0) break;
      i += r.used;
    }
  }
}
