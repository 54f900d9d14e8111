#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "relay.h"

namespace corral::fuzz {

void broken(const char* invariant, std::string_view detail) {
  std::fprintf(stderr, "invariant broken: %s\n%.*s\n", invariant, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::vector<Relayed> read_responses(std::string_view in, bool closed, const std::vector<bool>& head_only) {
  using St = http::MessageParser::Status;
  std::vector<Relayed> out;
  http::MessageParser m(http::MessageParser::Kind::response, http::Limits{1u << 20, 1000, ~0ull});
  Relayed cur;
  bool in_body = false;
  size_t pos = 0;
  for (size_t rounds = 0; rounds <= in.size() + 2; ++rounds) {
    auto r = m.feed(in.data() + pos, in.size() - pos);
    if (r.used > in.size() - pos) broken("parser used more bytes than it was given");
    if (r.status == St::error) broken("a client received bytes that are not HTTP/1", m.error_text());
    if (in_body) cur.body.append(in.data() + pos, r.used);
    pos += r.used;
    if (r.status == St::head) {
      if (m.head().status() < 200) continue;  // an interim answer: its end follows
      cur.status = m.head().status();
      cur.marker.assign(m.head().get(kMarker));
      if (out.size() < head_only.size() && head_only[out.size()]) m.skip_body();
      in_body = true;
    } else if (r.status == St::done) {
      if (in_body) {
        cur.complete = true;
        out.push_back(std::move(cur));
        cur = Relayed{};
        in_body = false;
      }
      m.next_message();
    } else if (pos >= in.size()) {
      if (in_body) {
        cur.complete = closed && m.body_until_eof() && m.finish().status == St::done;
        out.push_back(std::move(cur));
      }
      return out;
    }
  }
  broken("reading the client's responses made no progress");
}

std::vector<std::string> request_methods(std::string_view in, const http::Limits& limits) {
  using St = http::MessageParser::Status;
  std::vector<std::string> methods;
  http::MessageParser m(http::MessageParser::Kind::request, limits);
  size_t pos = 0;
  while (pos < in.size()) {
    auto r = m.feed(in.data() + pos, in.size() - pos);
    if (r.status == St::error) break;
    pos += r.used;
    if (r.status == St::done) {
      methods.emplace_back(m.head().method());
      m.next_message();
    } else if (r.status == St::more) {
      break;
    }
  }
  return methods;
}

}  // namespace corral::fuzz
