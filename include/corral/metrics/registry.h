// Per-worker metric shards (single writer, relaxed atomics, cache-line aligned)
// summed at scrape time into Prometheus text format 0.0.4.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "corral/proxy/endpoint.h"

namespace corral::metrics {

// HTTP status codes get their own label value; others are folded into their class.
int code_index(int status);
std::string_view code_label(int index);
inline constexpr int kCodeCount = 32;

using Counter = std::atomic<uint64_t>;

// Single writer: increments are a plain load+store, no lock prefix.
inline void bump(Counter& c, uint64_t by = 1) { c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed); }

struct alignas(64) Shard {
  Counter requests[proxy::kEndpointCount][kCodeCount] = {};
  Counter requests_started{0};
  Counter requests_finished{0};  // in flight = started - finished; both monotonic
  Counter upstream_connects{0};
  Counter upstream_reuses{0};
  Counter upstream_errors{0};
  Counter bytes_received{0};
  Counter bytes_sent{0};
  Counter client_connections{0};
  Counter rejected_malformed{0};
};

struct BackendGauge {
  std::string url;
  bool up;
};

class Registry {
 public:
  explicit Registry(unsigned shards);
  Shard& shard(unsigned i) { return *shards_[i]; }
  unsigned shard_count() const { return static_cast<unsigned>(shards_.size()); }
  void render(std::string& out, std::string_view io_backend, const std::vector<BackendGauge>& backends) const;

 private:
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace corral::metrics
