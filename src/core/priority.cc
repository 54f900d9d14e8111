#include "corral/core/priority.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <thread>

#include "corral/core/clock.h"

namespace corral::core {
namespace {
bool set_policy(pid_t tid, int policy) {
  sched_param p{};
  return sched_setscheduler(tid, policy, &p) == 0;
}
}  // namespace

bool idle_priority_reversible() {
  static const bool reversible = [] {
    bool back = false;
    std::thread probe([&] { back = set_policy(0, SCHED_IDLE) && set_policy(0, SCHED_OTHER); });
    probe.join();
    return back;
  }();
  return reversible;
}

void BackgroundPriority::attach() { tid_ = gettid(); }

// Policy first, flag second: a raise() that reads the flag in between misses this
// round, and the next push past its mark raises it. Set every time (a syscall per
// round): a raise() racing the last one may have left the flag set on a normal thread.
bool BackgroundPriority::lower() {
  if (!idle_priority_reversible() || !set_policy(tid_, SCHED_IDLE)) return false;
  idle_.store(true, std::memory_order_release);
  return true;
}

void BackgroundPriority::raise() noexcept {
  if (!idle() || !idle_.exchange(false, std::memory_order_acq_rel)) return;
  set_policy(tid_, SCHED_OTHER);
}

void RunSlice::on(bool yes) {
  if (yes && !on_) since_us_ = mono_us();
  on_ = yes;
}

void RunSlice::step() {
  if (!on_) return;
  int64_t now = mono_us();
  if (now - since_us_ < run_us_) return;
  timespec nap{0, long(nap_us_) * 1000};
  nanosleep(&nap, nullptr);
  naps_.fetch_add(1, std::memory_order_relaxed);
  since_us_ = mono_us();
}

}  // namespace corral::core
