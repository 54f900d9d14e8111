#include "corral/admin/admin.h"

namespace corral::admin {

http::LocalResponse health(const route::BackendList& backends) {
  http::LocalResponse r;
  bool any_up = false;
  std::string list;
  for (const auto& b : backends) {
    bool up = b->up.load(std::memory_order_relaxed);
    any_up = any_up || up;
    if (!list.empty()) list += ",";
    list += "{\"url\":\"";
    http::json_escape(list, b->cfg.url);
    list += up ? "\",\"up\":true}" : "\",\"up\":false}";
  }
  r.status = any_up ? 200 : 503;
  r.body = std::string("{\"status\":\"") + (any_up ? "ok" : "unavailable") + "\",\"backends\":[" + list + "]}";
  return r;
}

http::LocalResponse respond(proxy::WorkerContext& ctx, const http::Head& head, proxy::Endpoint e) {
  if (head.method() != "GET" && head.method() != "HEAD") {
    return http::json_error(405, "method not allowed on " + std::string(head.path()));
  }
  if (e == proxy::kHealth) return health(*ctx.backends);
  http::LocalResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::vector<metrics::BackendGauge> gauges;
  for (const auto& b : *ctx.backends) {
    gauges.push_back({b->cfg.url, b->up.load(std::memory_order_relaxed), b->cfg.max_concurrent,
                      b->models_loaded.load(std::memory_order_relaxed), b->vram_bytes.load(std::memory_order_relaxed)});
  }
  metrics::RenderOptions o{ctx.cfg->metrics.ns, ctx.io_name, ctx.cfg->metrics.default_capacity};
  r.body.reserve(16384);
  ctx.registry->render(r.body, o, gauges);
  return r;
}

}  // namespace corral::admin
