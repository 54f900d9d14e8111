#include "corral/fleet/hook.h"

#include "corral/core/log.h"

namespace corral::fleet {

bool Hook::start(const HookSpec& spec, int64_t now_ms, std::string& err) {
  spec_ = spec;
  result_ = HookResult{};
  log_ = log_lines(spec.backend, "hook_output");
  SpawnSpec s;
  s.argv = spec.argv;
  s.env = spec.env;
  s.env.emplace_back("CORRAL_BACKEND_NAME", spec.backend);
  s.env.emplace_back("CORRAL_HOOK", spec.action);
  s.max_line = 65536;            // the answer is one JSON line
  s.kill_group_on_exit = false;  // a hook may leave a process behind on purpose (until it times out)
  child_ = std::make_unique<Child>();
  if (!child_->spawn(
          s, [this](Stream st, std::string_view line) { on_line(st, line); }, err)) {
    child_.reset();
    return false;
  }
  deadline_ms_ = now_ms + spec.timeout_ms;
  log::write(log::Level::info, "hook_start",
             "backend=" + log::quote(spec.backend) + " hook=" + spec.action + " pid=" + std::to_string(child_->pid()));
  return true;
}

void Hook::on_line(Stream s, std::string_view line) {
  log_(s, line);
  if (s == Stream::out) {
    if (!line.empty()) result_.last_line.assign(line);
    return;
  }
  std::string& tail = result_.stderr_tail;
  if (!tail.empty()) tail.push_back('\n');
  tail.append(line);
  if (tail.size() > kStderrTail) tail.erase(0, tail.size() - kStderrTail);
}

void Hook::poll_fds(std::vector<pollfd>& out) const {
  if (child_) child_->poll_fds(out);
}

bool Hook::on_ready(int fd) { return child_ && child_->on_ready(fd); }

void Hook::on_tick(int64_t now_ms) {
  if (!running()) return;
  if (!result_.timed_out && now_ms >= deadline_ms_) {
    result_.timed_out = true;
    child_->set_kill_group_on_exit(true);
    child_->terminate(now_ms, spec_.kill_grace_ms);
    log::write(log::Level::warn, "hook_timeout",
               "backend=" + log::quote(spec_.backend) + " hook=" + spec_.action +
                   " timeout_ms=" + std::to_string(spec_.timeout_ms));
  }
  child_->on_tick(now_ms);
}

int64_t Hook::next_deadline_ms() const {
  if (!running()) return -1;
  return result_.timed_out ? child_->next_deadline_ms() : deadline_ms_;
}

void Hook::kill() {
  if (!running()) return;
  child_->set_kill_group_on_exit(true);
  child_->kill();
}

std::optional<HookResult> Hook::take_result() {
  if (!child_ || !child_->exit_status()) return std::nullopt;
  result_.exit = *child_->exit_status();
  child_.reset();
  if (!result_.last_line.empty()) {
    HookAnswer a;
    if (parse_hook_answer(result_.last_line, a, result_.answer_error)) result_.answer = std::move(a);
  }
  log::write(log::Level::info, "hook_done",
             "backend=" + log::quote(spec_.backend) + " hook=" + spec_.action + " " + result_.exit.describe() +
                 (result_.timed_out ? " timed_out=true" : ""));
  return std::move(result_);
}

std::string HookResult::describe(std::string_view action, uint32_t timeout_ms) const {
  std::string s = std::string(action) + " hook ";
  if (timed_out) s += "timed out after " + std::to_string(timeout_ms / 1000) + "s";
  else s += "exited with " + exit.describe();
  if (!stderr_tail.empty()) s += ": " + stderr_tail;
  return s;
}

}  // namespace corral::fleet
