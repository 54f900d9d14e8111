// Client byte streams into a Session on the fake loop, cut at random points:
// heads, fixed and chunked bodies, pipelining, whatever the fuzzer makes of
// them, against two scripted backends (see backends.h), read by a fast or a
// slow client (backpressure). Invariants: corral
// forwards only valid HTTP/1.1, sends its client only valid responses, never
// a body byte of a proxied answer that its backend did not send, and once the
// clock runs past every timeout nothing is left: no session, connection or buffer.
#include "backends.h"
#include "corral/core/log.h"
#include "relay.h"
#include "session_end.h"

using namespace corral;
using fuzz::broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (log::set_level(log::Level::error), true);
  (void)quiet;
  fuzz::Input in(data, size);
  test::Rig rig({{"a", {"m1"}}, {"b", {"m1"}}}, fuzz::kSmallBuffers);
  fuzz::ScriptedBackends backends(rig, in);
  int c = rig.connect_client();
  bool slow = (in.options & 0x30) == 0x30;
  rig.loop.peer(c).hold_sends = slow;
  for (size_t pos = 0; pos < in.stream.size() && !rig.loop.peer(c).closed;) {
    size_t n = in.piece(in.stream.size() - pos);
    rig.send(c, std::string(in.stream.substr(pos, n)));
    pos += n;
    backends.serve();
    if (slow) fuzz::slow_client_turn(rig, c, in);
  }
  if (in.options & 0x80) {  // the client half-closes after its last byte (a slow one with sends in flight)
    rig.loop.peer_close(c);
    rig.loop.settle();
  }
  if (slow) fuzz::slow_client_done(rig, c);
  backends.serve();
  fuzz::run_out_the_clock(rig, [&] { backends.serve(); });

  std::vector<bool> head_only;
  for (const std::string& m : fuzz::request_methods(in.stream, rig.ctx.limits)) head_only.push_back(m == "HEAD");
  for (const fuzz::Relayed& r : fuzz::read_responses(rig.to_client(c), true, head_only)) {
    if (r.marker.empty()) continue;  // corral's own answer
    const std::string* sent = backends.body_of(r.marker);
    if (!sent) broken("a client got a backend answer no backend sent", r.marker);
    if (!sent->starts_with(r.body)) broken("a client got body bytes its backend did not send", r.body);
    if (r.complete && r.body != *sent) broken("a complete answer lost body bytes on the way", r.body);
  }
  fuzz::check_nothing_left(rig);
  return 0;
}
