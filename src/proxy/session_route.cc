// The plan and routing stages of a session: what the body says, choosing the
// backend, the admission queue, failover to the next candidate, fan-out
// requests, and the errors a fleet gives.
#include <algorithm>
#include <cmath>

#include "corral/api/errors.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {
constexpr std::string_view kQueueFull =
    "server busy: every backend for this request is at max_concurrent and the queue is full";

// The request's place in a full backend's queue: its key's priority; requests without a key are normal.
uint8_t priority_of(const Exchange& x) { return x.key ? static_cast<uint8_t>(x.key->key.priority) : 1; }
}  // namespace

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
  if (p.status == route::PickStatus::ok &&
      ex_->route.yield_to_higher(ctx_, p.slot, priority_of(*ex_), state_ == State::queued)) {
    p.status = route::PickStatus::busy;  // a more important request waits for it on another worker
  } else if (p.status == route::PickStatus::ok && !ex_->route.take_fleet_place(ctx_)) {
    route::release(ctx_.backend(p.slot));  // the fleet is at limits.max_in_flight: wait like for a full backend
    p.status = route::PickStatus::busy;
  }
  if (p.status == route::PickStatus::busy) {
    if (state_ != State::queued) enqueue(p.slot);
    return;
  }
  if (p.status != route::PickStatus::ok && !ex_->route.any_failed() && wait_for_on_demand()) return;
  if (state_ == State::queued) leave_queue();
  if (p.status == route::PickStatus::ok) {
    ex_->route.admitted(p.slot);
    if (p.cold) ctx_.fleet->control->refresh_soon();  // a model starts loading there: /api/ps will say so
    start_upstream(p.slot);
    return;
  }
  if (ex_->route.any_failed()) {  // every candidate failed: the client gets the last failure
    fail_upstream(ex_->route.fail_status(), ex_->route.fail_why());
    return;
  }
  const route::RoutingSnapshot& s = ctx_.snapshot();
  int last = s.any.empty() ? route::last_resort(s, ex_->route.tried()) : -1;
  if (last >= 0) {  // past every limit, but in flight there as any other: idle stops and scaling see it
    route::try_admit(ctx_.backend(static_cast<uint8_t>(last)), 0);
    ex_->route.admitted(static_cast<uint8_t>(last));
    start_upstream(static_cast<uint8_t>(last));
    return;
  }
  route_failed(p.status);
}

// Nothing up serves the model, but an on-demand backend would: it is asked to
// start, and the request waits for it (hold) or gets seed 002's 503.
bool Session::wait_for_on_demand() {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  const route::LifecycleView* l = s.on_demand_for(ex_->facts.model);
  if (!l) return false;
  l->demand->note(ctx_.worker_id);
  if (state_ == State::queued) return true;  // still holding; the deadline ends it
  if (l->hold_ms > 0) {
    ex_->uncommon().holding_for = l->name;
    ex_->route.weigh(ctx_, l->name, ex_->facts.model, ex_->facts.complexity_score);
    state_ = State::queued;
    ex_->route.enqueue(ctx_, *this, kNoBackend, priority_of(*ex_));
    set_deadline(l->hold_ms);
    return true;
  }
  answer_provisioning(l->name, l->state == "error" ? l->error : std::string());
  return true;
}

// {"error":"backend X is starting, retry shortly","provisioning":true}, as seed 002 answered.
void Session::answer_provisioning(const std::string& backend, const std::string& error) {
  std::string msg = error.empty() ? "backend " + backend + " is starting, retry shortly"
                                  : "backend " + backend + " failed to start (" + error + "), retrying";
  http::LocalResponse r = error_response(503, msg);
  if (api::info(ex_->endpoint).dialect == api::Dialect::ollama) {
    r.body = api::ollama_error(msg);
    r.body.insert(r.body.size() - 1, ",\"provisioning\":true");
  }
  r.retry_after = std::max(1, static_cast<int>(std::ceil(ctx_.snapshot().routing.retry_after_ms / 1000.0)));
  respond_local(r, false);
}

void Session::route_failed(route::PickStatus why) {
  const std::string& m = ex_->facts.model;
  if (why == route::PickStatus::not_found) {  // Ollama's own words, per endpoint
    respond_error(404, api::model_not_found(ex_->endpoint, m));
  } else if (why == route::PickStatus::too_big) {
    respond_error(404, "model \"" + m + "\" is larger than max_memory_gb of every backend that has it");
  } else if (std::string down = why_down(m); !down.empty()) {
    respond_error(502, down);  // every member that has it failed its probes: say how
  } else {
    std::string what = m.empty() ? std::string("no healthy backend") : "no healthy backend has model \"" + m + "\"";
    if (ex_->facts.pull) what = "no healthy backend accepts pulls of \"" + m + "\"";
    respond_local(busy_response(what), false);
  }
}

// The members that list `model` but are down, with their probes' last errors ("" if none is).
std::string Session::why_down(const std::string& model) {
  if (model.empty()) return {};
  std::string out;
  for (const route::MemberView& mv : ctx_.snapshot().members) {
    if (mv.healthy || mv.last_error.empty() || !mv.cfg.enabled) continue;
    bool has = false;
    for (const route::ModelInfo& mi : mv.models) has = has || mi.name == model || mi.name == model + ":latest";
    if (!has) continue;
    out += (out.empty() ? "" : "; ") + std::string("backend ") + ctx_.backend(mv.slot).url +
           " unreachable: " + mv.last_error;
  }
  return out;
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
    log::write(log::Level::warn, "failover",
               "request_id=" + ex_->request_id + " backend=" + ctx_.backend(slot).url +
                   " error=" + log::quote(ex_->route.fail_why()));
    metrics::bump(ctx_.metrics->failovers);
    try_route();
    return;
  }
  fail_upstream(ex_->route.fail_status(), ex_->route.fail_why());
}

// A 5xx or 429 head: another candidate gets the request when there is one free
// now; else the answer goes to the client as it is (Retry-After included).
// Ollama's 503 and a provider's 429 are backpressure, not faults.
bool Session::fail_over_on_status(int status) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  bool backpressure = status == 429 || status == 503;  // a provider's rate limit, Ollama's "busy"
  if ((status < 500 && status != 429) || ex_->route.attempts() + 1u >= s.routing.max_attempts) return false;
  route::Pick p = ex_->route.pick(ctx_, question(), ex_->backend);
  if (p.status != route::PickStatus::ok) return false;
  route::release(ctx_.backend(p.slot));  // attempt_failed picks again; this only proved one is free
  attempt_failed(status, "backend " + ctx_.backend(ex_->backend).url + " answered " + std::to_string(status),
                 !backpressure);
  return true;
}

void Session::enqueue(uint8_t first_choice) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  uint8_t priority = priority_of(*ex_);
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
  ex_->route.weigh(ctx_, ctx_.backend(first_choice).name, ex_->facts.model, ex_->facts.complexity_score);
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

void Session::start_fanout() {
  Exchange& x = *ex_;
  const route::RoutingSnapshot& s = ctx_.snapshot();
  std::vector<uint8_t> slots;
  bool holders = api::info(x.endpoint).fanout == api::Fanout::holders;
  // Delete/copy go where the model is; when discovery has not seen it (yet), every backend answers for itself.
  if (holders) slots = route::holders(s, x.endpoint == api::kCopy ? x.copy_source() : std::string_view(x.facts.model));
  if (slots.empty()) {
    for (const route::Candidate& c : s.any) slots.push_back(c.slot);
  }
  if (slots.empty()) {  // nobody known healthy: ask every enabled member, the answers tell
    for (const route::MemberView& m : s.members) {
      if (m.cfg.enabled) slots.push_back(m.slot);
    }
  }
  // Hosted members are not asked: their models are known (fanout_done lists them).
  std::erase_if(slots, [&](uint8_t slot) {
    const route::MemberView* m = s.member(slot);
    return m && route::dialect_of(m->cfg) != api::Dialect::ollama;
  });
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

// What corral lists itself: the models of hosted members, then the aliases of models someone has.
std::vector<api::KnownModel> Session::known_models() {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  std::vector<api::KnownModel> out;
  for (const route::MemberView& m : s.members) {
    if (route::dialect_of(m.cfg) == api::Dialect::ollama || !m.cfg.enabled) continue;
    for (const route::ModelInfo& mi : m.models) out.push_back({mi.name, m.cfg.name, ""});
  }
  for (const auto& [alias, real] : s.models_cfg.aliases) {
    if (s.route(real)) out.push_back({alias, "corral", real});
  }
  return out;
}

void Session::fanout_done() {
  Exchange& x = *ex_;
  std::vector<api::LegAnswer> legs = x.fanout->answers();
  bool holders = api::info(x.endpoint).fanout == api::Fanout::holders;
  std::string known;  // hosted backends' models and aliases, listed without asking
  if (!holders && x.endpoint != api::kPs) {
    known = api::known_models_body(x.endpoint == api::kOaiModels, known_models());
    legs.push_back({200, known, ""});
  }
  api::Merged m = holders ? api::merge_outcomes(legs)
                  : x.endpoint == api::kOaiModels
                      ? api::merge_lists(legs, "data", "id", "{\"object\":\"list\",\"data\":[")
                      : api::merge_lists(legs, "models", "name", "{\"models\":[");
  if (holders && m.status == 200) ctx_.fleet->control->refresh_soon();
  for (const LegResult& l : x.fanout->results()) {
    if (l.status == 0) {
      log::write(
          log::Level::warn, "fanout_error",
          "request_id=" + x.request_id + " backend=" + ctx_.backend(l.slot).url + " error=" + log::quote(l.error));
    }
  }
  http::LocalResponse r = http::json_response(m.status, std::move(m.body));
  if (!m.json) r.content_type = "";
  respond_local(r, false);
}

}  // namespace corral::proxy
