// Seed 001's scaling policy for a group of on-demand backends, as pure logic.
//
// Load: every request in flight or queued for the group counts weight(model) × factor(score):
//   weight  model_weights[model], else model_weights[name before ":tag"], else 1.0;
//   factor  scale_up_factors.high if score >= complexity_thresholds.high, .medium if >= medium,
//           .low if >= low, else 1.0.
// Recommendation: the fewest members, in start order, whose capacity × target_utilization
// covers the load, within [min, max].
// Stabilization as the Kubernetes HPA's: the result is the current count moved no higher than
// the lowest recommendation of the last `up` window and no lower than the highest of the last
// `down` window. With no member up, one starts at once for any load (requests are waiting).
// Never stops a member with requests in flight.
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "corral/config/config.h"

namespace corral::fleet {

// Requests of one model and complexity score (0..100), in flight or queued.
struct RequestLoad {
  std::string_view model;
  uint32_t complexity = 0;
  uint32_t count = 1;
};

struct MemberView {
  bool up = false;         // ready, or starting (provisioning)
  bool startable = true;   // idle, or in error past its back-off
  uint32_t in_flight = 0;  // requests on it now; > 0: never chosen to stop
  uint32_t capacity = 1;   // concurrent requests it takes (max_concurrent or metrics.default_capacity)
};

enum class ScaleDirection : int8_t { down = -1, none = 0, up = 1 };

struct ScalingDecision {
  double load = 0;                                  // corral_complexity_load{group}
  uint32_t recommended = 0;                         // before stabilization
  uint32_t desired = 0;                             // corral_desired_replicas{group}
  uint32_t current = 0;                             // members up when evaluated
  std::vector<size_t> start, stop;                  // member indexes to act on now
  ScaleDirection direction = ScaleDirection::none;  // counts corral_scaling_decisions_total{group,direction}
};

class Scaler {
 public:
  explicit Scaler(config::ScalingGroupConfig g) : g_(std::move(g)) {}

  ScalingDecision evaluate(int64_t now_ms, std::span<const RequestLoad> requests, std::span<const MemberView> members);
  // The same with the load already weighed (the workers' ScalingLoad). turned_away: requests
  // were answered 503 provisioning since the last round (they weigh nothing, they wait for none).
  ScalingDecision evaluate(int64_t now_ms, double load, std::span<const MemberView> members, bool turned_away = false);

  double weight(std::string_view model) const;
  double factor(uint32_t complexity) const;
  double load(std::span<const RequestLoad> requests) const;
  uint32_t recommend(double load, std::span<const MemberView> members) const;
  const config::ScalingGroupConfig& config() const { return g_; }

 private:
  struct Sample {
    int64_t at_ms;
    uint32_t recommended;
  };
  uint32_t stabilize(int64_t now_ms, uint32_t recommended, uint32_t current);

  config::ScalingGroupConfig g_;
  std::deque<Sample> history_;
};

}  // namespace corral::fleet
