// A supervised backend (seed 004: corral runs `ollama serve` itself). Supervisor is the
// decision logic alone — events in, actions out, time passed in — so every sequence is a
// unit test with a manual clock; SupervisedBackend binds it to a Child on the control thread.
//
//   stopped --start--> starting --health ok--> running
//   starting|running --exit--> backoff --retry time--> starting      (back-off 1 s, 2 s … 60 s)
//   starting|running --restart_after failed checks--> stopping(restart) --exit--> backoff
//   any --stop--> stopping(final) --exit--> stopped
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corral/config/config.h"
#include "corral/fleet/child.h"
#include "corral/fleet/exit_status.h"

namespace corral::fleet {

enum class SupervisorState : uint8_t { stopped, starting, running, backoff, stopping };
std::string_view state_name(SupervisorState s);

struct SupervisorPolicy {
  uint32_t restart_after = 3;        // consecutive failed health checks
  uint32_t stop_timeout_ms = 10000;  // SIGTERM, then SIGKILL
  uint32_t backoff_initial_ms = 1000;
  uint32_t backoff_max_ms = 60000;
  uint32_t healthy_reset_ms = 60000;  // healthy this long in a row: the back-off starts again at 1 s

  static SupervisorPolicy from(const config::SuperviseConfig& c);
};

enum class SupervisorAction : uint8_t { none, spawn, terminate };

struct LastExit {
  ExitStatus status;
  int64_t at_ms = 0;  // on the clock passed in (monotonic in corral)
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorPolicy p) : p_(p), backoff_ms_(p.backoff_initial_ms) {}

  SupervisorAction start(int64_t now_ms);
  // The spawn action failed (command not found, fork failed): counts as an exit.
  void on_spawn_failed(int64_t now_ms);
  SupervisorAction on_exit(ExitStatus s, int64_t now_ms);
  SupervisorAction on_health(bool ok, int64_t now_ms);
  SupervisorAction on_tick(int64_t now_ms);
  // For good (corral is stopping): terminate if alive; stopped once it has exited.
  SupervisorAction stop(int64_t now_ms);

  SupervisorState state() const { return state_; }
  uint32_t restarts() const { return restarts_; }
  uint32_t failed_checks() const { return failed_; }
  const std::optional<LastExit>& last_exit() const { return last_exit_; }
  uint32_t next_backoff_ms() const { return backoff_ms_; }
  int64_t retry_at_ms() const { return state_ == SupervisorState::backoff ? retry_at_ms_ : -1; }
  const SupervisorPolicy& policy() const { return p_; }

 private:
  void enter_backoff(int64_t now_ms);
  void reset_backoff_if_healthy(int64_t now_ms);

  SupervisorPolicy p_;
  SupervisorState state_ = SupervisorState::stopped;
  bool final_stop_ = false;
  uint32_t restarts_ = 0;
  uint32_t failed_ = 0;
  uint32_t backoff_ms_;
  int64_t retry_at_ms_ = -1;
  int64_t healthy_since_ms_ = -1;
  std::optional<LastExit> last_exit_;
};

// What /status shows for a supervised backend.
struct SupervisedStatus {
  std::string_view state;
  int pid = 0;  // 0 when no process is running
  uint32_t restarts = 0;
  uint32_t failed_checks = 0;
  std::optional<LastExit> last_exit;
  int64_t retry_at_ms = -1;  // in back-off: when the next start is due
};

// The driver, on the control thread. Each output line of the process is logged as
// event=backend_output backend=NAME stream=stdout|stderr line="…".
class SupervisedBackend {
 public:
  SupervisedBackend(std::string name, const config::SuperviseConfig& cfg);

  void start(int64_t now_ms);
  void poll_fds(std::vector<pollfd>& out) const;
  void on_ready(int fd, int64_t now_ms);
  void on_tick(int64_t now_ms);
  // The result of each health probe of this backend.
  void on_health(bool ok, int64_t now_ms);
  // corral is stopping (after in-flight requests drained): SIGTERM, SIGKILL after stop_timeout.
  void stop(int64_t now_ms);
  bool stopped() const { return machine_.state() == SupervisorState::stopped; }
  int64_t next_deadline_ms() const;

  const std::string& name() const { return name_; }
  SupervisedStatus status() const;

 private:
  void run(SupervisorAction a, int64_t now_ms);
  void spawn(int64_t now_ms);

  std::string name_;
  SpawnSpec spec_;
  Supervisor machine_;
  std::unique_ptr<Child> child_;
  Child::OnLine log_;
};

}  // namespace corral::fleet
