#include "corral/metrics/window.h"

#include "corral/core/clock.h"

namespace corral::metrics {

void MinuteWindow::add(int64_t now_s, uint64_t duration_us) {
  Bucket& b = buckets_[now_s % kSeconds];
  if (b.second.load(std::memory_order_relaxed) != now_s) {
    // Counts first, stamp last (release): a reader that sees the new second never sees the old counts.
    b.requests.store(0, std::memory_order_relaxed);
    b.duration_us.store(0, std::memory_order_relaxed);
    b.second.store(now_s, std::memory_order_release);
  }
  b.requests.store(b.requests.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  b.duration_us.store(b.duration_us.load(std::memory_order_relaxed) + duration_us, std::memory_order_relaxed);
}

MinuteWindow::Totals MinuteWindow::sum(int64_t now_s) const {
  Totals t;
  for (const Bucket& b : buckets_) {
    int64_t s = b.second.load(std::memory_order_acquire);
    if (s > now_s || now_s - s >= kSeconds) continue;
    t.requests += b.requests.load(std::memory_order_relaxed);
    t.duration_us += b.duration_us.load(std::memory_order_relaxed);
  }
  return t;
}

int64_t window_now_s() { return core::mono_us() / 1000000; }

}  // namespace corral::metrics
