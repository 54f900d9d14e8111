// GET /status: the fleet as the control thread last saw it, plus live counters.
#include <cstdio>
#include <ctime>

#include "corral/admin/admin.h"
#include "corral/api/json.h"
#include "corral/core/clock.h"

namespace corral::admin {
namespace {

class Json {
 public:
  std::string out;
  Json& raw(std::string_view s) { return out.append(s), *this; }
  Json& key(std::string_view k) {
    if (!out.empty() && out.back() != '{' && out.back() != '[') out.push_back(',');
    out.push_back('"');
    out.append(k).append("\":");
    return *this;
  }
  Json& str(std::string_view k, std::string_view v) {
    key(k).raw("\"");
    api::json_escape(out, v);
    return raw("\"");
  }
  Json& num(std::string_view k, double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.10g", v);
    return key(k).raw(b);
  }
  Json& boolean(std::string_view k, bool v) { return key(k).raw(v ? "true" : "false"); }
  Json& item() {  // before an object inside an array
    if (out.back() != '[') out.push_back(',');
    return *this;
  }
};

std::string iso8601(int64_t unix_s) {
  if (unix_s <= 0) return "";
  std::time_t t = unix_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

void member(Json& j, const route::RoutingSnapshot& s, const route::MemberView& m, const route::Backend& b,
            uint64_t now_ms) {
  j.item().raw("{");
  j.str("name", m.cfg.name).str("url", b.url).str("address", m.address);
  if (const route::LifecycleView* l = s.lifecycle(m.cfg.name)) j.raw(",").raw(l->status_json);
  j.boolean("up", m.healthy).boolean("enabled", m.cfg.enabled).num("priority", m.cfg.priority);
  j.num("max_concurrent", m.cfg.max_concurrent);
  if (m.cfg.max_memory_gb > 0) j.num("max_memory_gb", m.cfg.max_memory_gb);
  else j.key("max_memory_gb").raw("null");
  if (m.latency_ms >= 0) j.num("latency_ms", m.latency_ms);
  j.str("version", m.version);
  j.key("models").raw("[");
  for (const route::ModelInfo& mi : m.models)
    j.item().raw("{").str("name", mi.name).num("size", double(mi.size)).raw("}");
  j.raw("]").key("loaded").raw("[");
  int64_t vram = 0;
  for (const route::LoadedModel& l : m.loaded) {
    vram += l.size_vram;
    j.item().raw("{").str("name", l.name).num("size", double(l.size)).num("size_vram", double(l.size_vram));
    j.str("expires_at", l.expires_at).raw("}");
  }
  j.raw("]").num("vram_bytes", double(vram));
  j.num("in_flight", b.inflight.load(std::memory_order_relaxed))
      .num("queued", b.queued.load(std::memory_order_relaxed));
  j.str("circuit", route::circuit_name(route::circuit_state(b, now_ms)));
  j.num("consecutive_failures", b.failures.load(std::memory_order_relaxed));
  j.str("last_error", m.last_error).str("last_seen", iso8601(m.last_seen_unix));
  j.raw("}");
}

// With one on-demand backend, seed 002's top-level fields: provisioning_status, remote_url, …
void on_demand_summary(Json& j, const route::RoutingSnapshot& s) {
  const route::LifecycleView* only = nullptr;
  for (const route::LifecycleView& l : s.lifecycles) {
    if (!l.on_demand) continue;
    if (only) return;
    only = &l;
  }
  if (only) j.raw(",").raw(only->status_json);
}

}  // namespace

http::LocalResponse status(const Sources& src) {
  const route::RoutingSnapshot& s = src.snapshot;
  const route::BackendTable& table = src.table;
  uint64_t now_ms = static_cast<uint64_t>(core::mono_us() / 1000);
  Json j;
  j.raw("{").key("backends").raw("[");
  uint64_t in_flight = 0, queued = 0, capacity = 0, healthy = 0;
  for (const route::MemberView& m : s.members) {
    const route::Backend& b = table[m.slot];
    member(j, s, m, b, now_ms);
    in_flight += b.inflight.load(std::memory_order_relaxed);
    queued += b.queued.load(std::memory_order_relaxed);
    if (m.healthy && m.cfg.enabled) {
      ++healthy;
      capacity += m.cfg.max_concurrent ? m.cfg.max_concurrent : src.cfg.metrics.default_capacity;
    }
  }
  for (const route::LifecycleView& l : s.lifecycles) {  // on-demand backends with no address yet
    bool listed = false;
    for (const route::MemberView& m : s.members) listed = listed || m.cfg.name == l.name;
    if (!listed) j.item().raw("{").str("name", l.name).boolean("up", false).raw(",").raw(l.status_json).raw("}");
  }
  j.raw("]");
  on_demand_summary(j, s);
  j.key("cluster").raw("{");
  j.num("backends", double(s.members.size())).num("healthy_endpoints", double(healthy));
  j.num("in_flight", double(in_flight)).num("queued", double(queued)).num("capacity", double(capacity));
  j.num("utilization", capacity ? double(in_flight) / double(capacity) : 0).raw("}");
  if (!s.scaling.empty()) {
    j.key("scaling").raw("[");
    for (const route::ScalingView& g : s.scaling) {
      j.item().raw("{").str("group", g.group).num("desired", g.desired).num("load", g.load);
      j.num("scale_ups", double(g.ups)).num("scale_downs", double(g.downs)).raw("}");
    }
    j.raw("]");
  }
  j.raw("}");
  http::LocalResponse r;
  r.body = std::move(j.out);
  return r;
}

}  // namespace corral::admin
