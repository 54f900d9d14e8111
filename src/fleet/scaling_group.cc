#include "corral/fleet/scaling_group.h"

#include "corral/core/log.h"

namespace corral::fleet {

std::vector<uint32_t> member_capacities(const config::Config& cfg, const config::ScalingGroupConfig& g) {
  std::vector<uint32_t> out;
  for (const std::string& name : g.members) {
    uint32_t c = g.capacity;
    for (const config::BackendConfig& b : cfg.backends) {
      if (b.name == name && c == 0) c = b.max_concurrent;
    }
    out.push_back(c ? c : cfg.metrics.default_capacity);
  }
  return out;
}

ScalingGroup::ScalingGroup(config::ScalingGroupConfig cfg, std::vector<OnDemandBackend*> members,
                           std::vector<uint32_t> capacities)
    : scaler_(std::move(cfg)), members_(std::move(members)), capacities_(std::move(capacities)) {
  for (OnDemandBackend* m : members_) m->set_auto_start(false);
}

const ScalingDecision& ScalingGroup::on_tick(int64_t now_ms, std::span<const RequestLoad> requests,
                                             std::span<const uint32_t> in_flight) {
  return on_tick(now_ms, scaler_.load(requests), in_flight);
}

const ScalingDecision& ScalingGroup::on_tick(int64_t now_ms, double load, std::span<const uint32_t> in_flight) {
  std::vector<MemberView> views(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    Provisioning p = members_[i]->state();
    views[i].up = p == Provisioning::ready || p == Provisioning::provisioning;
    views[i].startable = members_[i]->startable(now_ms);
    views[i].in_flight = i < in_flight.size() ? in_flight[i] : 0;
    views[i].capacity = i < capacities_.size() ? capacities_[i] : 1;
  }
  // A request that found no member up was answered 503 (no hold): it weighs nothing, but
  // its retry needs a member, so it counts as waiting for one.
  bool turned_away = false;
  for (OnDemandBackend* m : members_) turned_away = m->take_demand() || turned_away;
  last_ = scaler_.evaluate(now_ms, load, views, turned_away);
  for (size_t i : last_.start) members_[i]->want_up(now_ms);
  bool stopping = false;
  for (size_t i : last_.stop) {
    members_[i]->want_down(now_ms, views[i].in_flight);
    stopping = stopping || members_[i]->state() == Provisioning::stopping;
  }
  // A member still provisioning is stopped once it is ready, not now: no decision yet.
  if (last_.direction == ScaleDirection::down && !stopping) last_.direction = ScaleDirection::none;
  if (last_.direction == ScaleDirection::up) ++ups_;
  if (last_.direction == ScaleDirection::down) ++downs_;
  if (last_.direction != ScaleDirection::none) {
    log::write(log::Level::info, "scaling",
               "group=" + log::quote(name()) + " direction=" + (last_.direction == ScaleDirection::up ? "up" : "down") +
                   " current=" + std::to_string(last_.current) + " desired=" + std::to_string(last_.desired) +
                   " load=" + std::to_string(last_.load));
  }
  return last_;
}

}  // namespace corral::fleet
