#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace load {

int Histogram::index(uint64_t v) {
  if (v < kSub) return static_cast<int>(v);
  int msb = 63 - __builtin_clzll(v);              // >= kSubBits
  int shift = msb - kSubBits;                     // bucket width = 2^shift
  int sub = static_cast<int>(v >> shift) - kSub;  // 0..kSub-1
  return (shift + 1) * kSub + sub;
}

uint64_t Histogram::upper(int i) {
  if (i < kSub) return static_cast<uint64_t>(i);
  int shift = i / kSub - 1;
  uint64_t base = static_cast<uint64_t>(kSub + i % kSub) << shift;
  return base + ((uint64_t{1} << shift) - 1);
}

void Histogram::record(uint64_t v) {
  ++slots_[static_cast<size_t>(index(v))];
  ++count_;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q / 100.0 * double(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kSlots; ++i) {
    seen += slots_[static_cast<size_t>(i)];
    if (seen >= rank) return std::min(upper(i), max_);
  }
  return max_;
}

void Histogram::merge(const Histogram& o) {
  for (int i = 0; i < kSlots; ++i) slots_[static_cast<size_t>(i)] += o.slots_[static_cast<size_t>(i)];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

}  // namespace load
