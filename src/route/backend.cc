#include "corral/route/backend.h"

namespace corral::route {

bool try_admit(Backend& b, uint32_t limit) {
  if (limit == 0) {
    b.inflight.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  uint32_t cur = b.inflight.load(std::memory_order_relaxed);
  while (cur < limit) {
    if (b.inflight.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void release(Backend& b) { b.inflight.fetch_sub(1, std::memory_order_relaxed); }

bool outranked(const Backend& b, uint8_t priority) {
  for (uint8_t p = 0; p < priority && p < b.queued_by_priority.size(); ++p) {
    if (b.queued_by_priority[p].load(std::memory_order_relaxed) > 0) return true;
  }
  return false;
}

namespace {

constexpr uint64_t kSecondBits = 0xffffff;  // 194 days of seconds, then it wraps

// FNV-1a of the tagged name ("x" is "x:latest", as /api/ps names it); never 0: 0 is empty.
uint64_t model_bits(std::string_view model) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&h](std::string_view s) {
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  };
  add(model);
  size_t slash = model.rfind('/');
  if (model.find(':', slash == std::string_view::npos ? 0 : slash) == std::string_view::npos) add(":latest");
  return (h | (1ull << 63)) & ~kSecondBits;
}

}  // namespace

void note_loading(Backend& b, std::string_view model, uint64_t now_ms) {
  uint32_t i = b.loading_next.fetch_add(1, std::memory_order_relaxed) % b.loading.size();
  b.loading[i].store(model_bits(model) | ((now_ms / 1000) & kSecondBits), std::memory_order_relaxed);
}

bool is_loading(const Backend& b, std::string_view model, uint64_t now_ms) {
  uint64_t want = model_bits(model);
  for (const auto& slot : b.loading) {
    uint64_t e = slot.load(std::memory_order_relaxed);
    if ((e & ~kSecondBits) == want && ((now_ms / 1000 - e) & kSecondBits) * 1000 < kLoadingMs) return true;
  }
  return false;
}

void forget_loading(Backend& b, std::string_view model) {
  uint64_t want = model_bits(model);
  for (auto& slot : b.loading) {
    uint64_t e = slot.load(std::memory_order_relaxed);
    if ((e & ~kSecondBits) == want) slot.compare_exchange_strong(e, 0, std::memory_order_relaxed);
  }
}

Circuit circuit_state(const Backend& b, uint64_t now_ms) {
  uint64_t until = b.open_until_ms.load(std::memory_order_relaxed);
  if (until == 0) return Circuit::closed;
  return now_ms < until ? Circuit::open : Circuit::half_open;
}

bool circuit_allows(Backend& b, uint64_t now_ms) {
  switch (circuit_state(b, now_ms)) {
    case Circuit::closed:
      return true;
    case Circuit::open:
      return false;
    case Circuit::half_open: {
      bool expected = false;
      return b.probing.compare_exchange_strong(expected, true, std::memory_order_relaxed);
    }
  }
  return false;
}

void record_outcome(Backend& b, bool ok, uint32_t threshold, uint32_t cooldown_ms, uint64_t now_ms) {
  if (ok) {
    // Plain loads first: the common case writes nothing shared.
    if (b.failures.load(std::memory_order_relaxed) != 0) b.failures.store(0, std::memory_order_relaxed);
    if (b.open_until_ms.load(std::memory_order_relaxed) != 0) {
      b.open_until_ms.store(0, std::memory_order_relaxed);
      b.probing.store(false, std::memory_order_relaxed);
    }
    return;
  }
  uint32_t n = b.failures.fetch_add(1, std::memory_order_relaxed) + 1;
  bool trial_failed = b.probing.load(std::memory_order_relaxed);
  if ((threshold != 0 && n >= threshold) || trial_failed) {
    b.open_until_ms.store(now_ms + (cooldown_ms ? cooldown_ms : 1), std::memory_order_relaxed);
    b.probing.store(false, std::memory_order_relaxed);
  }
}

const char* circuit_name(Circuit c) {
  switch (c) {
    case Circuit::closed:
      return "closed";
    case Circuit::open:
      return "open";
    case Circuit::half_open:
      return "half_open";
  }
  return "closed";
}

Backend* BackendTable::find_or_add(const std::string& key, const std::string& name, const core::SockAddr& addr,
                                   const std::string& url, const std::string& host_header,
                                   const std::string& tls_host) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = count_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    if (slots_[i]->key == key) return slots_[i].get();
  }
  if (n == kMaxSlots) return nullptr;
  auto b = std::make_unique<Backend>();
  b->slot = static_cast<uint8_t>(n);
  b->key = key;
  b->name = name;
  b->addr = addr;
  b->url = url;
  b->host_header = host_header;
  b->tls_host = tls_host;
  slots_[n] = std::move(b);
  count_.store(n + 1, std::memory_order_release);
  return slots_[n].get();
}

}  // namespace corral::route
