// Per-worker metric shards (single writer, relaxed atomics, cache-line aligned)
// summed at scrape time into Prometheus text format 0.0.4. Labels are bounded:
// endpoints are a fixed list, models and keys are capped per shard (others →
// "other"), backends are the fleet's slots, codes are folded into a fixed set.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corral/api/endpoint.h"
#include "corral/api/prompt.h"
#include "corral/metrics/names.h"
#include "corral/metrics/table.h"
#include "corral/metrics/window.h"

namespace corral::metrics {

// HTTP status codes get their own label value; others are folded into their class.
int code_index(int status);
std::string_view code_label(int index);
inline constexpr int kCodeCount = 32;

using Counter = std::atomic<uint64_t>;

#ifndef CORRAL_METRICS
#define CORRAL_METRICS 1
#endif
// -Dmetrics=false compiles per-request accounting out, to measure what it costs.
inline constexpr bool kEnabled = CORRAL_METRICS;

// Single writer: increments are a plain load+store, no lock prefix.
inline void bump(Counter& c, uint64_t by = 1) {
  if constexpr (kEnabled) c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

inline constexpr uint8_t kModelOther = LabelNames::kOther;
inline constexpr uint8_t kModelNone = LabelNames::kNone;
inline constexpr uint8_t kBackendNone = 255;  // answered by corral itself
inline constexpr uint8_t kCategoryNone = 15;

struct Buckets {
  Buckets(std::vector<double> upper, double sum_scale);
  std::vector<double> le;
  std::vector<std::string> le_text;  // rendered once
  double scale;                      // sums are kept as integers of value * scale
};
const Buckets& duration_buckets();
const Buckets& rate_buckets();
const Buckets& score_buckets();
const Buckets& token_count_buckets();

inline constexpr size_t kMaxBuckets = 20;

class Histogram {
 public:
  Histogram(const Buckets& b, size_t capacity) : b_(b), t_(capacity, ~0ull) {}
  void observe(uint64_t key, double value);
  const Buckets& buckets() const { return b_; }
  template <typename F>
  void for_each(F&& f) const {
    t_.for_each(f);
  }  // v[0..n-1] per bucket, v[kMaxBuckets] count, v[+1] sum

 private:
  const Buckets& b_;
  LabeledCounters<kMaxBuckets + 2> t_;
};

enum RejectReason : uint8_t {
  kRejectMalformed,
  kRejectHeaderTooLarge,
  kRejectBodyTooLarge,
  kRejectTimeout,
  kRejectQueueFull,
  kRejectQueueTimeout,
  kRejectAuth,
  kRejectForbidden,
  kRejectRateLimit,
  kRejectCount
};
enum ErrorKind : uint8_t {
  kErrConnect,
  kErrClosedEarly,
  kErrTimeout,
  kErrBadResponse,
  kErrClientAbort,
  kErrorKindCount
};

// What one finished request contributes.
struct RequestRecord {
  api::Endpoint endpoint = api::kOther;
  std::string_view model;      // empty: none
  bool model_unknown = false;  // not a model discovery knows: counted as "other"
  uint8_t backend = kBackendNone;
  int status = 0;
  uint8_t category = kCategoryNone;
  int complexity_score = -1;  // -1: no prompt
  api::ComplexityClass complexity = api::kLow;
  double duration_s = 0;
  double ttft_s = -1;
  double connect_s = -1;
  int64_t prompt_tokens = -1, completion_tokens = -1;
  int64_t eval_duration_ns = -1, load_duration_ns = -1;
  std::string_view key;  // the API key's name (auth on); empty: none
};

// Families beyond corral's own, fixed at start (metrics.seed_names, metrics.key_labels, metrics.max_keys).
struct Extras {
  bool seed_names = false;  // seed 000's per-minute gauges, seed 004's tokens_generated and label names
  bool key_labels = false;  // key_requests_total{key}, key_tokens_total{key}
  unsigned max_keys = 100;  // key label values per worker; others → "other"
};

struct alignas(64) Shard {
  explicit Shard(unsigned max_models, const Extras& extras = {});
  void record(const RequestRecord& r);
  void reject(RejectReason why) { bump(rejected[why]); }
  void error(ErrorKind k) { bump(errors[k]); }

  Extras extras;
  LabelNames models;
  LabeledCounters<1> requests;        // endpoint, model, backend, code, category
  LabeledCounters<2> tokens;          // model → prompt, completion
  Histogram request_duration;         // endpoint, model
  Histogram ttft;                     // model
  Histogram tokens_per_second;        // model
  Histogram model_load;               // model
  Histogram upstream_connect;         // —
  Histogram complexity;               // complexity class
  Histogram queue_wait;               // —
  Histogram tokens_generated;         // model, category (seed_names only)
  MinuteWindow last_minute;           // proxied requests (seed_names only)
  LabelNames keys;                    // key_labels only
  Counter key_requests[256] = {};     // by key id (LabelNames::kOther included)
  Counter key_tokens[256] = {};       // prompt + completion
  Counter backend_started[256] = {};  // in flight per backend = started - finished
  Counter backend_finished[256] = {};
  Counter queue_in[256] = {};  // waiting for admission per first-choice backend = in - out
  Counter queue_out[256] = {};
  Counter rejected[kRejectCount] = {};
  Counter errors[kErrorKindCount] = {};
  Counter requests_started{0};
  Counter requests_finished{0};
  Counter upstream_connects{0};
  Counter upstream_reuses{0};
  Counter backpressure_pauses{0};
  Counter failovers{0};
  Counter analytics_dropped{0};
  Counter upstream_idle{0};    // gauge, stored by the worker
  Counter upstream_live{0};    // gauge, stored by the worker
  Counter client_sessions{0};  // gauge, stored by the worker: open client connections
  Counter bytes_received{0};
  Counter bytes_sent{0};
  Counter client_connections{0};

 private:
  void record_seed(const RequestRecord& r, uint8_t model);
  void record_key(const RequestRecord& r);
};

// One per backend slot (index = slot); departed members keep their slot but are not present.
struct BackendGauge {
  std::string url;
  bool present = true;
  bool up;
  uint32_t max_concurrent;     // 0: unlimited (counts as default_capacity for utilization)
  int64_t models_loaded = -1;  // from /api/ps; -1 unknown
  int64_t vram_bytes = -1;
};

// A scaling group's last decision (corral_desired_replicas and friends).
struct GroupGauge {
  std::string name;
  double load = 0;
  uint32_t desired = 0;
  uint64_t ups = 0, downs = 0;
};

struct RenderOptions {
  std::string_view ns = "corral";
  std::string_view io = "io_uring";
  uint32_t default_capacity = 4;
  int64_t analytics_written = -1;  // -1: analytics off
  int64_t analytics_write_errors = 0;
  int64_t analytics_backlog = 0;   // spooled, not stored yet
  std::vector<GroupGauge> groups;  // scaling groups; empty: none configured
};

class Registry {
 public:
  Registry(unsigned shards, unsigned max_models, const Extras& extras = {});
  Shard& shard(unsigned i) { return *shards_[i]; }
  void render(std::string& out, const RenderOptions& o, const std::vector<BackendGauge>& backends) const;

 private:
  void render_seed_gauges(std::string& out, std::string_view ns, double utilization, size_t healthy) const;
  void render_keys(std::string& out, std::string_view ns) const;
  static void render_groups(std::string& out, std::string_view ns, const std::vector<GroupGauge>& groups);

  Extras extras_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace corral::metrics
