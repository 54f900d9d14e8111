#include "corral/fleet/on_demand.h"

#include <algorithm>

namespace corral::fleet {

std::string_view provisioning_name(Provisioning p) {
  switch (p) {
    case Provisioning::idle:
      return "idle";
    case Provisioning::provisioning:
      return "provisioning";
    case Provisioning::ready:
      return "ready";
    case Provisioning::stopping:
      return "stopping";
    case Provisioning::error:
      return "error";
  }
  return "idle";
}

std::string_view hook_name(HookAction a) {
  switch (a) {
    case HookAction::start:
      return "start";
    case HookAction::stop:
      return "stop";
    case HookAction::status:
      return "status";
    case HookAction::none:
      return "";
  }
  return "";
}

OnDemandPolicy OnDemandPolicy::from(const config::BackendConfig& b, uint32_t unhealthy_after) {
  OnDemandPolicy p;
  const config::OnDemandConfig& d = *b.on_demand;
  p.idle_timeout_ms = d.idle_timeout_ms;
  p.start_timeout_ms = d.start_timeout_ms;
  p.hook_timeout_ms = d.hook_timeout_ms;
  p.lost_after = unhealthy_after ? unhealthy_after : 1;
  p.has_status_hook = !d.status.empty();
  if (b.url != "auto") p.fixed_url = b.url;
  return p;
}

HookAction OnDemand::begin(int64_t) {
  if (!p_.has_status_hook || running_ != HookAction::none) return HookAction::none;
  running_ = HookAction::status;
  return running_;
}

void OnDemand::on_request(int64_t now_ms) { last_active_ms_ = now_ms; }

HookAction OnDemand::provision(int64_t now_ms) {
  state_ = Provisioning::provisioning;
  pending_up_ = false;
  stop_failed_ = false;
  lost_ = 0;
  last_active_ms_ = now_ms;
  running_ = HookAction::start;
  return running_;
}

HookAction OnDemand::want_up(int64_t now_ms) {
  if (running_ == HookAction::status || running_ == HookAction::stop) {
    pending_up_ = true;
    return HookAction::none;
  }
  if (running_ != HookAction::none) return HookAction::none;
  if (state_ == Provisioning::idle) return provision(now_ms);
  if (state_ == Provisioning::error && now_ms >= retry_at_ms_) return provision(now_ms);
  return HookAction::none;
}

HookAction OnDemand::begin_stop(bool cleanup) {
  cleanup_ = cleanup;
  state_ = Provisioning::stopping;
  running_ = HookAction::stop;
  return running_;
}

HookAction OnDemand::want_down(int64_t, uint32_t in_flight) {
  if (state_ != Provisioning::ready || running_ != HookAction::none || in_flight > 0) return HookAction::none;
  return begin_stop(false);
}

HookAction OnDemand::on_tick(int64_t now_ms, uint32_t in_flight) {
  if (in_flight > 0) last_active_ms_ = now_ms;
  if (running_ != HookAction::none) return HookAction::none;
  if (state_ == Provisioning::ready && p_.idle_timeout_ms > 0 && in_flight == 0 &&
      now_ms - last_active_ms_ >= p_.idle_timeout_ms) {
    return begin_stop(false);
  }
  if (state_ == Provisioning::error && stop_failed_ && now_ms >= retry_at_ms_) return begin_stop(false);
  return HookAction::none;
}

int64_t OnDemand::next_deadline_ms() const {
  if (running_ != HookAction::none) return -1;
  if (state_ == Provisioning::ready && p_.idle_timeout_ms > 0) return last_active_ms_ + p_.idle_timeout_ms;
  if (state_ == Provisioning::error && stop_failed_) return retry_at_ms_;
  return -1;
}

HookAction OnDemand::on_health(bool ok, int64_t now_ms) {
  if (state_ != Provisioning::ready || running_ != HookAction::none) return HookAction::none;
  if (ok) {
    lost_ = 0;
    return HookAction::none;
  }
  if (++lost_ < p_.lost_after) return HookAction::none;
  // Stopped or gone behind corral's back: the start hook finds (or creates) it again.
  error_ = "health checks failed " + std::to_string(lost_) + " times; starting it again";
  return provision(now_ms);
}

HookAction OnDemand::fail(int64_t now_ms, std::string why) {
  state_ = Provisioning::error;
  error_ = std::move(why);
  cleanup_ = false;
  url_.clear();
  fields_.clear();
  retry_at_ms_ = now_ms + backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, p_.backoff_max_ms);
  if (!pending_up_) return HookAction::none;
  pending_up_ = false;
  return want_up(now_ms);
}

void OnDemand::become_ready(int64_t now_ms, std::string url, std::vector<HookField> fields) {
  state_ = Provisioning::ready;
  url_ = std::move(url);
  fields_ = std::move(fields);
  error_.clear();
  ready_at_ms_ = now_ms;
  last_active_ms_ = now_ms;
  lost_ = 0;
  backoff_ms_ = p_.backoff_initial_ms;
}

HookAction OnDemand::on_hook_done(HookAction which, const HookResult& r, int64_t now_ms) {
  if (which != running_) return HookAction::none;
  running_ = HookAction::none;
  if (which == HookAction::status) return after_status(&r, {}, now_ms);
  if (which == HookAction::start) return after_start(r, now_ms);
  return after_stop(r.ok(), r.ok() ? "" : r.describe("stop", p_.hook_timeout_ms), now_ms);
}

HookAction OnDemand::on_hook_failed_to_start(HookAction which, const std::string& err, int64_t now_ms) {
  if (which != running_) return HookAction::none;
  running_ = HookAction::none;
  std::string why = std::string(hook_name(which)) + " hook: " + err;
  if (which == HookAction::status) return after_status(nullptr, why, now_ms);
  if (which == HookAction::start) return fail(now_ms, why);  // nothing ran, nothing to clean up
  return after_stop(false, why, now_ms);
}

// Exit 0 with a url: a running instance is adopted. Exit 3: none runs. Anything else is
// shown as the error, and the backend stays idle (the next request runs start).
HookAction OnDemand::after_status(const HookResult* r, const std::string& err, int64_t now_ms) {
  if (r && r->ok() && r->answer && (!r->answer->url.empty() || !p_.fixed_url.empty())) {
    become_ready(now_ms, r->answer->url.empty() ? p_.fixed_url : r->answer->url, r->answer->fields);
    pending_up_ = false;
    return HookAction::none;
  }
  state_ = Provisioning::idle;
  if (!r) error_ = err;
  else if (!r->timed_out && r->exit.signal == 0 && r->exit.code == 3) error_.clear();
  else error_ = r->ok() ? "status hook printed no url" : r->describe("status", p_.hook_timeout_ms);
  if (!pending_up_) return HookAction::none;
  pending_up_ = false;
  return want_up(now_ms);
}

HookAction OnDemand::after_start(const HookResult& r, int64_t now_ms) {
  std::string url = r.answer && !r.answer->url.empty() ? r.answer->url : p_.fixed_url;
  if (r.ok() && !url.empty()) {
    become_ready(now_ms, url, r.answer ? r.answer->fields : std::vector<HookField>{});
    return HookAction::none;
  }
  if (!r.ok()) cleanup_error_ = r.describe("start", p_.start_timeout_ms);
  else if (!r.answer_error.empty()) cleanup_error_ = "start hook: " + r.answer_error;
  else cleanup_error_ = "start hook printed no url (last stdout line: JSON {\"url\": \"http://…\"})";
  // It may have created something before failing: stop it before trying again.
  return begin_stop(true);
}

HookAction OnDemand::after_stop(bool ok, std::string why, int64_t now_ms) {
  bool cleanup = cleanup_;
  stop_failed_ = !ok;
  if (ok && !cleanup) {
    state_ = Provisioning::idle;
    error_.clear();
    url_.clear();
    fields_.clear();
    ready_at_ms_ = -1;
    if (!pending_up_) return HookAction::none;
    pending_up_ = false;
    return want_up(now_ms);
  }
  std::string text = cleanup ? cleanup_error_ : std::string();
  if (!ok) text += (text.empty() ? "" : "; ") + why;
  return fail(now_ms, text);
}

}  // namespace corral::fleet
