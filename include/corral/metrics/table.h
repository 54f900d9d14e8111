// Label sets → counters, for one writer and concurrent readers without locks.
// Fixed capacity (never resized, so readers never see memory move); a full
// table folds new label sets into the overflow key, so memory stays bounded.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace corral::metrics {

template <size_t N>
class LabeledCounters {
 public:
  struct Entry {
    std::atomic<uint64_t> key{0};
    std::atomic<uint64_t> v[N] = {};
  };

  LabeledCounters(size_t capacity, uint64_t overflow_key)
      : entries_(new Entry[capacity]), mask_(capacity - 1), overflow_(overflow_key) {}

  // Writer only. key must not be 0.
  std::atomic<uint64_t>* slot(uint64_t key) {
    for (size_t probe = 0; probe <= mask_; ++probe) {
      Entry& e = entries_[(hash(key) + probe) & mask_];
      uint64_t k = e.key.load(std::memory_order_relaxed);
      if (k == key) return e.v;
      if (k == 0) {
        if (used_ + 1 > (mask_ + 1) * 3 / 4 && key != overflow_) return slot(overflow_);
        ++used_;
        e.key.store(key, std::memory_order_release);
        return e.v;
      }
    }
    return entries_[0].v;  // unreachable: the load factor keeps free slots
  }

  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i <= mask_; ++i) {
      uint64_t k = entries_[i].key.load(std::memory_order_acquire);
      if (k != 0) f(k, entries_[i].v);
    }
  }

 private:
  static size_t hash(uint64_t k) { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 20); }
  std::unique_ptr<Entry[]> entries_;
  size_t mask_;
  uint64_t overflow_;
  size_t used_ = 0;
};

}  // namespace corral::metrics
