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
#include <cstdint>

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

// SCHED_IDLE orders only the threads of one scheduling group. Against a task of another group
// (corral as a systemd service, in a container, or in a session of its own under autogroup)
// the kernel compares the groups, not the threads, and an idle-priority thread keeps its CPU
// for a whole slice, milliseconds, while the woken task waits (perf sched: store batches ran
// 2-4 ms while the origin and the client waited as long). A background thread that calls
// step() between small units of work runs at most run_us at a time while slicing is on, then
// sleeps nap_us, and whatever waited runs.
class RunSlice {
 public:
  RunSlice(int64_t run_us, int64_t nap_us) : run_us_(run_us), nap_us_(nap_us) {}
  // On the thread that steps: slicing on or off (off, step() is one branch).
  void on(bool yes);
  // Between two units of work: a nap once run_us have passed since the last one (or since on).
  void step();
  // Naps taken so far (any thread).
  uint64_t naps() const { return naps_.load(std::memory_order_relaxed); }

 private:
  int64_t run_us_, nap_us_;
  int64_t since_us_ = 0;
  bool on_ = false;
  std::atomic<uint64_t> naps_{0};
};

}  // namespace corral::core
