// Log-linear latency histogram (HdrHistogram-style): ~1.5% relative precision
// from 1 µs to ~18 hours in a fixed 4,864-slot array, O(1) record.
#pragma once
#include <array>
#include <cstdint>

namespace load {

class Histogram {
 public:
  static constexpr int kSubBits = 6;  // 64 linear sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kSlots = (64 - kSubBits + 1) * kSub;

  void record(uint64_t value);
  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0; }
  // Smallest recorded-bucket upper bound v such that at least q of values are <= v.
  uint64_t percentile(double q) const;
  void merge(const Histogram& o);

  static int index(uint64_t v);
  static uint64_t upper(int index);  // largest value mapping to index

 private:
  std::array<uint64_t, kSlots> slots_{};
  uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

}  // namespace load
