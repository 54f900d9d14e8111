// core::BackgroundPriority on real threads: idle CPU priority (SCHED_IDLE) once
// lowered, normal again when another thread raises it; core::RunSlice's naps.
#include "corral/core/priority.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using corral::core::BackgroundPriority;

namespace {
// A thread that attaches to p, lowers it, and then waits until told to lower again or stop.
struct Background {
  BackgroundPriority p;
  std::atomic<pid_t> tid{0};
  std::atomic<int> lowers{0}, asked{1};
  std::atomic<bool> stop{false}, lowered{false};
  std::thread t{[this] {
    p.attach();
    tid = gettid();
    for (int done = 0; !stop;) {
      if (done < asked) {
        lowered = p.lower();
        lowers = ++done;
      }
      std::this_thread::yield();
    }
  }};
  void lower_again() {
    int want = asked + 1;
    asked = want;
    while (lowers < want) std::this_thread::yield();
  }
  ~Background() {
    stop = true;
    t.join();
  }
};
}  // namespace

TEST(BackgroundPriority, IdleOnceLoweredNormalWhenRaisedByAnotherThread) {
  Background b;
  while (b.lowers < 1) std::this_thread::yield();
  if (!corral::core::idle_priority_reversible()) {
    EXPECT_FALSE(b.lowered) << "cannot leave SCHED_IDLE here: it stays normal";
    EXPECT_EQ(sched_getscheduler(b.tid), SCHED_OTHER);
    EXPECT_FALSE(b.p.idle());
    return;
  }
  EXPECT_TRUE(b.lowered);
  EXPECT_TRUE(b.p.idle());
  EXPECT_EQ(sched_getscheduler(b.tid), SCHED_IDLE);
  b.p.raise();  // from this thread
  EXPECT_FALSE(b.p.idle());
  EXPECT_EQ(sched_getscheduler(b.tid), SCHED_OTHER);
  b.p.raise();  // already normal: nothing happens
  EXPECT_EQ(sched_getscheduler(b.tid), SCHED_OTHER);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER) << "the raising thread's own priority is untouched";
  b.lower_again();
  EXPECT_EQ(sched_getscheduler(b.tid), SCHED_IDLE);
}

TEST(BackgroundPriority, ARaiseBeforeAnyLowerTouchesNoThread) {
  BackgroundPriority p;  // never attached: a raise must not land on the caller (tid 0)
  ASSERT_EQ(sched_getscheduler(0), SCHED_OTHER);
  p.raise();
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
  EXPECT_FALSE(p.idle());
}

namespace {
long voluntary_switches() {  // of the calling thread
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}
}  // namespace

// RunSlice: off, steps never sleep; on, a step past run_us sleeps (a voluntary switch: the CPU
// goes to whatever waited), and the next run_us start after that nap.
TEST(RunSlice, NapsOnlyWhileOnAndOnlyOnceItsRunHasPassed) {
  corral::core::RunSlice every(0, 1);  // run 0: every step past the first instant naps
  for (int i = 0; i < 50; ++i) every.step();
  EXPECT_EQ(every.naps(), 0u) << "off";
  every.on(true);
  long before = voluntary_switches();
  for (int i = 0; i < 50; ++i) every.step();
  EXPECT_EQ(every.naps(), 50u);
  EXPECT_GE(voluntary_switches() - before, 25) << "a nap gives the CPU up";
  every.on(false);
  for (int i = 0; i < 50; ++i) every.step();
  EXPECT_EQ(every.naps(), 50u) << "off again";

  corral::core::RunSlice hour(3600LL * 1000000, 1);  // a run no test outlasts
  hour.on(true);
  for (int i = 0; i < 1000; ++i) hour.step();
  EXPECT_EQ(hour.naps(), 0u);
}
