// Endpoints corral answers itself: GET /health, GET /metrics, GET /status.
#pragma once
#include "corral/http/head.h"
#include "corral/http/response.h"
#include "corral/proxy/context.h"
#include "corral/proxy/endpoint.h"

namespace corral::admin {

http::LocalResponse respond(proxy::WorkerContext& ctx, const http::Head& head, proxy::Endpoint e);

// {"status":"ok"|"unavailable","backends":[{"url":…,"up":…}]}; 503 when none is up.
http::LocalResponse health(const route::RoutingSnapshot& s, const route::BackendTable& table);

// Per member: up, latency, models, loaded models with VRAM, in flight, queue,
// circuit, last error, last seen; and the cluster summary autoscalers read.
http::LocalResponse status(proxy::WorkerContext& ctx);

}  // namespace corral::admin
