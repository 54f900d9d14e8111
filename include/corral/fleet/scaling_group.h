// A scaling group on the control thread: its Scaler applied to its on-demand members each
// round (members in the group do not start on their own demand; the group starts them).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "corral/fleet/on_demand.h"
#include "corral/fleet/scaling.h"

namespace corral::fleet {

// Requests each member takes, in member order: the group's capacity, else the member's
// max_concurrent, else metrics.default_capacity.
std::vector<uint32_t> member_capacities(const config::Config& cfg, const config::ScalingGroupConfig& g);

class ScalingGroup {
 public:
  // members: the group's backends in start order (owned elsewhere, outliving the group);
  // capacities: requests each one takes (max_concurrent, else metrics.default_capacity).
  ScalingGroup(config::ScalingGroupConfig cfg, std::vector<OnDemandBackend*> members, std::vector<uint32_t> capacities);

  // One round: requests = the group's requests in flight and queued; in_flight[i] = requests on
  // member i now. Starts and stops members; the decision is for metrics and /status.
  const ScalingDecision& on_tick(int64_t now_ms, std::span<const RequestLoad> requests,
                                 std::span<const uint32_t> in_flight);
  // The same with the group's load already weighed (the workers' ScalingLoad).
  const ScalingDecision& on_tick(int64_t now_ms, double load, std::span<const uint32_t> in_flight);
  uint64_t ups() const { return ups_; }
  uint64_t downs() const { return downs_; }

  const std::string& name() const { return scaler_.config().name; }
  const ScalingDecision& last() const { return last_; }

 private:
  Scaler scaler_;
  std::vector<OnDemandBackend*> members_;
  std::vector<uint32_t> capacities_;
  ScalingDecision last_;
  uint64_t ups_ = 0, downs_ = 0;  // decisions so far, by direction
};

}  // namespace corral::fleet
