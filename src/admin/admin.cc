#include "corral/admin/admin.h"

#include <algorithm>

#include "corral/analytics/service.h"
#include "corral/api/errors.h"
#include "corral/api/json.h"

namespace corral::admin {

http::LocalResponse health(const route::RoutingSnapshot& s, const route::BackendTable& table) {
  http::LocalResponse r;
  bool any_up = false;
  std::string list;
  for (const route::MemberView& m : s.members) {
    any_up = any_up || m.healthy;
    if (!list.empty()) list += ",";
    list += "{\"url\":\"";
    api::json_escape(list, table[m.slot].url);
    list += m.healthy ? "\",\"up\":true}" : "\",\"up\":false}";
  }
  r.status = any_up ? 200 : 503;
  r.body = std::string("{\"status\":\"") + (any_up ? "ok" : "unavailable") + "\",\"backends\":[" + list + "]}";
  return r;
}

namespace {

http::LocalResponse metrics_page(const Sources& src) {
  http::LocalResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  const route::RoutingSnapshot& s = src.snapshot;
  const route::BackendTable& table = src.table;
  std::vector<metrics::BackendGauge> gauges(table.size());
  for (size_t slot = 0; slot < gauges.size(); ++slot) {
    metrics::BackendGauge& g = gauges[slot];
    g.url = table[slot].url;
    const route::MemberView* m = s.member(static_cast<uint8_t>(slot));
    g.present = m != nullptr;
    if (!m) continue;
    g.up = m->healthy;
    g.max_concurrent = m->cfg.max_concurrent;
    if (m->healthy) {
      g.models_loaded = static_cast<int64_t>(m->loaded.size());
      g.vram_bytes = 0;
      for (const route::LoadedModel& l : m->loaded) g.vram_bytes += l.size_vram;
    }
  }
  metrics::RenderOptions o;
  o.ns = src.cfg.metrics.ns;
  o.io = src.io_name;
  o.default_capacity = src.cfg.metrics.default_capacity;
  if (src.analytics) {
    o.analytics_written = static_cast<int64_t>(src.analytics->written());
    o.analytics_write_errors = static_cast<int64_t>(src.analytics->write_errors());
    o.analytics_backlog = static_cast<int64_t>(src.analytics->backlog());
  }
  for (const route::ScalingView& g : s.scaling) o.groups.push_back({g.group, g.load, g.desired, g.ups, g.downs});
  r.body.reserve(16384);
  src.registry.render(r.body, o, gauges);
  return r;
}

}  // namespace

http::LocalResponse respond(const Sources& src, const http::Head& head, api::Endpoint e) {
  if (head.method() != "GET" && head.method() != "HEAD") {
    return http::json_response(405, api::ollama_error("method not allowed on " + std::string(head.path())));
  }
  if (e == api::kHealth) return health(src.snapshot, src.table);
  if (e == api::kStatus) return status(src);
  return metrics_page(src);
}

}  // namespace corral::admin
