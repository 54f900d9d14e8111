// Endpoints corral answers itself: GET /health and GET /metrics.
#pragma once
#include "corral/http/head.h"
#include "corral/http/response.h"
#include "corral/proxy/context.h"
#include "corral/proxy/endpoint.h"

namespace corral::admin {

http::LocalResponse respond(proxy::WorkerContext& ctx, const http::Head& head, proxy::Endpoint e);

// {"status":"ok"|"unavailable","backends":[{"url":…,"up":…}]}; 503 when none is up.
http::LocalResponse health(const route::BackendList& backends);

}  // namespace corral::admin
