// Backends with a life of their own — a process corral supervises, an
// instance an on-demand hook starts and stops — run by the control thread and
// never by a worker. The fleet module implements Lifecycle; the control thread
// drives it (descriptors, ticks, health results) and publishes what it says in
// the routing snapshot, where workers read it and signal demand without locks.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace corral::route {

// Workers note a request that wants an on-demand backend (wait-free).
class DemandSignal {
 public:
  virtual void note(unsigned worker) noexcept = 0;

 protected:
  ~DemandSignal() = default;
};

// One lifecycle backend as the snapshot shows it.
struct LifecycleView {
  std::string name;        // the configured backend
  bool on_demand = false;  // else supervised
  std::string state;       // supervised: starting|running|backoff|stopping|stopped;
                           // on demand: idle|provisioning|ready|stopping|error
  std::string error;
  std::string status_json;               // its /status fields, as JSON members ("\"pid\":12,…")
  std::vector<std::string> models;       // on demand: what it serves (empty: any model no running backend has)
  uint32_t hold_ms = 0;                  // on demand: requests wait this long instead of a 503
  std::shared_ptr<DemandSignal> demand;  // on demand
  bool ready() const { return !on_demand || state == "ready"; }
};

// A scaling group's last decision (corral_desired_replicas and friends).
struct ScalingView {
  std::string group;
  double load = 0;              // corral_complexity_load{group}
  uint32_t desired = 0;         // corral_desired_replicas{group}
  uint64_t ups = 0, downs = 0;  // corral_scaling_decisions_total{group,direction}
};

class Lifecycle {
 public:
  virtual ~Lifecycle() = default;
  // Runs status hooks, starts supervised processes.
  virtual void begin(int64_t now_ms) = 0;
  // The descriptors to watch now (pidfds, pipes, the workers' wake-up).
  virtual void fds(std::vector<int>& out) const = 0;
  virtual void on_ready(int fd, int64_t now_ms) = 0;
  // Every control tick; in_flight(name): requests on that backend now.
  virtual void on_tick(int64_t now_ms, const std::function<uint32_t(std::string_view)>& in_flight) = 0;
  // A health probe of a lifecycle backend's member.
  virtual void on_health(std::string_view backend, bool ok, int64_t now_ms) = 0;
  // Where an on-demand backend is reachable now ("http://HOST:PORT"), empty while it is not.
  virtual std::string remote_url(std::string_view backend) const = 0;
  virtual void describe(int64_t now_ms, std::vector<LifecycleView>& out) const = 0;
  virtual void scaling(std::vector<ScalingView>& out) const = 0;
  // corral is stopping, its requests drained: supervised processes get SIGTERM, hooks are killed.
  virtual void stop(int64_t now_ms) = 0;
  virtual bool stopped() const = 0;
};

}  // namespace corral::route
