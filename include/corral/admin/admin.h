// Endpoints corral answers itself: GET /health, GET /metrics, GET /status.
#pragma once
#include <string_view>

#include "corral/api/endpoint.h"
#include "corral/config/config.h"
#include "corral/http/head.h"
#include "corral/http/response.h"
#include "corral/metrics/registry.h"
#include "corral/route/backend.h"
#include "corral/route/snapshot.h"

namespace corral::analytics {
class Service;
}

namespace corral::admin {

// What the local endpoints read (all owned elsewhere, read-only here).
struct Sources {
  const route::RoutingSnapshot& snapshot;
  const route::BackendTable& table;
  const config::Config& cfg;
  const metrics::Registry& registry;
  const analytics::Service* analytics;  // null: analytics off
  std::string_view io_name;
};

http::LocalResponse respond(const Sources& src, const http::Head& head, api::Endpoint e);

// {"status":"ok"|"unavailable","backends":[{"url":…,"up":…}]}; 503 when none is up.
http::LocalResponse health(const route::RoutingSnapshot& s, const route::BackendTable& table);

// Per member: up, latency, models, loaded models with VRAM, in flight, queue,
// circuit, last error, last seen; and the cluster summary autoscalers read.
http::LocalResponse status(const Sources& src);

}  // namespace corral::admin
