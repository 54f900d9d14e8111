// Backend slots: one per fleet member corral has ever known (a configured
// server, or one address of a DNS backend). A slot's identity never changes and
// a slot is never freed, so workers, pools and metrics can index by slot id
// while the control thread adds members. Its runtime counters (in flight,
// circuit breaker) are shared by all workers through atomics.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "corral/core/net.h"

namespace corral::route {

inline constexpr size_t kMaxSlots = 254;  // metrics reserve 255 for "no backend"

struct alignas(64) Backend {
  // Identity: written once before the slot is published.
  uint8_t slot = 0;
  std::string key;          // name + "|" + address: how reloads and DNS find it again
  std::string name;         // the configured backend name (shared by a DNS backend's members)
  std::string url;          // the configured url, or http://ADDRESS:PORT for a DNS member: the metrics label
  std::string host_header;  // Host sent upstream: the configured host:port
  std::string tls_host;     // the name a TLS backend's certificate must match (the configured host)
  core::SockAddr addr;

  // Runtime, shared by every worker (own cache line).
  alignas(64) std::atomic<uint32_t> inflight{0};
  std::atomic<uint32_t> failures{0};       // consecutive
  std::atomic<uint64_t> open_until_ms{0};  // circuit: 0 closed, else open until then, then half-open
  std::atomic<bool> probing{false};        // the one half-open trial request is out
  std::atomic<uint32_t> queued{0};         // requests waiting with this as their first choice
  // The same requests by their key's priority (0 high, 1 normal, 2 low): each worker
  // has its own queue, and these let one see a more important request waiting on another.
  std::array<std::atomic<uint32_t>, 3> queued_by_priority{};
  // Models sent here to load (see note_loading): a name hash and the second it
  // was sent, packed; 0 empty.
  std::array<std::atomic<uint64_t>, 4> loading{};
  std::atomic<uint32_t> loading_next{0};
  // Snapshot version when a model was last sent here to load: until two snapshots
  // later its /api/ps (so the room routing sees) may not show that load yet.
  std::atomic<uint64_t> placed_version{0};
};

// Admission: takes one of `limit` places (0 = unlimited); false when full.
bool try_admit(Backend& b, uint32_t limit);
void release(Backend& b);
// A request of this priority (0 most important) is behind one of a higher priority waiting for b.
bool outranked(const Backend& b, uint8_t priority);

// A request for `model` went to b while b's /api/ps did not list it: b loads it
// now, or as soon as it has made room (Ollama lists a model only once it starts
// loading). Until b's /api/ps lists it (the control thread then forgets the note)
// or kLoadingMs pass, is_loading() says so, and the requests that follow go to b
// too instead of loading the model on a second member.
inline constexpr uint64_t kLoadingMs = 600000;
void note_loading(Backend& b, std::string_view model, uint64_t now_ms);
bool is_loading(const Backend& b, std::string_view model, uint64_t now_ms);
void forget_loading(Backend& b, std::string_view model);

enum class Circuit : uint8_t { closed, open, half_open };
Circuit circuit_state(const Backend& b, uint64_t now_ms);
// May a request go to b now? A half-open backend lets exactly one through.
bool circuit_allows(Backend& b, uint64_t now_ms);
// A request to b ended: success closes the circuit; `threshold` consecutive
// failures (0 = never) open it for cooldown_ms, as does a failed half-open trial.
void record_outcome(Backend& b, bool ok, uint32_t threshold, uint32_t cooldown_ms, uint64_t now_ms);
const char* circuit_name(Circuit c);

class BackendTable {
 public:
  size_t size() const { return count_.load(std::memory_order_acquire); }
  Backend& operator[](size_t slot) { return *slots_[slot]; }
  const Backend& operator[](size_t slot) const { return *slots_[slot]; }
  // Control thread: the slot for key, created when new; nullptr when all are taken.
  Backend* find_or_add(const std::string& key, const std::string& name, const core::SockAddr& addr,
                       const std::string& url, const std::string& host_header, const std::string& tls_host = "");

 private:
  std::array<std::unique_ptr<Backend>, kMaxSlots> slots_;
  std::atomic<size_t> count_{0};
  std::mutex mu_;  // writers only
};

}  // namespace corral::route
