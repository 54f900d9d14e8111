// Every backend lifecycle of the configuration, as the control thread runs
// them: supervised processes (supervise:), on-demand instances (on_demand:)
// and the scaling groups that start and stop on-demand members.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "corral/config/config.h"
#include "corral/fleet/demand.h"
#include "corral/fleet/on_demand.h"
#include "corral/fleet/scaling_group.h"
#include "corral/fleet/scaling_load.h"
#include "corral/fleet/supervisor.h"
#include "corral/route/lifecycle.h"

namespace corral::fleet {

class Lifecycles final : public route::Lifecycle {
 public:
  // workers: the worker threads that may note demand; load: what the workers weigh for scaling groups.
  Lifecycles(const config::Config& cfg, unsigned workers, const ScalingLoad& load);
  bool empty() const { return supervised_.empty() && on_demand_.empty(); }

  void begin(int64_t now_ms) override;
  void fds(std::vector<int>& out) const override;
  void on_ready(int fd, int64_t now_ms) override;
  void on_tick(int64_t now_ms, const std::function<uint32_t(std::string_view)>& in_flight) override;
  void on_health(std::string_view backend, bool ok, int64_t now_ms) override;
  std::string remote_url(std::string_view backend) const override;
  void describe(int64_t now_ms, std::vector<route::LifecycleView>& out) const override;
  void scaling(std::vector<route::ScalingView>& out) const override;
  void stop(int64_t now_ms) override;
  bool stopped() const override;

 private:
  struct OnDemandEntry {
    std::unique_ptr<OnDemandBackend> backend;
    std::vector<std::string> models;
    uint32_t hold_ms;
  };
  const ScalingLoad& load_;
  std::shared_ptr<Wakeup> wakeup_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<SupervisedBackend>> supervised_;
  std::vector<OnDemandEntry> on_demand_;
  std::vector<std::unique_ptr<ScalingGroup>> groups_;
  std::vector<std::vector<std::string>> group_members_;  // per group: member names, in order
};

}  // namespace corral::fleet
