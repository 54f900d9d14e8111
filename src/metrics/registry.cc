#include "corral/metrics/registry.h"

#include <array>

#include "corral/http/response.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

namespace corral::metrics {
namespace {
constexpr std::array<int, kCodeCount - 5> kCodes = {200, 201, 204, 206, 301, 302, 304, 307, 400, 401, 403, 404, 405,
                                                    408, 409, 413, 415, 422, 429, 431, 500, 501, 502, 503, 504, 505,
                                                    507};
constexpr std::array<std::string_view, 5> kClasses = {"1xx", "2xx", "3xx", "4xx", "5xx"};

template <typename F>
uint64_t sum(const std::vector<std::unique_ptr<Shard>>& shards, F field) {
  uint64_t total = 0;
  for (const auto& s : shards) total += field(*s).load(std::memory_order_relaxed);
  return total;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
  out.append(type).append("\n");
}

void sample(std::string& out, std::string_view name, uint64_t v) {
  out.append(name).append(" ").append(std::to_string(v)).append("\n");
}
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
  static std::array<std::string, kCodes.size()> names = [] {
    std::array<std::string, kCodes.size()> n;
    for (size_t i = 0; i < kCodes.size(); ++i) n[i] = std::to_string(kCodes[i]);
    return n;
  }();
  if (index < static_cast<int>(kCodes.size())) return names[index];
  return kClasses[index - kCodes.size()];
}

Registry::Registry(unsigned shards) {
  for (unsigned i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

void Registry::render(std::string& out, std::string_view io_backend, const std::vector<BackendGauge>& backends) const {
  family(out, "corral_requests_total", "counter", "Requests answered, by API endpoint and HTTP status sent.");
  for (int e = 0; e < proxy::kEndpointCount; ++e) {
    for (int c = 0; c < kCodeCount; ++c) {
      uint64_t v = 0;
      for (const auto& s : shards_) v += s->requests[e][c].load(std::memory_order_relaxed);
      if (v == 0) continue;
      out.append("corral_requests_total{endpoint=\"").append(proxy::endpoint_name(static_cast<proxy::Endpoint>(e)));
      out.append("\",code=\"").append(code_label(c)).append("\"} ").append(std::to_string(v)).append("\n");
    }
  }
  family(out, "corral_active_requests", "gauge", "Requests in flight.");
  uint64_t started = sum(shards_, [](Shard& s) -> Counter& { return s.requests_started; });
  uint64_t finished = sum(shards_, [](Shard& s) -> Counter& { return s.requests_finished; });
  sample(out, "corral_active_requests", started >= finished ? started - finished : 0);
  family(out, "corral_upstream_connections_opened_total", "counter", "TCP connections opened to backends.");
  sample(out, "corral_upstream_connections_opened_total", sum(shards_, [](Shard& s) -> Counter& { return s.upstream_connects; }));
  family(out, "corral_upstream_reuse_total", "counter", "Requests sent on a pooled keep-alive backend connection.");
  sample(out, "corral_upstream_reuse_total", sum(shards_, [](Shard& s) -> Counter& { return s.upstream_reuses; }));
  family(out, "corral_upstream_errors_total", "counter", "Backend connect, reset and timeout errors.");
  sample(out, "corral_upstream_errors_total", sum(shards_, [](Shard& s) -> Counter& { return s.upstream_errors; }));
  family(out, "corral_bytes_received_total", "counter", "Bytes received from clients.");
  sample(out, "corral_bytes_received_total", sum(shards_, [](Shard& s) -> Counter& { return s.bytes_received; }));
  family(out, "corral_bytes_sent_total", "counter", "Bytes sent to clients.");
  sample(out, "corral_bytes_sent_total", sum(shards_, [](Shard& s) -> Counter& { return s.bytes_sent; }));
  family(out, "corral_client_connections_total", "counter", "Client connections accepted.");
  sample(out, "corral_client_connections_total", sum(shards_, [](Shard& s) -> Counter& { return s.client_connections; }));
  family(out, "corral_malformed_requests_total", "counter", "Requests rejected as malformed or over limits.");
  sample(out, "corral_malformed_requests_total", sum(shards_, [](Shard& s) -> Counter& { return s.rejected_malformed; }));
  family(out, "corral_backend_up", "gauge", "1 when the backend answers health checks.");
  for (const BackendGauge& b : backends) {
    out.append("corral_backend_up{backend=\"");
    http::json_escape(out, b.url);
    out.append("\"} ").append(b.up ? "1" : "0").append("\n");
  }
  family(out, "corral_build_info", "gauge", "Build and runtime facts; always 1.");
  out.append("corral_build_info{version=\"" CORRAL_VERSION "\",io=\"").append(io_backend).append("\"} 1\n");
}

}  // namespace corral::metrics
