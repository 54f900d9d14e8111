// core::BackgroundPriority on real threads: idle CPU priority (SCHED_IDLE) once
// lowered, normal again when another thread raises it.
#include "corral/core/priority.h"

#include <gtest/gtest.h>
#include <sched.h>
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
