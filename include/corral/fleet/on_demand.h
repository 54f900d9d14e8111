// An on-demand backend (seed 002: a cloud GPU instance started on the first request that
// needs it and stopped after idle_timeout). OnDemand is the decision logic alone, with time
// passed in; OnDemandBackend binds it to Hook and to the workers' Demand counters.
//
//   idle --want_up--> provisioning --start ok, url--> ready --idle / want_down--> stopping --stop ok--> idle
//   provisioning --start failed--> stopping (clean-up) --> error        (retried on demand, back-off 5 s … 5 min)
//   ready --lost_after failed health checks--> provisioning (start again: find or create)
//   begin --status hook: running instance--> ready (adopted) | exit 3--> idle
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corral/config/config.h"
#include "corral/fleet/demand.h"
#include "corral/fleet/hook.h"

namespace corral::fleet {

// provisioning_status in /status (seed 002's values).
enum class Provisioning : uint8_t { idle, provisioning, ready, stopping, error };
std::string_view provisioning_name(Provisioning p);

enum class HookAction : uint8_t { none, start, stop, status };
std::string_view hook_name(HookAction a);

struct OnDemandPolicy {
  uint32_t idle_timeout_ms = 1800000;  // 0 = never idle-stopped
  uint32_t start_timeout_ms = 600000;  // the start hook's time-out
  uint32_t hook_timeout_ms = 300000;   // stop and status hooks' time-out
  uint32_t lost_after = 3;             // consecutive failed health checks of a ready backend
  uint32_t backoff_initial_ms = 5000;  // after an error, the next start waits this long, doubling
  uint32_t backoff_max_ms = 300000;
  bool has_status_hook = false;
  std::string fixed_url;  // the configured url when it is not "auto": used when the hook prints none

  static OnDemandPolicy from(const config::BackendConfig& b, uint32_t unhealthy_after);
};

class OnDemand {
 public:
  explicit OnDemand(OnDemandPolicy p) : p_(std::move(p)), backoff_ms_(p_.backoff_initial_ms) {}

  // At start-up: runs the status hook when there is one.
  HookAction begin(int64_t now_ms);
  // Requests arrived for this backend (activity for the idle clock).
  void on_request(int64_t now_ms);
  // Requests need it (or the scaling group wants it up): start unless running, starting or in back-off.
  HookAction want_up(int64_t now_ms);
  // The scaling group wants it down: stop if ready and nothing is in flight.
  HookAction want_down(int64_t now_ms, uint32_t in_flight);
  // in_flight: requests on this backend now; while any is in flight it is never idle.
  HookAction on_tick(int64_t now_ms, uint32_t in_flight);
  HookAction on_health(bool ok, int64_t now_ms);
  HookAction on_hook_done(HookAction which, const HookResult& r, int64_t now_ms);
  // The hook could not even be started (not found, not executable).
  HookAction on_hook_failed_to_start(HookAction which, const std::string& err, int64_t now_ms);

  Provisioning state() const { return state_; }
  HookAction hook_running() const { return running_; }
  const std::string& error() const { return error_; }
  const std::string& remote_url() const { return url_; }
  const std::vector<HookField>& fields() const { return fields_; }
  int64_t started_at_ms() const { return state_ == Provisioning::ready ? ready_at_ms_ : -1; }
  int64_t idle_for_ms(int64_t now_ms) const { return state_ == Provisioning::ready ? now_ms - last_active_ms_ : 0; }
  int64_t retry_at_ms() const { return state_ == Provisioning::error ? retry_at_ms_ : -1; }
  // When on_tick next has something to do (idle stop, stop retry), or -1.
  int64_t next_deadline_ms() const;
  const OnDemandPolicy& policy() const { return p_; }

 private:
  HookAction provision(int64_t now_ms);
  HookAction begin_stop(bool cleanup);
  HookAction fail(int64_t now_ms, std::string why);
  void become_ready(int64_t now_ms, std::string url, std::vector<HookField> fields);
  HookAction after_status(const HookResult* r, const std::string& err, int64_t now_ms);
  HookAction after_start(const HookResult& r, int64_t now_ms);
  HookAction after_stop(bool ok, std::string why, int64_t now_ms);

  OnDemandPolicy p_;
  Provisioning state_ = Provisioning::idle;
  HookAction running_ = HookAction::none;
  bool pending_up_ = false;   // demand while the status or stop hook ran
  bool cleanup_ = false;      // this stop follows a failed start: end in error, not idle
  bool stop_failed_ = false;  // the instance may still run: stop again after the back-off
  std::string error_, cleanup_error_;
  std::string url_;
  std::vector<HookField> fields_;
  uint32_t lost_ = 0;
  uint32_t backoff_ms_;
  int64_t retry_at_ms_ = 0;
  int64_t last_active_ms_ = 0;
  int64_t ready_at_ms_ = -1;
};

// What /status shows for an on-demand backend.
struct OnDemandStatus {
  std::string_view provisioning_status;
  std::string error;
  std::string remote_url;
  std::vector<HookField> fields;  // the start (or status) hook's other JSON fields
  uint32_t idle_timeout_ms = 0;
  int64_t idle_for_ms = 0;
  int64_t started_at_ms = -1;  // on the control thread's clock; -1 unless ready
  int64_t retry_at_ms = -1;    // in error: the next start is not tried before this
  std::string_view hook;       // the hook running now: start | stop | status, or empty
};

class OnDemandBackend {
 public:
  // workers: worker threads that may call demand()->note(); wakeup: the control thread's eventfd.
  OnDemandBackend(const config::BackendConfig& b, uint32_t unhealthy_after, unsigned workers,
                  std::shared_ptr<Wakeup> wakeup);

  // Workers signal through this (publish it in the routing snapshot).
  const std::shared_ptr<Demand>& demand() const { return demand_; }
  // true (default): requests start it. false: a scaling group decides through want_up/want_down.
  void set_auto_start(bool on) { auto_start_ = on; }
  // Requests were noted for it since the last call (its scaling group asks each round).
  bool take_demand() { return std::exchange(demanded_, false); }

  void begin(int64_t now_ms);
  void poll_fds(std::vector<pollfd>& out) const;
  void on_ready(int fd, int64_t now_ms);
  void on_tick(int64_t now_ms, uint32_t in_flight);
  void on_health(bool ok, int64_t now_ms);
  void want_up(int64_t now_ms);
  void want_down(int64_t now_ms, uint32_t in_flight);
  // corral is stopping: a running hook is killed; the instance is left as it is (the status
  // hook adopts it at the next start).
  void shutdown();
  int64_t next_deadline_ms() const;

  const std::string& name() const { return name_; }
  Provisioning state() const { return machine_.state(); }
  const std::string& remote_url() const { return machine_.remote_url(); }
  // want_up would start it now: idle, or in error past its back-off.
  bool startable(int64_t now_ms) const {
    return state() == Provisioning::idle || (state() == Provisioning::error && now_ms >= machine_.retry_at_ms());
  }
  OnDemandStatus status(int64_t now_ms) const;

 private:
  void run(HookAction a, int64_t now_ms);

  std::string name_;
  config::OnDemandConfig cfg_;
  OnDemand machine_;
  std::shared_ptr<Demand> demand_;
  uint64_t demand_seen_ = 0;
  bool auto_start_ = true;
  bool demanded_ = false;
  Hook hook_;
  HookAction hook_action_ = HookAction::none;
};

}  // namespace corral::fleet
