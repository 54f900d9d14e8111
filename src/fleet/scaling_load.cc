#include "corral/fleet/scaling_load.h"

#include <cmath>

namespace corral::fleet {

ScalingLoad::ScalingLoad(const config::ScalingConfig& cfg)
    : loads_(std::make_unique<std::atomic<int64_t>[]>(cfg.groups.size())) {
  for (const config::ScalingGroupConfig& g : cfg.groups) scalers_.emplace_back(g);
}

int ScalingLoad::group_of(std::string_view backend) const {
  for (size_t g = 0; g < scalers_.size(); ++g) {
    for (const std::string& m : scalers_[g].config().members) {
      if (m == backend) return static_cast<int>(g);
    }
  }
  return -1;
}

int64_t ScalingLoad::weight_milli(int group, std::string_view model, int complexity) const {
  const Scaler& s = scalers_[static_cast<size_t>(group)];
  return std::llround(s.weight(model) * s.factor(complexity < 0 ? 0 : static_cast<uint32_t>(complexity)) * 1000.0);
}

}  // namespace corral::fleet
