// The end of a session target's run: the clock runs past every timeout, after
// which no session may be left, no connection open and no receive buffer out.
#pragma once
#include "../unit/proxy/rig.h"
#include "fuzz_input.h"

namespace corral::fuzz {

// Small buffers: backpressure (8 buffers queued for a slow client) is reached within a fuzz input.
inline constexpr char kSmallBuffers[] = "buffers: {size: 1024}\n";

// A client that reads slowly: its sends stay in flight until the fuzz input lets one go.
inline void slow_client_reads(test::Rig& rig, int client) {
  if (rig.loop.peer(client).gone) return;
  rig.loop.release_sends(client);
  rig.loop.settle();
  rig.loop.peer(client).hold_sends = true;
}

inline void slow_client_turn(test::Rig& rig, int client, Input& in) {
  if ((in.next() & 31) == 0) slow_client_reads(rig, client);
}

inline void slow_client_done(test::Rig& rig, int client) {
  rig.loop.peer(client).hold_sends = false;
  if (!rig.loop.peer(client).gone) rig.loop.release_sends(client);
  rig.loop.settle();
}

// serve: the backends' turn between ticks (may be empty).
template <typename Serve>
void run_out_the_clock(test::Rig& rig, Serve serve) {
  for (int i = 0; i < 1000 && rig.ctx.session_count > 0; ++i) {
    rig.tick(400000);  // longer than any timeout
    serve();
  }
  if (rig.ctx.session_count > 0) broken("a session outlived every timeout");
}

inline void check_nothing_left(test::Rig& rig) {
  rig.pool->drain();
  rig.loop.settle();
  if (rig.pool->live() != 0) broken("an upstream connection is still open after every session ended");
  if (rig.loop.buffers_out() != 0) broken("a receive buffer was never given back");
}

}  // namespace corral::fuzz
