#include "corral/auth/limits.h"

#include <algorithm>

namespace corral::auth {

std::string_view limit_name(Limit l) {
  switch (l) {
    case Limit::tpm:
      return "tpm";
    case Limit::concurrency:
      return "concurrency";
    case Limit::rpm:
      break;
  }
  return "rpm";
}

std::string Refusal::message() const {
  std::string n = std::to_string(allowed);
  switch (limit) {
    case Limit::tpm:
      return "rate limit reached: " + n + " tokens per minute (tpm)";
    case Limit::concurrency:
      return "rate limit reached: " + n + " requests in flight (concurrency)";
    case Limit::rpm:
      break;
  }
  return "rate limit reached: " + n + " requests per minute (rpm)";
}

namespace {

constexpr uint64_t kTimeBits = 40;  // ms (2^40 ms: 34 years of uptime), or tokens in a bucket
constexpr uint64_t kLowMask = (uint64_t{1} << kTimeBits) - 1;
constexpr uint64_t kHighMask = (uint64_t{1} << (64 - kTimeBits)) - 1;
constexpr uint64_t kWindowMs = kLimitWindowUs / 1000;
// Stored times are shifted so the empty slot (time 0) is always older than a window.
constexpr uint64_t kShiftMs = 2 * kWindowMs;

uint32_t whole_seconds(int64_t us) { return static_cast<uint32_t>(std::max<int64_t>(1, (us + 999999) / 1000000)); }

}  // namespace

RequestWindow::RequestWindow(uint32_t limit) : limit_(limit), slots_(new std::atomic<uint64_t>[limit]) {
  for (uint32_t i = 0; i < limit; ++i) slots_[i].store(kHighMask << kTimeBits);  // lap -1: the first lap's predecessor
}

// Admission h claims slot h % limit, which holds admission h - limit (the oldest
// of the last `limit`) tagged with its lap h / limit - 1. Claiming is one CAS of
// that slot to this lap and time, so two workers can never both take ticket h;
// next_ then moves on, by whoever sees the slot claimed first.
bool RequestWindow::take(int64_t now_us, int64_t& wait_us) {
  uint64_t now = static_cast<uint64_t>(now_us / 1000) + kShiftMs;
  uint64_t h = next_.load();
  for (;;) {
    std::atomic<uint64_t>& slot = slots_[h % limit_];
    uint64_t lap = (h / limit_) & kHighMask;
    uint64_t v = slot.load();
    uint64_t slot_lap = v >> kTimeBits;
    if (slot_lap == lap) {  // ticket h is taken; help next_ past it
      next_.compare_exchange_strong(h, h + 1);
      h = next_.load();
      continue;
    }
    if (slot_lap != ((lap - 1) & kHighMask)) {  // next_ moved a whole lap since h was read
      h = next_.load();
      continue;
    }
    uint64_t oldest = v & kLowMask;
    if (oldest + kWindowMs > now) {
      wait_us = static_cast<int64_t>(oldest + kWindowMs - now) * 1000;
      return false;
    }
    if (slot.compare_exchange_strong(v, lap << kTimeBits | now)) {
      next_.compare_exchange_strong(h, h + 1);
      return true;
    }
  }
}

TokenWindow::TokenWindow() {
  for (auto& b : buckets_) b.store(0);
}

void TokenWindow::charge(uint64_t tokens, int64_t now_us) {
  if (tokens == 0) return;
  uint64_t sec = static_cast<uint64_t>(now_us / 1000000);
  uint64_t tag = sec & kHighMask;
  std::atomic<uint64_t>& b = buckets_[sec % kBuckets];
  uint64_t v = b.load();
  for (;;) {
    uint64_t held = (v >> kTimeBits) == tag ? v & kLowMask : 0;  // a bucket of an older second starts over
    uint64_t sum = std::min(held + std::min(tokens, kLowMask), kLowMask);
    if (b.compare_exchange_weak(v, tag << kTimeBits | sum)) return;
  }
}

uint64_t TokenWindow::used(int64_t now_us) const {
  uint64_t sec = static_cast<uint64_t>(now_us / 1000000);
  uint64_t sum = 0;
  for (uint64_t k = 0; k < kWindowMs / 1000 && k <= sec; ++k) {
    uint64_t v = buckets_[(sec - k) % kBuckets].load();
    if ((v >> kTimeBits) == ((sec - k) & kHighMask)) sum += v & kLowMask;
  }
  return sum;
}

int64_t TokenWindow::wait_us(uint64_t limit, int64_t now_us) const {
  uint64_t sum = used(now_us);
  if (sum < limit) return 0;
  uint64_t sec = static_cast<uint64_t>(now_us / 1000000);
  uint64_t window_s = kWindowMs / 1000;
  // The oldest bucket leaves first: bucket s is out of the window once second s + 60 begins.
  for (uint64_t k = std::min(window_s - 1, sec);; --k) {
    uint64_t s = sec - k;
    uint64_t v = buckets_[s % kBuckets].load();
    if ((v >> kTimeBits) == (s & kHighMask)) sum -= std::min(sum, v & kLowMask);
    if (sum < limit || k == 0) return static_cast<int64_t>((s + window_s) * 1000000) - now_us;
  }
}

void Admission::release() {
  if (usage_) usage_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  usage_.reset();
}

void Admission::finish(uint64_t tokens, int64_t now_us) {
  if (usage_) usage_->tokens.charge(tokens, now_us);
  release();
}

KeyLimiter::KeyLimiter(const KeyLimits& limits, const KeyLimiter* previous)
    : limits_(limits), usage_(previous ? previous->usage_ : std::make_shared<KeyUsage>()) {
  if (limits.rpm == 0) return;
  bool same = previous && previous->requests_ && previous->limits_.rpm == limits.rpm;
  requests_ = same ? previous->requests_ : std::make_shared<RequestWindow>(limits.rpm);
}

bool KeyLimiter::admit(int64_t now_us, Admission& out, Refusal& why) const {
  // Only a concurrency or tpm limit needs the request held (its slot, what it cost): a key
  // without either costs no shared write per request. (Requests admitted before a limit
  // was set hold no slot: the new limit counts from the next request on.)
  Admission taken;  // gives the slot back on any refusal below
  if (limits_.concurrency != 0 || limits_.tpm != 0) {
    uint32_t before = usage_->in_flight.fetch_add(1, std::memory_order_relaxed);
    taken = Admission(usage_);
    if (limits_.concurrency != 0 && before >= limits_.concurrency) {
      why = {Limit::concurrency, limits_.concurrency, 1};
      return false;
    }
  }
  if (limits_.tpm != 0) {
    int64_t wait = usage_->tokens.wait_us(limits_.tpm, now_us);
    if (wait > 0) {
      why = {Limit::tpm, limits_.tpm, whole_seconds(wait)};
      return false;
    }
  }
  int64_t wait = 0;
  if (requests_ && !requests_->take(now_us, wait)) {
    why = {Limit::rpm, limits_.rpm, whole_seconds(wait)};
    return false;
  }
  // Last used to the second (what `keys list` shows): the shared line is written once a second at most.
  if (now_us - usage_->last_used_us.load(std::memory_order_relaxed) >= 1000000)
    usage_->last_used_us.store(now_us, std::memory_order_relaxed);
  out = std::move(taken);
  return true;
}

}  // namespace corral::auth
