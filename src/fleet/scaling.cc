#include "corral/fleet/scaling.h"

#include <algorithm>

namespace corral::fleet {

double Scaler::weight(std::string_view model) const {
  std::string_view base = model.substr(0, model.find(':'));
  const double* by_base = nullptr;
  for (const auto& [name, w] : g_.model_weights) {
    if (name == model) return w;
    if (name == base) by_base = &w;
  }
  return by_base ? *by_base : 1.0;
}

double Scaler::factor(uint32_t complexity) const {
  const auto& t = g_.complexity_thresholds;
  const auto& f = g_.scale_up_factors;
  if (complexity >= t.high) return f.high;
  if (complexity >= t.medium) return f.medium;
  if (complexity >= t.low) return f.low;
  return 1.0;
}

double Scaler::load(std::span<const RequestLoad> requests) const {
  double total = 0;
  for (const RequestLoad& r : requests) total += r.count * weight(r.model) * factor(r.complexity);
  return total;
}

uint32_t Scaler::recommend(double load, std::span<const MemberView> members) const {
  uint32_t n = 0;
  double covered = 0;
  while (n < members.size() && covered < load) covered += members[n++].capacity * g_.target_utilization;
  uint32_t max = static_cast<uint32_t>(members.size());
  if (g_.max > 0) max = std::min(max, g_.max);
  return std::clamp(n, std::min(g_.min, max), max);
}

// As the HPA's stabilizeRecommendationWithBehaviors: recommendations are kept for the longer
// window; up is limited by the lowest of the up window, down by the highest of the down window.
uint32_t Scaler::stabilize(int64_t now_ms, uint32_t recommended, uint32_t current) {
  history_.push_back({now_ms, recommended});
  int64_t keep = std::max(g_.stabilization_up_ms, g_.stabilization_down_ms);
  while (!history_.empty() && history_.front().at_ms < now_ms - keep) history_.pop_front();
  uint32_t up_limit = recommended, down_limit = recommended;
  for (const Sample& s : history_) {
    if (s.at_ms >= now_ms - static_cast<int64_t>(g_.stabilization_up_ms)) up_limit = std::min(up_limit, s.recommended);
    if (s.at_ms >= now_ms - static_cast<int64_t>(g_.stabilization_down_ms)) {
      down_limit = std::max(down_limit, s.recommended);
    }
  }
  return std::min(std::max(current, up_limit), down_limit);
}

ScalingDecision Scaler::evaluate(int64_t now_ms, std::span<const RequestLoad> requests,
                                 std::span<const MemberView> members) {
  return evaluate(now_ms, load(requests), members);
}

ScalingDecision Scaler::evaluate(int64_t now_ms, double load, std::span<const MemberView> members) {
  ScalingDecision d;
  d.load = load;
  d.recommended = recommend(d.load, members);
  for (const MemberView& m : members) d.current += m.up ? 1 : 0;
  d.desired = stabilize(now_ms, d.recommended, d.current);
  if (d.current == 0 && d.load > 0 && !members.empty()) d.desired = std::max(d.desired, 1u);
  for (size_t i = 0; i < members.size() && d.current + d.start.size() < d.desired; ++i) {
    if (!members[i].up && members[i].startable) d.start.push_back(i);
  }
  for (size_t i = members.size(); i-- > 0 && d.current - d.stop.size() > d.desired;) {
    if (members[i].up && members[i].in_flight == 0) d.stop.push_back(i);
  }
  d.direction = !d.start.empty() ? ScaleDirection::up : !d.stop.empty() ? ScaleDirection::down : ScaleDirection::none;
  return d;
}

}  // namespace corral::fleet
