// RecordRing: single producer (one worker), single consumer (the offload
// thread), fixed slots. The producer never waits: a full ring refuses the
// record and the worker counts it as dropped.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "corral/analytics/record.h"

namespace corral::analytics {

class RecordRing {
 public:
  explicit RecordRing(size_t slots);  // rounded up to a power of two; pages touched only once used
  ~RecordRing();
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;

  // Producer: a slot to fill, or nullptr when full; then publish().
  Record* claim() {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ >= mask_ + 1) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ >= mask_ + 1) return nullptr;
    }
    return new (mem_ + (t & mask_) * Record::kSize) Record;
  }
  void publish() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Consumer: the oldest record, or nullptr when empty; then pop().
  const Record* front() {
    uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h == tail_cache_) return nullptr;
    }
    return std::launder(reinterpret_cast<const Record*>(mem_ + (h & mask_) * Record::kSize));
  }
  void pop() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  size_t capacity() const { return mask_ + 1; }

 private:
  char* mem_;
  uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer's position
  uint64_t tail_cache_ = 0;                     // consumer's last look at tail_
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer's position
  uint64_t head_cache_ = 0;                     // producer's last look at head_
};

}  // namespace corral::analytics
