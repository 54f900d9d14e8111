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
  for (const auto& b : *ctx.backends) gauges.push_back({b->cfg.url, b->up.load(std::memory_order_relaxed)});
  ctx.registry->render(r.body, ctx.io_name, gauges);
  return r;
}

}  // namespace corral::admin
