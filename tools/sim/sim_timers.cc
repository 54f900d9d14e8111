#include "sim_timers.h"

#include <time.h>

namespace sim {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int Timers::timeout_ms(int64_t now) const {
  if (heap_.empty()) return -1;
  int64_t d = heap_.top().at - now;
  if (d <= 0) return 0;
  int64_t ms = (d + 999999) / 1000000;
  return ms > 60000 ? 60000 : static_cast<int>(ms);
}

void Timers::run_due(int64_t now, const std::function<void(uint64_t, uint64_t)>& fire) {
  size_t budget = heap_.size();
  while (budget-- > 0 && !heap_.empty() && heap_.top().at <= now) {
    Entry e = heap_.top();
    heap_.pop();
    fire(e.id, e.seq);
  }
}

}  // namespace sim
