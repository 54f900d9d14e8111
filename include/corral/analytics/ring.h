// RecordRing: single producer (one worker), single consumer (the offload
// thread), variable-length entries in one byte buffer: a record takes what it
// uses (a few hundred bytes, at most Record::kSize), so the ring holds many and
// its memory is walked in order. The producer never waits: a full ring refuses
// the record and the worker counts it as dropped.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "corral/analytics/record.h"

namespace corral::analytics {

class RecordRing {
 public:
  explicit RecordRing(size_t bytes);  // rounded up to a power of two, at least 4 * Record::kSize
  ~RecordRing();
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;

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
};

}  // namespace corral::analytics
