// A backend's answer (the fuzz stream: heads, 1xx, Content-Length, chunked,
// NDJSON and SSE bodies, close-delimited, garbage), cut at random points, into
// upstream::Client and the Session relaying it to a fast or a slow client
// (backpressure pauses the backend). A reference parse of the whole
// stream says what the client must get: the same status and exactly the body
// bytes of that response as the backend sent them (a prefix when it broke off;
// corral's 502 when it broke before any byte was sent),
// never a byte past the response's end; a connection with bytes past the end
// or faulty framing is never pooled; and afterwards nothing is left.
#include <array>

#include "corral/core/log.h"
#include "relay.h"
#include "session_end.h"

using namespace corral;
using fuzz::broken;

namespace {

struct Ask {
  const char* method;
  const char* path;
  const char* body;
};
constexpr std::array<Ask, 5> kAsks = {{
    {"POST", "/api/generate", R"({"model":"m1","prompt":"why is the sky blue?"})"},
    {"POST", "/api/chat", R"({"model":"m1","messages":[{"role":"user","content":"hi"}],"stream":false})"},
    {"POST", "/v1/chat/completions", R"({"model":"m1","messages":[{"role":"user","content":"hi"}],"stream":true})"},
    {"HEAD", "/api/version", ""},
    {"GET", "/api/version", ""},
}};

// upstream::Client's response limits (src/upstream/client.cc).
constexpr http::Limits kResponseLimits{65536, 500, ~0ull};

// What the whole stream is, read in one piece as the client would.
struct Reference {
  int status = 0;      // of the final response, 0 when none
  size_t body_at = 0;  // its first body byte
  size_t end = 0;      // one past its last byte, when done
  bool done = false;
  bool broken = false;   // invalid after the final head
  bool suspect = false;  // framing_suspect()
};

Reference read_whole(std::string_view s, bool head_only, bool closed) {
  using St = http::MessageParser::Status;
  Reference ref;
  http::MessageParser m(http::MessageParser::Kind::response, kResponseLimits);
  size_t pos = 0;
  for (size_t rounds = 0; rounds <= s.size() + 2; ++rounds) {
    auto r = m.feed(s.data() + pos, s.size() - pos);
    if (r.status == St::error) {
      ref.broken = ref.status != 0;
      return ref;
    }
    pos += r.used;
    if (r.status == St::head && m.head().status() >= 200) {
      ref.status = m.head().status();
      ref.body_at = pos;
      if (head_only) m.skip_body();
    } else if (r.status == St::done) {
      if (ref.status == 0) {
        m.next_message();  // an interim answer ended
        continue;
      }
      ref.done = true;
      ref.end = pos;
      ref.suspect = m.framing_suspect();
      return ref;
    } else if (r.status == St::more) {
      if (ref.status && closed && m.body_until_eof() && m.finish().status == St::done) {
        ref.done = true;
        ref.end = s.size();
      }
      return ref;
    }
  }
  return ref;
}

// The body (framing included) without the chunk holding the error object corral ends a
// stream with when its backend died, broke the framing or went silent mid-stream (README:
// "A backend that dies mid-stream"); each of those messages names the backend.
std::string_view without_corral_error(std::string_view body, std::string_view sent) {
  size_t same = 0;
  while (same < body.size() && same < sent.size() && body[same] == sent[same]) ++same;
  std::string_view extra = body.substr(same);
  size_t size_end = extra.find("\r\n");
  if (size_end == extra.npos || !extra.ends_with("\n\r\n") || extra.find("backend http://") == extra.npos) return body;
  extra.remove_prefix(size_end + 2);
  while (extra.starts_with('\n')) extra.remove_prefix(1);
  bool shaped =
      extra.starts_with("{\"error\":") || extra.starts_with("data: {\"error\":") || extra.starts_with("event: error\n");
  return shaped ? body.substr(0, same) : body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (log::set_level(log::Level::error), true);
  (void)quiet;
  fuzz::Input in(data, size);
  const Ask& ask = kAsks[in.options % kAsks.size()];
  bool backend_closes = in.options & 0x80;
  test::Rig rig({{"a", {"m1"}}}, fuzz::kSmallBuffers);
  int c = rig.connect_client();
  rig.send(c, test::http_request(ask.method, ask.path, ask.body));
  int up = rig.accept_upstream();
  bool slow = in.options & 0x40;  // the client reads slowly: the backend is paused and resumed
  rig.loop.peer(c).hold_sends = slow;
  for (size_t pos = 0; pos < in.stream.size() && !rig.loop.peer(up).closed;) {
    size_t n = in.piece(in.stream.size() - pos);
    rig.answer(up, std::string(in.stream.substr(pos, n)));
    pos += n;
    if (slow) fuzz::slow_client_turn(rig, c, in);
  }
  if (backend_closes) {  // after corral read what was sent (it may be paused), the slow client still slow
    for (int i = 0; slow && i < 10000 && !rig.loop.peer(up).closed && !rig.loop.peer(up).inbox.empty(); ++i) {
      fuzz::slow_client_reads(rig, c);
    }
    rig.loop.peer_close(up);
    rig.loop.settle();
  }
  if (slow) fuzz::slow_client_done(rig, c);
  bool head_only = std::string_view(ask.method) == "HEAD";
  Reference ref = read_whole(in.stream, head_only, backend_closes);
  size_t idle_after_answer = rig.pool->idle_count();
  fuzz::run_out_the_clock(rig, [] {});

  std::vector<fuzz::Relayed> got = fuzz::read_responses(rig.to_client(c), true, {head_only});
  if (got.size() != 1) broken("one request got other than one response", rig.to_client(c));
  const fuzz::Relayed& r = got[0];
  if (ref.status == 0) {
    if (r.status != 502 && r.status != 504) broken("no valid answer from the backend, yet not a 502 or 504");
  } else if (ref.broken && r.status == 502 && r.body.find("invalid response from backend") != std::string::npos) {
    // the answer broke before any byte of it was sent (in the head's receive buffer): corral's 502 instead
  } else {
    if (r.status != ref.status) broken("the client got another status than the backend's", rig.to_client(c));
    std::string_view sent = in.stream.substr(ref.body_at);
    std::string_view body = !ref.done ? without_corral_error(r.body, sent) : r.body;
    if (!sent.starts_with(body)) broken("a client got body bytes its backend did not send", r.body);
    if (ref.done && (!r.complete || r.body != in.stream.substr(ref.body_at, ref.end - ref.body_at))) {
      broken("the relayed body differs from the backend's", r.body);
    }
    bool untrusted = !ref.done || ref.suspect || ref.end < in.stream.size();
    if (untrusted && idle_after_answer > 0) broken("a connection that cannot be trusted went back to the pool");
  }
  fuzz::check_nothing_left(rig);
  return 0;
}
