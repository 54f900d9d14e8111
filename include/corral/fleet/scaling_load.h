// The weighted load of each scaling group, fed by the workers: a request for a
// group's backend counts weight(model) × factor(complexity) (seed 001's
// policy) from the moment it is routed or queued there until it ends. One
// relaxed atomic per group, touched only by requests for a group.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corral/config/config.h"
#include "corral/fleet/scaling.h"

namespace corral::fleet {

class ScalingLoad {
 public:
  explicit ScalingLoad(const config::ScalingConfig& cfg);
  size_t groups() const { return scalers_.size(); }
  // The group whose member `backend` is, or -1.
  int group_of(std::string_view backend) const;
  // What one request weighs in a group, in thousandths.
  int64_t weight_milli(int group, std::string_view model, int complexity) const;
  void add(int group, int64_t milli) { loads_[group].fetch_add(milli, std::memory_order_relaxed); }
  double load(int group) const { return double(loads_[group].load(std::memory_order_relaxed)) / 1000.0; }

 private:
  std::vector<Scaler> scalers_;  // their weights and factors
  std::unique_ptr<std::atomic<int64_t>[]> loads_;
};

}  // namespace corral::fleet
