// Routing side of a session: choosing the backend, admission queue, failover
// to the next candidate, fan-out requests, and the errors a fleet gives.
#include <algorithm>
#include <cmath>

#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/merge.h"
#include "corral/proxy/session.h"

namespace corral::proxy {

void Session::route_request() {
  tried_.reset();
  attempts_ = 0;
  retried_ = false;
  if (is_fanout()) {
    start_fanout();
    return;
  }
  try_route();
}

void Session::try_route() {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  route::PickRequest pr;
  pr.model = model_;
  pr.pull = pull_;
  pr.affinity = s.routing.affinity ? affinity_ : 0;
  pr.tried = &tried_;
  pr.now_ms = static_cast<uint64_t>(core::mono_us() / 1000);
  pr.random = ctx_.random();
  if (pull_) pr.backend = req_.head().get("x-corral-backend");
  route::Pick p = route::pick(s, *ctx_.fleet->table, pr);
  if (p.status == route::PickStatus::busy) {
    if (state_ != State::queued) enqueue(p.slot);
    return;
  }
  if (state_ == State::queued) leave_queue();
  if (p.status == route::PickStatus::ok) {
    admitted_ = p.slot;
    if (p.cold) ctx_.fleet->control->refresh_soon();  // a model starts loading there: /api/ps will say so
    start_upstream(p.slot);
    return;
  }
  if (attempts_ > 0) {  // every candidate failed: the client gets the last failure
    fail_upstream(fail_status_, fail_why_);
    return;
  }
  int last = s.any.empty() ? route::last_resort(s, tried_) : -1;
  if (last >= 0) {
    start_upstream(static_cast<uint8_t>(last));
    return;
  }
  route_failed(p.status);
}

void Session::route_failed(route::PickStatus why) {
  bool openai = endpoint_ == kOaiChat || endpoint_ == kOaiCompletions || endpoint_ == kOaiEmbeddings || endpoint_ == kOaiModels;
  std::string m = model_;
  http::LocalResponse r;
  if (why == route::PickStatus::not_found) {  // Ollama's own words, per endpoint
    if (openai) r = http::openai_error(404, "model \"" + m + "\" not found, try pulling it first", "not_found_error");
    else if (endpoint_ == kShow || endpoint_ == kPush) r = http::json_error(404, "model '" + m + "' not found");
    else r = http::json_error(404, "model \"" + m + "\" not found, try pulling it first");
  } else if (why == route::PickStatus::too_big) {
    r = http::json_error(404, "model \"" + m + "\" is larger than max_memory_gb of every backend that has it");
  } else {
    std::string what = m.empty() ? std::string("no healthy backend") : "no healthy backend has model \"" + m + "\"";
    if (pull_) what = "no healthy backend accepts pulls of \"" + m + "\"";
    r = busy_response(what);
  }
  respond_local(r, false);
}

http::LocalResponse Session::busy_response(std::string_view why) {
  http::LocalResponse r = http::json_error(503, why);
  r.retry_after = std::max(1, static_cast<int>(std::ceil(ctx_.snapshot().routing.retry_after_ms / 1000.0)));
  return r;
}

void Session::release_admission() {
  if (admitted_ < 0) return;
  route::Backend& b = ctx_.backend(static_cast<uint8_t>(admitted_));
  admitted_ = -1;
  route::release(b);
  if (ctx_.waiting) ctx_.loop->wake();
  if (b.queued.load(std::memory_order_relaxed) > 0) {
    for (const auto& slot : ctx_.fleet->loops) {
      core::Loop* l = slot.load(std::memory_order_acquire);
      if (l && l != ctx_.loop) l->wake();
    }
  }
}

// A backend failed this request before any response byte reached the client:
// the next candidate gets it, up to routing.max_attempts backends.
void Session::attempt_failed(int status, std::string why, bool circuit) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  uint8_t slot = backend_;
  if (up_) drop_upstream(false);
  if (circuit) {
    route::record_outcome(ctx_.backend(slot), false, s.routing.circuit_failures, s.routing.circuit_cooldown_ms,
                          static_cast<uint64_t>(core::mono_us() / 1000));
  }
  release_admission();
  tried_.set(slot);
  ++attempts_;
  fail_status_ = status;
  fail_why_ = std::move(why);
  if (attempts_ < s.routing.max_attempts) {
    log::write(log::Level::warn, "failover", "request_id=" + request_id_ + " backend=" + ctx_.backend(slot).url +
                                                 " error=" + log::quote(fail_why_));
    metrics::bump(ctx_.metrics->failovers);
    retried_ = false;
    try_route();
    return;
  }
  fail_upstream(fail_status_, fail_why_);
}

// A 5xx head: another candidate gets the request when there is one free now;
// else the 5xx goes to the client as it is. Ollama's 503 is backpressure, not a fault.
bool Session::fail_over_on_status(int status) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  if (status < 500 || attempts_ + 1u >= s.routing.max_attempts) return false;
  route::SlotSet tried = tried_;
  tried.set(backend_);
  route::PickRequest pr;
  pr.model = model_;
  pr.pull = pull_;
  pr.tried = &tried;
  pr.now_ms = static_cast<uint64_t>(core::mono_us() / 1000);
  pr.random = ctx_.random();
  route::Pick p = route::pick(s, *ctx_.fleet->table, pr);
  if (p.status != route::PickStatus::ok) return false;
  route::release(ctx_.backend(p.slot));  // attempt_failed picks again; this only proved one is free
  attempt_failed(status, "backend " + ctx_.backend(backend_).url + " answered " + std::to_string(status), status != 503);
  return true;
}

void Session::enqueue(uint8_t first_choice) {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  if (ctx_.waiting >= s.routing.queue_size) {
    ctx_.metrics->reject(metrics::kRejectQueueFull);
    respond_local(busy_response("server busy: every backend for this request is at max_concurrent and the queue is full"), false);
    return;
  }
  state_ = State::queued;
  queued_first_ = first_choice;
  queued_us_ = core::mono_us();
  ctx_.backend(first_choice).queued.fetch_add(1, std::memory_order_relaxed);
  metrics::bump(ctx_.metrics->queue_in[first_choice]);
  wait_prev = ctx_.waiting_tail;
  wait_next = nullptr;
  if (wait_prev) wait_prev->wait_next = this;
  else ctx_.waiting_head = this;
  ctx_.waiting_tail = this;
  ++ctx_.waiting;
  set_deadline(s.routing.queue_timeout_ms);
}

void Session::leave_queue() {
  if (wait_prev) wait_prev->wait_next = wait_next;
  else ctx_.waiting_head = wait_next;
  if (wait_next) wait_next->wait_prev = wait_prev;
  else ctx_.waiting_tail = wait_prev;
  wait_prev = wait_next = nullptr;
  --ctx_.waiting;
  ctx_.backend(queued_first_).queued.fetch_sub(1, std::memory_order_relaxed);
  metrics::bump(ctx_.metrics->queue_out[queued_first_]);
  ctx_.metrics->queue_wait.observe(1, double(core::mono_us() - queued_us_) / 1e6);
  state_ = State::body;
}

void Session::retry_queued() {
  if (state_ == State::queued) try_route();
}

bool Session::is_fanout() const {
  std::string_view m = req_.head().method();
  bool get = m == "GET" || m == "HEAD";
  std::string_view path = req_.head().path();
  if (get && (endpoint_ == kTags || endpoint_ == kPs)) return true;
  if (get && endpoint_ == kOaiModels && (path == "/v1/models" || path.starts_with("/v1/models?"))) return true;
  return endpoint_ == kDelete || endpoint_ == kCopy;
}

void Session::start_fanout() {
  const route::RoutingSnapshot& s = ctx_.snapshot();
  std::vector<uint8_t> slots;
  // Delete/copy go where the model is; when discovery has not seen it (yet), every backend answers for itself.
  if (endpoint_ == kDelete || endpoint_ == kCopy) slots = route::holders(s, endpoint_ == kCopy ? source_ : model_);
  if (slots.empty()) {
    for (const route::Candidate& c : s.any) slots.push_back(c.slot);
  }
  if (slots.empty()) {  // nobody known healthy: ask every enabled member, the answers tell
    for (const route::MemberView& m : s.members) {
      if (m.cfg.enabled) slots.push_back(m.slot);
    }
  }
  if (slots.size() == 1) backend_ = slots[0];
  std::vector<std::string> requests;
  for (uint8_t slot : slots) {
    std::string out;
    http::ForwardInfo fi;
    fi.path_prefix_strip = req_.head().path().starts_with(kProxyPrefix) ? kProxyPrefix : "";
    fi.upstream_host = ctx_.backend(slot).host_header;
    fi.client_ip = client_ip_;
    fi.request_id = request_id_;
    http::build_upstream_request(req_.head(), fi, out);
    requests.push_back(out.append(body_));
  }
  state_ = State::fanout;
  uint64_t deadline = ctx_.loop->now_ms() + s.routing.fanout_timeout_ms;
  fanout_ = std::make_unique<Fanout>(ctx_, *this, slots, std::move(requests), deadline);
  fanout_->start();
}

void Session::fanout_done() {
  const std::vector<LegResult>& legs = fanout_->results();
  http::LocalResponse r;
  if (endpoint_ == kDelete || endpoint_ == kCopy) r = merge_outcomes(legs);
  else if (endpoint_ == kOaiModels) r = merge_lists(legs, "data", "id", "{\"object\":\"list\",\"data\":[");
  else r = merge_lists(legs, "models", "name", "{\"models\":[");
  if ((endpoint_ == kDelete || endpoint_ == kCopy) && r.status == 200) ctx_.fleet->control->refresh_soon();
  for (const LegResult& l : legs) {
    if (l.status == 0) {
      log::write(log::Level::warn, "fanout_error", "request_id=" + request_id_ + " backend=" + ctx_.backend(l.slot).url +
                                                       " error=" + log::quote(l.error));
    }
  }
  respond_local(r, false);
}

}  // namespace corral::proxy
