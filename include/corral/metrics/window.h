// The last minute of one worker's finished requests, for seed 000's
// requests_per_minute and avg_response_time: 60 one-second buckets of a count
// and summed durations. Only the worker writes (no lock, no lock prefix); the
// scrape sums the buckets whose second is still inside the minute, so an idle
// worker's old seconds age out by their stamp without the worker doing anything.
#pragma once
#include <atomic>
#include <cstdint>

namespace corral::metrics {

class MinuteWindow {
 public:
  static constexpr int64_t kSeconds = 60;

  struct Totals {
    uint64_t requests = 0;
    uint64_t duration_us = 0;
  };

  // Writer only. now_s: monotonic seconds, never decreasing for one writer.
  void add(int64_t now_s, uint64_t duration_us);
  // Any thread: the second now_s and the kSeconds - 1 before it.
  Totals sum(int64_t now_s) const;

 private:
  struct Bucket {
    std::atomic<int64_t> second{0};  // which second the counts belong to
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> duration_us{0};
  };
  Bucket buckets_[kSeconds];
};

// Seconds of CLOCK_MONOTONIC: the one clock writers and the scrape agree on.
int64_t window_now_s();

}  // namespace corral::metrics
