#include "corral/fleet/supervisor.h"

#include <algorithm>

namespace corral::fleet {

std::string_view state_name(SupervisorState s) {
  switch (s) {
    case SupervisorState::stopped:
      return "stopped";
    case SupervisorState::starting:
      return "starting";
    case SupervisorState::running:
      return "running";
    case SupervisorState::backoff:
      return "backoff";
    case SupervisorState::stopping:
      return "stopping";
  }
  return "stopped";
}

SupervisorPolicy SupervisorPolicy::from(const config::SuperviseConfig& c) {
  SupervisorPolicy p;
  p.restart_after = c.restart_after;
  p.stop_timeout_ms = c.stop_timeout_ms;
  return p;
}

SupervisorAction Supervisor::start(int64_t) {
  if (state_ != SupervisorState::stopped) return SupervisorAction::none;
  final_stop_ = false;
  failed_ = 0;
  healthy_since_ms_ = -1;
  state_ = SupervisorState::starting;
  return SupervisorAction::spawn;
}

void Supervisor::enter_backoff(int64_t now_ms) {
  state_ = SupervisorState::backoff;
  retry_at_ms_ = now_ms + backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, p_.backoff_max_ms);
  failed_ = 0;
  healthy_since_ms_ = -1;
}

void Supervisor::on_spawn_failed(int64_t now_ms) {
  if (state_ != SupervisorState::starting) return;
  enter_backoff(now_ms);
}

SupervisorAction Supervisor::on_exit(ExitStatus s, int64_t now_ms) {
  if (state_ != SupervisorState::starting && state_ != SupervisorState::running &&
      state_ != SupervisorState::stopping) {
    return SupervisorAction::none;
  }
  last_exit_ = LastExit{s, now_ms};
  reset_backoff_if_healthy(now_ms);
  if (final_stop_) {
    state_ = SupervisorState::stopped;
    return SupervisorAction::none;
  }
  enter_backoff(now_ms);
  return SupervisorAction::none;
}

SupervisorAction Supervisor::on_health(bool ok, int64_t now_ms) {
  if (state_ != SupervisorState::starting && state_ != SupervisorState::running) return SupervisorAction::none;
  if (ok) {
    failed_ = 0;
    state_ = SupervisorState::running;
    if (healthy_since_ms_ < 0) healthy_since_ms_ = now_ms;
    reset_backoff_if_healthy(now_ms);
    return SupervisorAction::none;
  }
  healthy_since_ms_ = -1;
  if (++failed_ < p_.restart_after) return SupervisorAction::none;
  state_ = SupervisorState::stopping;
  return SupervisorAction::terminate;
}

void Supervisor::reset_backoff_if_healthy(int64_t now_ms) {
  if (healthy_since_ms_ >= 0 && now_ms - healthy_since_ms_ >= p_.healthy_reset_ms) backoff_ms_ = p_.backoff_initial_ms;
}

SupervisorAction Supervisor::on_tick(int64_t now_ms) {
  if (state_ == SupervisorState::running) reset_backoff_if_healthy(now_ms);
  if (state_ != SupervisorState::backoff || now_ms < retry_at_ms_) return SupervisorAction::none;
  ++restarts_;
  state_ = SupervisorState::starting;
  return SupervisorAction::spawn;
}

SupervisorAction Supervisor::stop(int64_t) {
  switch (state_) {
    case SupervisorState::starting:
    case SupervisorState::running:
      final_stop_ = true;
      state_ = SupervisorState::stopping;
      return SupervisorAction::terminate;
    case SupervisorState::stopping:
      final_stop_ = true;  // a restart's SIGTERM is already on its way
      return SupervisorAction::none;
    case SupervisorState::backoff:
      state_ = SupervisorState::stopped;
      return SupervisorAction::none;
    case SupervisorState::stopped:
      return SupervisorAction::none;
  }
  return SupervisorAction::none;
}

}  // namespace corral::fleet
