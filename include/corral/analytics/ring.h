// RecordRing: single producer (one worker), single consumer (the offload
// thread), variable-length entries in one byte buffer: a record takes what it
// uses (a few hundred bytes, at most Record::kSize), so the ring holds many and
// its memory is walked in order. The producer never waits: a full ring refuses
// the record and the worker counts it as dropped. A push that leaves the ring
// holding more than a mark signals the consumer's Wakeup, so the consumer can
// sleep long while traffic is light and still empty the ring in time.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "corral/analytics/record.h"
#include "corral/core/wakeup.h"

namespace corral::analytics {

class RecordRing {
 public:
  explicit RecordRing(size_t bytes);  // rounded up to a power of two, at least 4 * Record::kSize
  ~RecordRing();
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;

  // Before any push: signal w whenever a push leaves more than fill bytes waiting (0: never).
  void wake_at(core::Wakeup* w, size_t fill) {
    wake_ = w;
    mark_ = fill;
  }
  // Producer: copies r's bytes in; false when there is no room.
  bool push(const Record& r);
  // Consumer: the oldest record's bytes (Record::bytes()), or empty when none; then pop().
  std::string_view front();
  void pop();

  size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr uint32_t kWrap = 0xffffffffu;  // entry length meaning "continue at the start"
  char* mem_;
  uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer's position (bytes)
  uint64_t tail_cache_ = 0;                    // consumer's last look at tail_
  uint32_t front_len_ = 0;                     // bytes of the entry front() returned, header and padding included
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer's position (bytes)
  uint64_t head_cache_ = 0;                    // producer's last look at head_
  core::Wakeup* wake_ = nullptr;
  uint64_t mark_ = 0;
};

}  // namespace corral::analytics
