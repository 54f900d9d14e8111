// The on-demand backend's driver: OnDemand's hook actions carried out with Hook, demand
// read from the workers' counters.
#include <algorithm>

#include "corral/core/log.h"
#include "corral/fleet/on_demand.h"

namespace corral::fleet {

OnDemandBackend::OnDemandBackend(const config::BackendConfig& b, uint32_t unhealthy_after, unsigned workers,
                                 std::shared_ptr<Wakeup> wakeup)
    : name_(b.name),
      cfg_(*b.on_demand),
      machine_(OnDemandPolicy::from(b, unhealthy_after)),
      demand_(std::make_shared<Demand>(workers, std::move(wakeup))) {}

void OnDemandBackend::run(HookAction a, int64_t now_ms) {
  while (a != HookAction::none) {
    HookSpec spec;
    spec.backend = name_;
    spec.action = std::string(hook_name(a));
    spec.argv = a == HookAction::start ? cfg_.start : a == HookAction::stop ? cfg_.stop : cfg_.status;
    spec.timeout_ms = a == HookAction::start ? cfg_.start_timeout_ms : cfg_.hook_timeout_ms;
    if (!machine_.remote_url().empty()) spec.env.emplace_back("CORRAL_REMOTE_URL", machine_.remote_url());
    std::string err;
    if (hook_.start(spec, now_ms, err)) {
      hook_action_ = a;
      return;
    }
    log::write(log::Level::error, "hook_failed_to_start",
               "backend=" + log::quote(name_) + " hook=" + spec.action + " error=" + log::quote(err));
    a = machine_.on_hook_failed_to_start(a, err, now_ms);
  }
}

void OnDemandBackend::begin(int64_t now_ms) { run(machine_.begin(now_ms), now_ms); }

void OnDemandBackend::poll_fds(std::vector<pollfd>& out) const { hook_.poll_fds(out); }

void OnDemandBackend::on_ready(int fd, int64_t now_ms) {
  if (!hook_.on_ready(fd)) return;
  std::optional<HookResult> r = hook_.take_result();
  if (!r) return;
  HookAction which = std::exchange(hook_action_, HookAction::none);
  Provisioning before = machine_.state();
  HookAction next = machine_.on_hook_done(which, *r, now_ms);
  if (machine_.state() != before) {
    log::write(machine_.state() == Provisioning::error ? log::Level::error : log::Level::info, "backend_provisioning",
               "backend=" + log::quote(name_) + " status=" + std::string(provisioning_name(machine_.state())) +
                   (machine_.remote_url().empty() ? "" : " url=" + log::quote(machine_.remote_url())) +
                   (machine_.error().empty() ? "" : " error=" + log::quote(machine_.error())));
  }
  run(next, now_ms);
}

void OnDemandBackend::on_tick(int64_t now_ms, uint32_t in_flight) {
  uint64_t seen = demand_->collect();
  if (seen != demand_seen_) {
    demand_seen_ = seen;
    machine_.on_request(now_ms);
    demanded_ = true;
    if (auto_start_) run(machine_.want_up(now_ms), now_ms);
  }
  hook_.on_tick(now_ms);
  Provisioning before = machine_.state();
  HookAction a = machine_.on_tick(now_ms, in_flight);
  if (a == HookAction::stop && before == Provisioning::ready) {
    log::write(log::Level::info, "backend_idle_stop",
               "backend=" + log::quote(name_) + " idle_ms=" + std::to_string(cfg_.idle_timeout_ms));
  }
  run(a, now_ms);
}

void OnDemandBackend::on_health(bool ok, int64_t now_ms) { run(machine_.on_health(ok, now_ms), now_ms); }

void OnDemandBackend::want_up(int64_t now_ms) { run(machine_.want_up(now_ms), now_ms); }

void OnDemandBackend::want_down(int64_t now_ms, uint32_t in_flight) {
  run(machine_.want_down(now_ms, in_flight), now_ms);
}

void OnDemandBackend::shutdown() { hook_.kill(); }

int64_t OnDemandBackend::next_deadline_ms() const {
  int64_t a = machine_.next_deadline_ms();
  int64_t b = hook_.next_deadline_ms();
  if (a < 0) return b;
  return b < 0 ? a : std::min(a, b);
}

OnDemandStatus OnDemandBackend::status(int64_t now_ms) const {
  OnDemandStatus s;
  s.provisioning_status = provisioning_name(machine_.state());
  s.error = machine_.error();
  s.remote_url = machine_.remote_url();
  s.fields = machine_.fields();
  s.idle_timeout_ms = cfg_.idle_timeout_ms;
  s.idle_for_ms = machine_.idle_for_ms(now_ms);
  s.started_at_ms = machine_.started_at_ms();
  s.retry_at_ms = machine_.retry_at_ms();
  s.hook = hook_name(machine_.hook_running());
  return s;
}

}  // namespace corral::fleet
