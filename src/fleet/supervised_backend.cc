// The supervised backend's driver: Supervisor's actions carried out on a Child.
#include <algorithm>

#include "corral/core/log.h"
#include "corral/fleet/supervisor.h"

namespace corral::fleet {

SupervisedBackend::SupervisedBackend(std::string name, const config::SuperviseConfig& cfg)
    : name_(std::move(name)), machine_(SupervisorPolicy::from(cfg)), log_(log_lines(name_)) {
  spec_.argv = cfg.command;
  spec_.env = cfg.env;
}

void SupervisedBackend::start(int64_t now_ms) { run(machine_.start(now_ms), now_ms); }

void SupervisedBackend::spawn(int64_t now_ms) {
  child_ = std::make_unique<Child>();
  std::string err;
  if (!child_->spawn(spec_, log_, err)) {
    child_.reset();
    machine_.on_spawn_failed(now_ms);
    log::write(log::Level::error, "backend_spawn_failed",
               "backend=" + log::quote(name_) + " error=" + log::quote(err) +
                   " retry_in_ms=" + std::to_string(machine_.retry_at_ms() - now_ms));
    return;
  }
  log::write(log::Level::info, "backend_spawn",
             "backend=" + log::quote(name_) + " pid=" + std::to_string(child_->pid()) +
                 " command=" + log::quote(spec_.argv[0]) + " restarts=" + std::to_string(machine_.restarts()));
}

void SupervisedBackend::run(SupervisorAction a, int64_t now_ms) {
  if (a == SupervisorAction::spawn) spawn(now_ms);
  if (a == SupervisorAction::terminate && child_) {
    log::write(log::Level::info, "backend_terminate",
               "backend=" + log::quote(name_) + " pid=" + std::to_string(child_->pid()) +
                   " state=" + std::string(state_name(machine_.state())) +
                   " failed_checks=" + std::to_string(machine_.failed_checks()));
    child_->terminate(now_ms, machine_.policy().stop_timeout_ms);
  }
}

void SupervisedBackend::poll_fds(std::vector<pollfd>& out) const {
  if (child_) child_->poll_fds(out);
}

void SupervisedBackend::on_ready(int fd, int64_t now_ms) {
  if (!child_ || !child_->on_ready(fd) || !child_->exit_status()) return;
  ExitStatus s = *child_->exit_status();
  int pid = child_->pid();
  child_.reset();
  run(machine_.on_exit(s, now_ms), now_ms);
  std::string next = machine_.state() == SupervisorState::backoff
                         ? " restart_in_ms=" + std::to_string(machine_.retry_at_ms() - now_ms)
                         : " state=" + std::string(state_name(machine_.state()));
  log::Level level = s.success() || machine_.state() == SupervisorState::stopped ? log::Level::info : log::Level::warn;
  log::write(level, "backend_exit",
             "backend=" + log::quote(name_) + " pid=" + std::to_string(pid) + " " + s.describe() + next);
}

void SupervisedBackend::on_tick(int64_t now_ms) {
  if (child_) child_->on_tick(now_ms);
  run(machine_.on_tick(now_ms), now_ms);
}

void SupervisedBackend::on_health(bool ok, int64_t now_ms) { run(machine_.on_health(ok, now_ms), now_ms); }

void SupervisedBackend::stop(int64_t now_ms) { run(machine_.stop(now_ms), now_ms); }

int64_t SupervisedBackend::next_deadline_ms() const {
  int64_t a = machine_.retry_at_ms();
  int64_t b = child_ ? child_->next_deadline_ms() : -1;
  if (a < 0) return b;
  return b < 0 ? a : std::min(a, b);
}

SupervisedStatus SupervisedBackend::status() const {
  SupervisedStatus s;
  s.state = state_name(machine_.state());
  s.pid = child_ ? child_->pid() : 0;
  s.restarts = machine_.restarts();
  s.failed_checks = machine_.failed_checks();
  s.last_exit = machine_.last_exit();
  s.retry_at_ms = machine_.retry_at_ms();
  return s;
}

}  // namespace corral::fleet
