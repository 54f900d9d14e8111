// Per-key limits shared by every worker thread, with atomics only.
//
// rpm is an exact sliding window, not a token bucket: the issue promises that
// with --rpm 10 the 11th request inside any minute is refused, and a bucket of
// 10 refilled at 10/min (seastar's shared_token_bucket, GCRA) would let an 11th
// through 6 s after a burst. RequestWindow keeps the admission times of the
// last rpm requests in a ring (8 bytes each, so rpm is capped at 100,000); a
// request is admitted when the oldest of them is more than 60 s old, and the
// admission is one compare-and-swap on that ring slot, so no interleaving of
// workers admits more than rpm in 60 s. Seastar's rovers let a shard grab
// ahead and wait; corral never waits on a limit, it answers 429.
//
// tpm counts prompt + completion tokens charged after each request in a
// sliding window of 60 one-second buckets: new requests are refused while the
// last 60 s already hold tpm tokens (a request in flight can overshoot; the
// next ones wait for the window to drain). Exact to one second.
//
// concurrency is an in-flight count taken at admission, given back when the
// Admission is finished or destroyed (a client gone mid-stream gives it back too).
//
// Counters live as long as the key's name: a table rebuild hands the previous
// KeyLimiter's usage (in flight, tokens, last used) to the new one; the
// request window starts over only when the key's rpm changes.
//
// Times are monotonic microseconds passed in (core::mono_us() in corral, any
// clock in tests).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "corral/auth/key.h"

namespace corral::auth {

inline constexpr int64_t kLimitWindowUs = 60'000'000;

enum class Limit : uint8_t { rpm, tpm, concurrency };
std::string_view limit_name(Limit l);  // "rpm", "tpm", "concurrency"

struct Refusal {
  Limit limit = Limit::rpm;
  uint64_t allowed = 0;        // the limit's value
  uint32_t retry_after_s = 1;  // whole seconds, at least 1: when trying again can succeed
  // "rate limit reached: 10 requests per minute (rpm)"
  std::string message() const;
};

// The admission times of the last `limit` requests (an exact sliding window).
class RequestWindow {
 public:
  explicit RequestWindow(uint32_t limit);
  // Admits one request at now_us, or says how long until the oldest of the last
  // `limit` leaves the window (wait_us > 0).
  bool take(int64_t now_us, int64_t& wait_us);
  uint32_t limit() const { return limit_; }

 private:
  const uint32_t limit_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;  // admission i in slot i % limit: lap << 40 | ms
  std::atomic<uint64_t> next_{0};                   // admissions so far
};

// Tokens charged in the last 60 s, in one-second buckets.
class TokenWindow {
 public:
  TokenWindow();
  void charge(uint64_t tokens, int64_t now_us);
  uint64_t used(int64_t now_us) const;
  // How long until used() falls below limit; 0 when it already is.
  int64_t wait_us(uint64_t limit, int64_t now_us) const;

 private:
  static constexpr size_t kBuckets = 64;     // > 60, so a bucket is reused only after it left the window
  std::atomic<uint64_t> buckets_[kBuckets];  // second << 40 | tokens
};

// One key's counters, shared by all workers, kept across table rebuilds by name.
struct KeyUsage {
  alignas(64) std::atomic<uint32_t> in_flight{0};
  std::atomic<int64_t> last_used_us{0};  // monotonic; 0 = not since corral started
  alignas(64) TokenWindow tokens;
};

// An admitted request: holds its concurrency slot until finish() or destruction.
class Admission {
 public:
  Admission() = default;
  explicit Admission(std::shared_ptr<KeyUsage> usage) : usage_(std::move(usage)) {}
  Admission(Admission&&) noexcept = default;
  Admission& operator=(Admission&& o) noexcept {
    if (this != &o) {
      release();
      usage_ = std::move(o.usage_);
    }
    return *this;
  }
  ~Admission() { release(); }
  explicit operator bool() const { return usage_ != nullptr; }

  // The request's prompt + completion tokens go to tpm (counted at now_us, when
  // it finished, not when it started), its slot back to concurrency.
  void finish(uint64_t tokens, int64_t now_us);

 private:
  void release();
  std::shared_ptr<KeyUsage> usage_;
};

// What a key table entry holds for one key's limits.
class KeyLimiter {
 public:
  // previous: the same name's limiter in the table being replaced, or null.
  KeyLimiter(const KeyLimits& limits, const KeyLimiter* previous);
  // Takes a concurrency slot and an rpm unit, or says which limit refuses and
  // when to retry (nothing is taken then). Lock-free; no allocation.
  bool admit(int64_t now_us, Admission& out, Refusal& why) const;
  const KeyLimits& limits() const { return limits_; }
  const KeyUsage& usage() const { return *usage_; }

 private:
  KeyLimits limits_;
  std::shared_ptr<KeyUsage> usage_;
  std::shared_ptr<RequestWindow> requests_;  // null without an rpm limit
};

}  // namespace corral::auth
