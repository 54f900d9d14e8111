#include "corral/metrics/registry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "corral/api/json.h"
#include "corral/metrics/process.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

namespace corral::metrics {
namespace {
constexpr std::array<int, kCodeCount - 5> kCodes = {200, 201, 204, 206, 301, 302, 304, 307, 400,
                                                    401, 403, 404, 405, 408, 409, 413, 415, 422,
                                                    429, 431, 499, 500, 501, 502, 503, 504, 505};
constexpr std::array<std::string_view, 5> kClasses = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::array<std::string_view, kRejectCount> kRejectNames = {"malformed", "header_too_large", "body_too_large",
                                                                     "timeout",   "queue_full",       "queue_timeout",
                                                                     "auth",      "forbidden",        "rate_limit"};
constexpr std::array<std::string_view, kErrorKindCount> kErrorNames = {"connect", "closed_early", "timeout",
                                                                       "bad_response", "client_abort"};

// Label key layout: 1 | endpoint<<1 | code<<6 | category<<12 | model<<16 | backend<<24 (never 0).
uint64_t key(unsigned endpoint, unsigned code, unsigned category, unsigned model, unsigned backend) {
  return 1ull | uint64_t(endpoint) << 1 | uint64_t(code) << 6 | uint64_t(category) << 12 | uint64_t(model) << 16 |
         uint64_t(backend) << 24;
}
static_assert(api::kEndpointCount <= 32, "endpoints fit the label key's 5 bits");
unsigned k_endpoint(uint64_t k) { return (k >> 1) & 31; }
unsigned k_code(uint64_t k) { return (k >> 6) & 63; }
unsigned k_category(uint64_t k) { return (k >> 12) & 15; }
uint8_t k_model(uint64_t k) { return static_cast<uint8_t>(k >> 16); }
uint8_t k_backend(uint64_t k) { return static_cast<uint8_t>(k >> 24); }

std::string_view category_label(uint64_t k) {
  unsigned c = k_category(k);
  return c < api::kCategoryCount ? api::category_name(static_cast<api::Category>(c)) : "none";
}

std::string fmt(double v) {
  if (std::isinf(v)) return "+Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void family(std::string& out, std::string_view ns, std::string_view name, std::string_view type,
            std::string_view help) {
  out.append("# HELP ").append(ns).append("_").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(ns).append("_").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view ns, std::string_view name, std::string_view labels, std::string_view v) {
  out.append(ns).append("_").append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(v).append("\n");
}

void label(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out.push_back(',');
  out.append(name).append("=\"");
  api::json_escape(out, value);  // same escapes as the text format: \\ \" \n
  out.push_back('"');
}

struct HistSum {
  std::vector<uint64_t> buckets;
  uint64_t count = 0;
  uint64_t sum = 0;
};

}  // namespace

int code_index(int status) {
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (kCodes[i] == status) return static_cast<int>(i);
  }
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  return static_cast<int>(kCodes.size()) + cls - 1;
}

std::string_view code_label(int index) {
  static const std::array<std::string, kCodes.size()> names = [] {
    std::array<std::string, kCodes.size()> n;
    for (size_t i = 0; i < kCodes.size(); ++i) n[i] = std::to_string(kCodes[i]);
    return n;
  }();
  if (index < static_cast<int>(kCodes.size())) return names[index];
  return kClasses[index - kCodes.size()];
}

Buckets::Buckets(std::vector<double> upper, double sum_scale) : le(std::move(upper)), scale(sum_scale) {
  for (double v : le) le_text.push_back(fmt(v));
}

const Buckets& duration_buckets() {
  static const Buckets b{
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}, 1e6};
  return b;
}
const Buckets& rate_buckets() {
  static const Buckets b{{1, 2, 5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000}, 1e3};
  return b;
}
const Buckets& score_buckets() {
  static const Buckets b{{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 1};
  return b;
}
const Buckets& token_count_buckets() {
  static const Buckets b{{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000}, 1};
  return b;
}

void Histogram::observe(uint64_t k, double value) {
  std::atomic<uint64_t>* v = t_.slot(k);
  size_t i = 0;
  while (i < b_.le.size() && value > b_.le[i]) ++i;
  if (i < b_.le.size()) bump(v[i]);
  bump(v[kMaxBuckets]);
  bump(v[kMaxBuckets + 1], static_cast<uint64_t>(std::llround(std::max(0.0, value) * b_.scale)));
}

Shard::Shard(unsigned max_models, const Extras& e)
    : extras(e),
      models(max_models),
      requests(4096, key(api::kOther, code_index(500), kCategoryNone, kModelOther, kBackendNone)),
      tokens(512, key(0, 0, 0, kModelOther, 0)),
      request_duration(duration_buckets(), 1024),
      ttft(duration_buckets(), 512),
      tokens_per_second(rate_buckets(), 512),
      model_load(duration_buckets(), 512),
      upstream_connect(duration_buckets(), 2),
      complexity(score_buckets(), 4),
      queue_wait(duration_buckets(), 2),
      tokens_generated(token_count_buckets(), e.seed_names ? 1024 : 2),
      keys(e.key_labels ? e.max_keys : 0) {}

void Shard::record(const RequestRecord& r) {
  uint8_t model = r.model_unknown ? kModelOther : models.intern(r.model);
  bump(requests.slot(key(r.endpoint, code_index(r.status), r.category, model, r.backend))[0]);
  request_duration.observe(key(r.endpoint, 0, 0, model, 0), r.duration_s);
  if (r.ttft_s >= 0) ttft.observe(key(0, 0, 0, model, 0), r.ttft_s);
  if (r.connect_s >= 0) upstream_connect.observe(1, r.connect_s);
  if (r.prompt_tokens >= 0 || r.completion_tokens >= 0) {
    std::atomic<uint64_t>* t = tokens.slot(key(0, 0, 0, model, 0));
    if (r.prompt_tokens > 0) bump(t[0], static_cast<uint64_t>(r.prompt_tokens));
    if (r.completion_tokens > 0) bump(t[1], static_cast<uint64_t>(r.completion_tokens));
  }
  if (r.completion_tokens > 0 && r.eval_duration_ns > 0) {
    tokens_per_second.observe(key(0, 0, 0, model, 0), double(r.completion_tokens) * 1e9 / double(r.eval_duration_ns));
  }
  if (r.load_duration_ns >= 0) model_load.observe(key(0, 0, 0, model, 0), double(r.load_duration_ns) / 1e9);
  if (r.complexity_score >= 0) complexity.observe(key(0, 0, r.complexity, 0, 0), r.complexity_score);
  if (extras.seed_names) record_seed(r, model);
  if (extras.key_labels) record_key(r);
}

void Shard::record_seed(const RequestRecord& r, uint8_t model) {
  if (r.completion_tokens >= 0) {
    tokens_generated.observe(key(0, 0, r.category, model, 0), double(r.completion_tokens));
  }
  if (!api::is_local(r.endpoint)) {  // scrapes and health probes are not the fleet's load
    last_minute.add(window_now_s(), static_cast<uint64_t>(std::llround(std::max(0.0, r.duration_s) * 1e6)));
  }
}

void Shard::record_key(const RequestRecord& r) {
  uint8_t id = keys.intern(r.key);
  if (id == LabelNames::kNone) return;
  bump(key_requests[id]);
  uint64_t t = static_cast<uint64_t>(std::max<int64_t>(r.prompt_tokens, 0) + std::max<int64_t>(r.completion_tokens, 0));
  if (t) bump(key_tokens[id], t);
}

Registry::Registry(unsigned shards, unsigned max_models, const Extras& extras) : extras_(extras) {
  for (unsigned i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>(max_models, extras));
}

namespace {

template <typename F>
uint64_t total(const std::vector<std::unique_ptr<Shard>>& shards, F field) {
  uint64_t t = 0;
  for (const auto& s : shards) t += field(*s).load(std::memory_order_relaxed);
  return t;
}

// started - finished style gauge for one backend slot, summed over shards.
uint64_t gauge(const std::vector<std::unique_ptr<Shard>>& shards, Counter (Shard::*in)[256], Counter (Shard::*out)[256],
               size_t b) {
  uint64_t a = 0, z = 0;
  for (const auto& s : shards) {
    a += ((*s).*in)[b].load(std::memory_order_relaxed);
    z += ((*s).*out)[b].load(std::memory_order_relaxed);
  }
  return a >= z ? a - z : 0;
}

// Sums one histogram family across shards, keyed by its rendered label set.
template <typename LabelFn>
void render_histogram(std::string& out, std::string_view ns, std::string_view name, std::string_view help,
                      const std::vector<std::unique_ptr<Shard>>& shards, Histogram Shard::*h, LabelFn labels) {
  family(out, ns, name, "histogram", help);
  std::map<std::string, HistSum> sums;
  const Buckets& b = ((*shards[0]).*h).buckets();
  for (const auto& s : shards) {
    ((*s).*h).for_each([&](uint64_t k, const std::atomic<uint64_t>* v) {
      HistSum& hs = sums[labels(*s, k)];
      hs.buckets.resize(b.le.size());
      for (size_t i = 0; i < b.le.size(); ++i) hs.buckets[i] += v[i].load(std::memory_order_relaxed);
      hs.count += v[kMaxBuckets].load(std::memory_order_relaxed);
      hs.sum += v[kMaxBuckets + 1].load(std::memory_order_relaxed);
    });
  }
  std::string series = std::string(name) + "_bucket";
  for (const auto& [lbl, hs] : sums) {
    uint64_t cum = 0;
    std::string prefix = std::string(ns) + "_" + series + "{" + lbl + (lbl.empty() ? "" : ",") + "le=\"";
    for (size_t i = 0; i < b.le.size(); ++i) {
      cum += hs.buckets[i];
      out.append(prefix).append(b.le_text[i]).append("\"} ").append(std::to_string(cum)).append("\n");
    }
    out.append(prefix).append("+Inf\"} ").append(std::to_string(hs.count)).append("\n");
    sample(out, ns, std::string(name) + "_sum", lbl, fmt(double(hs.sum) / b.scale));
    sample(out, ns, std::string(name) + "_count", lbl, std::to_string(hs.count));
  }
}

// A counter family with one label whose values are a fixed enum.
template <size_t N>
void render_by_enum(std::string& out, std::string_view ns, std::string_view name, std::string_view help,
                    std::string_view label_name, const std::array<std::string_view, N>& values,
                    const std::vector<std::unique_ptr<Shard>>& shards, Counter (Shard::*field)[N]) {
  family(out, ns, name, "counter", help);
  for (size_t i = 0; i < N; ++i) {
    std::string l;
    label(l, label_name, values[i]);
    uint64_t v = 0;
    for (const auto& s : shards) v += ((*s).*field)[i].load(std::memory_order_relaxed);
    sample(out, ns, name, l, std::to_string(v));
  }
}

}  // namespace

// Seed 000's gauges: the last minute's proxied requests and their mean duration, utilization as a percentage
// (0-100, for HPA targets written against it) and the healthy backends under its name.
void Registry::render_seed_gauges(std::string& out, std::string_view ns, double utilization, size_t healthy) const {
  MinuteWindow::Totals t;
  int64_t now = window_now_s();
  for (const auto& s : shards_) {
    MinuteWindow::Totals st = s->last_minute.sum(now);
    t.requests += st.requests;
    t.duration_us += st.duration_us;
  }
  family(out, ns, "requests_per_minute", "gauge", "Proxied requests finished in the last 60 seconds.");
  sample(out, ns, "requests_per_minute", "", std::to_string(t.requests));
  family(out, ns, "avg_response_time", "gauge",
         "Mean duration in seconds of the proxied requests finished in the last 60 seconds (0 without any).");
  sample(out, ns, "avg_response_time", "", fmt(t.requests ? double(t.duration_us) / 1e6 / double(t.requests) : 0));
  family(out, ns, "utilization_percent", "gauge", "utilization_ratio as a percentage, capped at 100.");
  sample(out, ns, "utilization_percent", "", fmt(std::min(100.0, utilization * 100)));
  family(out, ns, "healthy_endpoints", "gauge", "Backends answering health checks (healthy_backends).");
  sample(out, ns, "healthy_endpoints", "", std::to_string(healthy));
}

// Per-key counters summed by name: each worker numbers the keys it has seen in its own order.
void Registry::render_keys(std::string& out, std::string_view ns) const {
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_key;
  for (const auto& s : shards_) {
    size_t n = s->keys.size();
    auto add = [&](uint8_t id) {
      uint64_t r = s->key_requests[id].load(std::memory_order_relaxed);
      uint64_t t = s->key_tokens[id].load(std::memory_order_relaxed);
      if (!r && !t) return;
      std::string l;
      label(l, "key", s->keys.name(id));
      auto& v = by_key[l];
      v.first += r;
      v.second += t;
    };
    for (size_t id = 0; id < n; ++id) add(static_cast<uint8_t>(id));
    add(LabelNames::kOther);
  }
  family(out, ns, "key_requests_total", "counter", "Requests answered, by API key (metrics.key_labels).");
  for (const auto& [l, v] : by_key) sample(out, ns, "key_requests_total", l, std::to_string(v.first));
  family(out, ns, "key_tokens_total", "counter", "Prompt plus completion tokens reported by backends, by API key.");
  for (const auto& [l, v] : by_key) sample(out, ns, "key_tokens_total", l, std::to_string(v.second));
}

void Registry::render(std::string& out, const RenderOptions& o, const std::vector<BackendGauge>& backends) const {
  std::string_view ns = o.ns;
  auto backend_name = [&](uint8_t b) -> std::string_view {
    return b < backends.size() ? std::string_view(backends[b].url) : std::string_view("none");
  };
  auto model_label = [](const Shard& s, uint64_t k) {
    std::string l;
    label(l, "model", s.models.name(k_model(k)));
    return l;
  };

  std::string_view requests_help =
      extras_.seed_names
          ? "Requests answered, by API endpoint, model, backend, HTTP status sent (code, and status as seed 004 named "
            "it) and prompt category (category, and prompt_category)."
          : "Requests answered, by API endpoint, model, backend, HTTP status sent and prompt category.";
  family(out, ns, "requests_total", "counter", requests_help);
  std::map<std::string, uint64_t> reqs;
  for (const auto& s : shards_) {
    s->requests.for_each([&](uint64_t k, const std::atomic<uint64_t>* v) {
      std::string l;
      label(l, "endpoint", api::endpoint_name(static_cast<api::Endpoint>(k_endpoint(k))));
      label(l, "model", s->models.name(k_model(k)));
      label(l, "backend", backend_name(k_backend(k)));
      label(l, "code", code_label(static_cast<int>(k_code(k))));
      std::string_view category = category_label(k);
      label(l, "category", category);
      if (extras_.seed_names) {  // seed 004's names for the same two labels
        label(l, "prompt_category", category);
        label(l, "status", code_label(static_cast<int>(k_code(k))));
      }
      reqs[l] += v[0].load(std::memory_order_relaxed);
    });
  }
  for (const auto& [l, v] : reqs) sample(out, ns, "requests_total", l, std::to_string(v));

  render_histogram(out, ns, "request_duration_seconds", "Time from request start to the last response byte.", shards_,
                   &Shard::request_duration, [](const Shard& s, uint64_t k) {
                     std::string l;
                     label(l, "endpoint", api::endpoint_name(static_cast<api::Endpoint>(k_endpoint(k))));
                     label(l, "model", s.models.name(k_model(k)));
                     return l;
                   });
  render_histogram(out, ns, "time_to_first_token_seconds", "Time from request start to the first response body byte.",
                   shards_, &Shard::ttft, model_label);
  render_histogram(out, ns, "upstream_connect_seconds", "Time to open a TCP connection to a backend.", shards_,
                   &Shard::upstream_connect, [](const Shard&, uint64_t) { return std::string(); });
  render_histogram(out, ns, "tokens_per_second", "Generation speed: eval_count / eval_duration of each answer.",
                   shards_, &Shard::tokens_per_second, model_label);
  render_histogram(out, ns, "model_load_seconds", "load_duration reported by the backend.", shards_, &Shard::model_load,
                   model_label);
  render_histogram(out, ns, "complexity_score", "Prompt complexity estimate (0-100) by class.", shards_,
                   &Shard::complexity, [](const Shard&, uint64_t k) {
                     std::string l;
                     label(l, "complexity", api::complexity_name(static_cast<api::ComplexityClass>(k_category(k))));
                     return l;
                   });
  if (extras_.seed_names) {
    render_histogram(out, ns, "tokens_generated", "Tokens generated per answer (eval_count, usage.completion_tokens).",
                     shards_, &Shard::tokens_generated, [](const Shard& s, uint64_t k) {
                       std::string l;
                       label(l, "model", s.models.name(k_model(k)));
                       label(l, "prompt_category", category_label(k));
                       return l;
                     });
  }
  render_histogram(out, ns, "queue_wait_seconds", "Time requests waited for admission (corral does not queue yet).",
                   shards_, &Shard::queue_wait, [](const Shard&, uint64_t) { return std::string(); });

  std::map<std::string, std::pair<uint64_t, uint64_t>> toks;
  for (const auto& s : shards_) {
    s->tokens.for_each([&](uint64_t k, const std::atomic<uint64_t>* v) {
      auto& t = toks[model_label(*s, k)];
      t.first += v[0].load(std::memory_order_relaxed);
      t.second += v[1].load(std::memory_order_relaxed);
    });
  }
  family(out, ns, "prompt_tokens_total", "counter",
         "Prompt tokens reported by backends (prompt_eval_count, usage.prompt_tokens).");
  for (const auto& [l, t] : toks) sample(out, ns, "prompt_tokens_total", l, std::to_string(t.first));
  family(out, ns, "completion_tokens_total", "counter",
         "Generated tokens reported by backends (eval_count, usage.completion_tokens).");
  for (const auto& [l, t] : toks) sample(out, ns, "completion_tokens_total", l, std::to_string(t.second));
  if (extras_.key_labels) render_keys(out, ns);

  uint64_t in_flight_total = 0;
  uint64_t capacity = 0;
  size_t healthy = 0;
  family(out, ns, "active_requests", "gauge", "Requests being proxied, by backend.");
  for (size_t b = 0; b < backends.size(); ++b) {
    if (!backends[b].present) continue;
    uint64_t n = gauge(shards_, &Shard::backend_started, &Shard::backend_finished, b);
    in_flight_total += n;
    std::string l;
    label(l, "backend", backends[b].url);
    sample(out, ns, "active_requests", l, std::to_string(n));
    if (backends[b].up) {
      ++healthy;
      capacity += backends[b].max_concurrent ? backends[b].max_concurrent : o.default_capacity;
    }
  }
  family(out, ns, "queued_requests", "gauge",
         "Requests waiting for admission (max_concurrent reached), by first-choice backend.");
  for (size_t b = 0; b < backends.size(); ++b) {
    if (!backends[b].present) continue;
    std::string l;
    label(l, "backend", backends[b].url);
    sample(out, ns, "queued_requests", l, std::to_string(gauge(shards_, &Shard::queue_in, &Shard::queue_out, b)));
  }
  family(out, ns, "in_flight_requests", "gauge", "All requests in flight, local endpoints included.");
  uint64_t st = total(shards_, [](Shard& s) -> Counter& { return s.requests_started; });
  uint64_t fi = total(shards_, [](Shard& s) -> Counter& { return s.requests_finished; });
  sample(out, ns, "in_flight_requests", "", std::to_string(st >= fi ? st - fi : 0));

  render_by_enum(out, ns, "rejected_total", "Requests refused before proxying, by reason.", "reason", kRejectNames,
                 shards_, &Shard::rejected);
  render_by_enum(out, ns, "errors_total", "Upstream and client errors, by kind.", "kind", kErrorNames, shards_,
                 &Shard::errors);

  family(out, ns, "backend_up", "gauge", "1 when the backend answers health checks.");
  family(out, ns, "backend_models_loaded", "gauge", "Models loaded on the backend (/api/ps).");
  family(out, ns, "backend_vram_bytes", "gauge", "VRAM used by loaded models on the backend (/api/ps size_vram).");
  for (const auto& b : backends) {
    if (!b.present) continue;
    std::string l;
    label(l, "backend", b.url);
    sample(out, ns, "backend_up", l, b.up ? "1" : "0");
    if (b.models_loaded >= 0) sample(out, ns, "backend_models_loaded", l, std::to_string(b.models_loaded));
    if (b.vram_bytes >= 0) sample(out, ns, "backend_vram_bytes", l, std::to_string(b.vram_bytes));
  }
  family(out, ns, "healthy_backends", "gauge", "Backends answering health checks.");
  sample(out, ns, "healthy_backends", "", std::to_string(healthy));
  double utilization = capacity ? double(in_flight_total) / double(capacity) : (in_flight_total ? 1 : 0);
  family(out, ns, "utilization_ratio", "gauge",
         "In-flight requests / capacity of healthy backends (the autoscaling signal).");
  sample(out, ns, "utilization_ratio", "", fmt(utilization));
  if (extras_.seed_names) render_seed_gauges(out, ns, utilization, healthy);
  if (!o.groups.empty()) render_groups(out, ns, o.groups);

  struct Plain {
    std::string_view name, type, help;
    Counter Shard::*field;
  };
  static const Plain plain[] = {
      {"bytes_received_total", "counter", "Bytes received from clients.", &Shard::bytes_received},
      {"bytes_sent_total", "counter", "Bytes sent to clients.", &Shard::bytes_sent},
      {"client_connections_total", "counter", "Client connections accepted.", &Shard::client_connections},
      {"upstream_connections_opened_total", "counter", "TCP connections opened to backends.",
       &Shard::upstream_connects},
      {"upstream_reuse_total", "counter", "Requests sent on a pooled keep-alive backend connection.",
       &Shard::upstream_reuses},
      {"backpressure_pauses_total", "counter", "Times a slow client made corral stop reading from the backend.",
       &Shard::backpressure_pauses},
      {"failovers_total", "counter",
       "Requests moved to the next backend after a failure before the first response byte.", &Shard::failovers},
      {"analytics_dropped_total", "counter",
       "Analytics records dropped because a worker's ring to the offload thread was full.", &Shard::analytics_dropped},
  };
  for (const Plain& p : plain) {
    family(out, ns, p.name, p.type, p.help);
    uint64_t v = 0;
    for (const auto& s : shards_) v += ((*s).*(p.field)).load(std::memory_order_relaxed);
    sample(out, ns, p.name, "", std::to_string(v));
  }
  uint64_t idle = total(shards_, [](Shard& s) -> Counter& { return s.upstream_idle; });
  uint64_t live = total(shards_, [](Shard& s) -> Counter& { return s.upstream_live; });
  uint64_t sessions = total(shards_, [](Shard& s) -> Counter& { return s.client_sessions; });
  family(out, ns, "client_sessions", "gauge",
         "Open client connections (one session each), as of the workers' last tick.");
  sample(out, ns, "client_sessions", "", std::to_string(sessions));
  family(out, ns, "upstream_connections", "gauge", "Open backend connections by state.");
  sample(out, ns, "upstream_connections", "state=\"idle\"", std::to_string(idle));
  sample(out, ns, "upstream_connections", "state=\"active\"", std::to_string(live >= idle ? live - idle : 0));

  if (o.analytics_written >= 0) {
    family(out, ns, "analytics_records_written_total", "counter", "Analytics records written to the store.");
    sample(out, ns, "analytics_records_written_total", "", std::to_string(o.analytics_written));
    family(out, ns, "analytics_write_errors_total", "counter",
           "Analytics spool or store writes that failed (kept and retried).");
    sample(out, ns, "analytics_write_errors_total", "", std::to_string(o.analytics_write_errors));
    family(out, ns, "analytics_backlog_records", "gauge",
           "Analytics records spooled on disk and not in the store yet (it waits while the machine is busy).");
    sample(out, ns, "analytics_backlog_records", "", std::to_string(o.analytics_backlog));
  }
  family(out, ns, "build_info", "gauge", "Build and runtime facts; always 1.");
  out.append(ns).append("_build_info{version=\"" CORRAL_VERSION "\",io=\"").append(o.io).append("\"} 1\n");
  render_process_metrics(out);
}

// Seed 001's scaling signals, per group, so an HPA or KEDA can follow corral's own decision.
void Registry::render_groups(std::string& out, std::string_view ns, const std::vector<GroupGauge>& groups) {
  family(out, ns, "desired_replicas", "gauge", "Members the scaling group wants up (its last decision).");
  for (const GroupGauge& g : groups) {
    std::string l;
    label(l, "group", g.name);
    sample(out, ns, "desired_replicas", l, std::to_string(g.desired));
  }
  family(out, ns, "complexity_load", "gauge",
         "Weighted in-flight and queued load of the scaling group (model weight x complexity factor).");
  for (const GroupGauge& g : groups) {
    std::string l;
    label(l, "group", g.name);
    sample(out, ns, "complexity_load", l, fmt(g.load));
  }
  family(out, ns, "scaling_decisions_total", "counter", "Scale-up and scale-down decisions of the scaling group.");
  for (const GroupGauge& g : groups) {
    for (auto [dir, n] : {std::pair<std::string_view, uint64_t>{"up", g.ups}, {"down", g.downs}}) {
      std::string l;
      label(l, "group", g.name);
      label(l, "direction", dir);
      sample(out, ns, "scaling_decisions_total", l, std::to_string(n));
    }
  }
}

}  // namespace corral::metrics
