// The plan and routing stages of a session: what the body says, choosing the
// backend, the admission queue, failover to the next candidate, fan-out
// requests, and the errors a fleet gives.
#include <algorithm>
#include <cmath>

#include "corral/api/errors.h"
#include "corral/api/sniff.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {
constexpr std::string_view kQueueFull =
    "server busy: every backend for this request is at max_concurrent and the queue is full";
}  // namespace

// What routing, metrics and affinity need from the body; the bytes stay as they are.
void Session::plan() {
  Exchange& x = *ex_;
  std::string_view path = x.req.head().path();
  if (x.endpoint == api::kOaiModels && path.starts_with("/v1/models/")) x.facts.model.assign(path.substr(11));
  std::string& body = x.req.chunked() ? x.plain_body.text : x.body;
  if (body.empty()) return;
  api::RequestInfo info = api::analyze_request(body, ctx_.prompt_preview_bytes);
  if (!info.json) return;
  RequestFacts& f = x.facts;
  if (info.has_stream) f.stream = info.stream;
  f.prompt_preview = std::move(info.prompt_preview);
  f.model = std::move(info.model);
  f.source = std::move(info.source);
  f.affinity = info.prefix_hash;
  f.prompt_chars = static_cast<uint32_t>(info.prompt_chars);
  if (info.prompt_chars > 0) {
    f.category = info.category;
    f.complexity_score = info.complexity.score;
    f.complexity = info.complexity.cls;
  }
}

RouteQuestion Session::question() const {
  const RequestFacts& f = ex_->facts;
  return {f.model, f.pull, f.affinity, f.pull ? ex_->req.head().get("x-corral-backend") : std::string_view()};
}

void Session::route_request() {
  const http::Head& h = ex_->req.head();
  if (api::fanout_of(ex_->endpoint, h.method(), h.path()) != api::Fanout::none) {
    start_fanout();
    return;
  }
  try_route();
}

void Session::try_route() {
  route::Pick p = ex_->route.pick(ctx_, question());
  if (p.status == route::PickStatus::busy) {
    if (state_ != State::queued) enqueue(p.slot);
    return;
  }
  if (state_ == State::queued) leave_queue();
  if (p.status == route::PickStatus::ok) {
    ex_->route.admitted(p.slot);
    start_upstream(p.slot);
    return;
  }
  if (ex_->route.any_failed()) {  // every candidate failed: the client gets the last failure
    fail_upstream(ex_->route.fail_status(), ex_->route.fail_why());
    return;
  }
  const route::RoutingSnapshot& s = ctx_.snapshot();
  int last = s.any.empty() ? route::last_resort(s, ex_->route.tried()) : -1;
  if (last >= 0) {
    start_upstream(static_cast<uint8_t>(last));
    return;
  }
  route_failed(p.status);
}

void Session::route_failed(route::PickStatus why) {
  const std::string& m = ex_->facts.model;
  if (why == route::PickStatus::not_found) {  // Ollama's own words, per endpoint
    respond_error(404, api::model_not_found(ex_->endpoint, m));
  } else if (why == route::PickStatus::too_big) {
    respond_error(404, "model \"" + m + "\" is larger than max_memory_gb of every backend that has it");
  } else {
    std::string what = m.empty() ? std::string("no healthy backend") : "no healthy backend has model \"" + m + "\"";
    if (ex_->facts.pull) what = "no healthy backend accepts pulls of \"" + m + "\"";
    respond_local(busy_response(what), false);
  }
}

http::LocalResponse Session::busy_response(std::string_view why) {
  http::LocalResponse r = error_response(503, why);
  r.retry_after = std::max(1, static_cast<int>(std::ceil(ctx_.snapshot().routing.retry_after_ms / 1000.0)));
  return r;
}

// A backend failed this request before any response byte reached the client:
// the next candidate gets it, up to routing.max_attempts backends.
void Session::attempt_failed(int status, std::string why, bool circuit) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  uint8_t slot = ex_->backend;
  end_attempt();
  if (circuit) {
    route::record_outcome(ctx_.backend(slot), false, s.routing.circuit_failures, s.routing.circuit_cooldown_ms,
                          static_cast<uint64_t>(core::mono_us() / 1000));
  }
  ex_->route.release(ctx_);
  ex_->route.failed(slot, status, std::move(why));
  if (ex_->route.attempts_left(s.routing.max_attempts)) {
    log::write(log::Level::warn, "failover", "request_id=" + ex_->request_id + " backend=" + ctx_.backend(slot).url +
                                                 " error=" + log::quote(ex_->route.fail_why()));
    metrics::bump(ctx_.metrics->failovers);
    try_route();
    return;
  }
  fail_upstream(ex_->route.fail_status(), ex_->route.fail_why());
}

// A 5xx head: another candidate gets the request when there is one free now;
// else the 5xx goes to the client as it is. Ollama's 503 is backpressure, not a fault.
bool Session::fail_over_on_status(int status) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  if (status < 500 || ex_->route.attempts() + 1u >= s.routing.max_attempts) return false;
  route::Pick p = ex_->route.pick(ctx_, question(), ex_->backend);
  if (p.status != route::PickStatus::ok) return false;
  route::release(ctx_.backend(p.slot));  // attempt_failed picks again; this only proved one is free
  attempt_failed(status, "backend " + ctx_.backend(ex_->backend).url + " answered " + std::to_string(status),
                 status != 503);
  return true;
}

void Session::enqueue(uint8_t first_choice) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  uint8_t priority = ex_->key ? static_cast<uint8_t>(ex_->key->key.priority) : 1;
  if (ctx_.waiting.size() >= s.routing.queue_size) {
    Waiter* victim = ctx_.waiting.shed_for(priority);
    if (!victim) {
      ctx_.metrics->reject(metrics::kRejectQueueFull);
      respond_local(busy_response(kQueueFull), false);
      return;
    }
    victim->session->shed();
  }
  state_ = State::queued;
  ex_->route.enqueue(ctx_, *this, first_choice, priority);
  set_deadline(s.routing.queue_timeout_ms);
}

void Session::shed() {
  leave_queue();
  ctx_.metrics->reject(metrics::kRejectQueueFull);
  respond_local(busy_response(kQueueFull), false);
}

void Session::leave_queue() {
  ex_->route.leave_queue(ctx_);
  state_ = State::body;
}

void Session::retry_queued() {
  if (state_ == State::queued) try_route();
}

// The request as the backend in `slot` gets it.
void Session::build_request(uint8_t slot, std::string& out) {
  const http::Head& h = ex_->req.head();
  http::ForwardInfo fi;
  fi.path_prefix_strip = api::strip_proxy_prefix(h.path()).size() != h.path().size() ? api::kProxyPrefix : "";
  fi.upstream_host = ctx_.backend(slot).host_header;
  fi.client_ip = client_ip_;
  fi.request_id = ex_->request_id;
  fi.drop_credentials = ctx_.keys != nullptr;  // corral's token is never forwarded
  http::build_upstream_request(h, fi, out);
}

void Session::start_fanout() {
  Exchange& x = *ex_;
  const route::RoutingSnapshot& s = ctx_.snapshot();
  std::vector<uint8_t> slots;
  bool holders = api::info(x.endpoint).fanout == api::Fanout::holders;
  // Delete/copy go where the model is; when discovery has not seen it (yet), every backend answers for itself.
  if (holders) slots = route::holders(s, x.endpoint == api::kCopy ? x.facts.source : x.facts.model);
  if (slots.empty()) {
    for (const route::Candidate& c : s.any) slots.push_back(c.slot);
  }
  if (slots.empty()) {  // nobody known healthy: ask every enabled member, the answers tell
    for (const route::MemberView& m : s.members) {
      if (m.cfg.enabled) slots.push_back(m.slot);
    }
  }
  if (slots.size() == 1) x.backend = slots[0];
  std::vector<std::string> requests;
  for (uint8_t slot : slots) {
    std::string out;
    build_request(slot, out);
    requests.push_back(out.append(x.body));
  }
  state_ = State::fanout;
  uint64_t deadline = ctx_.loop->now_ms() + s.routing.fanout_timeout_ms;
  x.fanout = std::make_unique<Fanout>(ctx_, *this, slots, std::move(requests), deadline);
  x.fanout->start();
}

void Session::fanout_done() {
  Exchange& x = *ex_;
  std::vector<api::LegAnswer> legs = x.fanout->answers();
  bool holders = api::info(x.endpoint).fanout == api::Fanout::holders;
  api::Merged m = holders                        ? api::merge_outcomes(legs)
                  : x.endpoint == api::kOaiModels ? api::merge_lists(legs, "data", "id", "{\"object\":\"list\",\"data\":[")
                                                  : api::merge_lists(legs, "models", "name", "{\"models\":[");
  if (holders && m.status == 200) ctx_.fleet->control->refresh_soon();
  for (const LegResult& l : x.fanout->results()) {
    if (l.status == 0) {
      log::write(log::Level::warn, "fanout_error", "request_id=" + x.request_id + " backend=" +
                                                       ctx_.backend(l.slot).url + " error=" + log::quote(l.error));
    }
  }
  http::LocalResponse r = http::json_response(m.status, std::move(m.body));
  if (!m.json) r.content_type = "";
  respond_local(r, false);
}

}  // namespace corral::proxy
