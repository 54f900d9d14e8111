// Bytes into http::MessageParser, requests or responses, fed whole and cut at
// random points, several messages in a row as on a kept-alive connection.
// Invariants: feed() never reports using more bytes than it was given, and
// what the parser sees (heads, body bytes, ends, errors) does not depend on
// how the bytes were cut.
#include <string>

#include "corral/http/parser.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

namespace {

using St = http::MessageParser::Status;

struct Setup {
  http::MessageParser::Kind kind;
  http::Limits limits;
  bool skip_body;  // responses answer HEAD requests
  bool finish;     // the peer closes after the last byte
};

Setup setup_of(uint8_t options) {
  Setup s;
  s.kind = options & 1 ? http::MessageParser::Kind::response : http::MessageParser::Kind::request;
  s.limits = options & 2 ? http::Limits{1024, 10, 100} : http::Limits{};
  s.skip_body = s.kind == http::MessageParser::Kind::response && (options & 4);
  s.finish = options & 8;
  return s;
}

void describe_head(const http::Head& h, std::string& log) {
  log.append("head ").append(h.method()).append(" ").append(h.url()).append(" ").append(std::to_string(h.status()));
  log.append(" 1.").append(std::to_string(h.http_minor()));
  for (size_t i = 0; i < h.header_count(); ++i) log.append("|").append(h.name(i)).append(":").append(h.value(i));
  log.append("\n");
}

// Feeds the stream in pieces (one piece when whole) as Session and upstream::Client do: each piece to its end,
// the next message after each one ends. What happened, one line per event.
std::string parse(fuzz::Input in, bool whole, const Setup& s) {
  http::MessageParser m(s.kind, s.limits);
  std::string log, body;
  bool in_body = false;
  std::string_view rest = in.stream;
  while (!rest.empty()) {
    std::string_view piece = rest.substr(0, whole ? rest.size() : in.piece(rest.size()));
    rest.remove_prefix(piece.size());
    for (size_t rounds = 0;; ++rounds) {  // after a head or an end, on with what is left (maybe nothing)
      if (rounds > 2 * in.stream.size() + 8) broken("the parser makes no progress");
      auto r = m.feed(piece.data(), piece.size());
      if (r.used > piece.size()) broken("feed() used more bytes than it was given");
      if (r.status == St::error) return log + "error\n";
      if (in_body) body.append(piece.data(), r.used);
      piece.remove_prefix(r.used);
      if (r.status == St::head) {
        describe_head(m.head(), log);
        if (s.skip_body) m.skip_body();
        in_body = true;
      } else if (r.status == St::done) {
        log.append("body ").append(body).append(m.framing_suspect() ? "\nsuspect\n" : "\ndone\n");
        body.clear();
        in_body = false;
        m.next_message();
      } else {
        break;
      }
    }
  }
  if (s.finish) log.append(m.finish().status == St::done ? "finished " + body + "\n" : "unfinished\n");
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  Setup s = setup_of(in.options);
  std::string whole = parse(in, true, s);
  std::string cut = parse(in, false, s);
  if (whole != cut) broken("cutting the input changed what the parser saw", "whole:\n" + whole + "cut:\n" + cut);
  return 0;
}
