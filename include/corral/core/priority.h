// Idle CPU priority for background threads. A thread at SCHED_IDLE runs only on CPU
// time no other thread wants, and a waking worker always preempts it at once; at
// normal priority the same thread could hold a CPU for a scheduler slice while a
// worker that woke there waits (the c=1 tail analytics once added).
//
// Leaving SCHED_IDLE again takes CAP_SYS_NICE or an RLIMIT_NICE of 20 or more. Where
// neither is there, a thread that entered it could never be raised when it falls
// behind, so it stays at normal priority instead (lower() says so).
#pragma once
#include <sys/types.h>

#include <atomic>

namespace corral::core {

// Whether this process may leave SCHED_IDLE again (tried once, on a scratch thread).
bool idle_priority_reversible();

class BackgroundPriority {
 public:
  // The calling thread becomes the one this object lowers and raises.
  void attach();
  // On that thread: idle priority; false where it stays normal (not reversible).
  bool lower();
  // Any thread: normal priority now, if it is idle. Cheap when it is not (one atomic load).
  void raise() noexcept;
  bool idle() const { return idle_.load(std::memory_order_acquire); }

 private:
  pid_t tid_ = 0;
  std::atomic<bool> idle_{false};
};

}  // namespace corral::core
