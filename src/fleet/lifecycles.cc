#include "corral/fleet/lifecycles.h"

#include <poll.h>

#include "corral/api/json.h"

namespace corral::fleet {
namespace {

std::string describe_supervised(const SupervisedStatus& s) {
  std::string j = "\"supervised\":{\"state\":";
  api::append_json_string(j, s.state);
  j += ",\"pid\":" + std::to_string(s.pid) + ",\"restarts\":" + std::to_string(s.restarts) +
       ",\"failed_checks\":" + std::to_string(s.failed_checks) + ",\"last_exit\":";
  if (s.last_exit) api::append_json_string(j, s.last_exit->status.describe());
  else j += "null";
  return j + "}";
}

std::string describe_on_demand(const OnDemandStatus& s) {
  std::string j = "\"provisioning_status\":";
  api::append_json_string(j, s.provisioning_status);
  j += ",\"error\":";
  if (s.error.empty()) j += "null";
  else api::append_json_string(j, s.error);
  j += ",\"remote_url\":";
  if (s.remote_url.empty()) j += "null";
  else api::append_json_string(j, s.remote_url);
  for (const HookField& f : s.fields) {
    j.push_back(',');
    api::append_json_string(j, f.key);
    j += ":" + f.json;
  }
  j += ",\"idle_timeout\":" + std::to_string(s.idle_timeout_ms / 1000) +
       ",\"idle_for\":" + std::to_string(s.idle_for_ms / 1000) + ",\"hook\":";
  if (s.hook.empty()) j += "null";
  else api::append_json_string(j, s.hook);
  return j;
}

}  // namespace

Lifecycles::Lifecycles(const config::Config& cfg, unsigned workers, const ScalingLoad& load)
    : load_(load), wakeup_(std::make_shared<Wakeup>()) {
  for (const config::BackendConfig& b : cfg.backends) {
    if (b.supervise) supervised_.push_back(std::make_unique<SupervisedBackend>(b.name, *b.supervise));
    if (b.on_demand) {
      auto od = std::make_unique<OnDemandBackend>(b, cfg.health.unhealthy_after, workers, wakeup_);
      on_demand_.push_back({std::move(od), b.models, b.on_demand->hold_ms});
    }
  }
  for (const config::ScalingGroupConfig& g : cfg.scaling.groups) {
    std::vector<OnDemandBackend*> members;
    for (const std::string& name : g.members) {
      for (OnDemandEntry& e : on_demand_) {
        if (e.backend->name() == name) members.push_back(e.backend.get());
      }
    }
    group_members_.push_back(g.members);
    groups_.push_back(std::make_unique<ScalingGroup>(g, members, member_capacities(cfg, g)));
  }
}

void Lifecycles::begin(int64_t now_ms) {
  for (auto& s : supervised_) s->start(now_ms);
  for (auto& e : on_demand_) e.backend->begin(now_ms);
}

void Lifecycles::fds(std::vector<int>& out) const {
  std::vector<pollfd> p;
  p.push_back({wakeup_->fd(), POLLIN, 0});
  for (const auto& s : supervised_) s->poll_fds(p);
  for (const auto& e : on_demand_) e.backend->poll_fds(p);
  for (const pollfd& f : p) out.push_back(f.fd);
}

void Lifecycles::on_ready(int fd, int64_t now_ms) {
  if (fd == wakeup_->fd()) wakeup_->clear();  // demand arrived: on_tick reads the counters
  for (auto& s : supervised_) s->on_ready(fd, now_ms);
  for (auto& e : on_demand_) e.backend->on_ready(fd, now_ms);
}

void Lifecycles::on_tick(int64_t now_ms, const std::function<uint32_t(std::string_view)>& in_flight) {
  for (auto& s : supervised_) s->on_tick(now_ms);
  if (stopping_) return;  // on-demand instances are left as they are, for the status hook to adopt
  for (auto& e : on_demand_) e.backend->on_tick(now_ms, in_flight(e.backend->name()));
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::vector<uint32_t> busy;
    for (const std::string& name : group_members_[g]) busy.push_back(in_flight(name));
    groups_[g]->on_tick(now_ms, load_.load(static_cast<int>(g)), busy);
  }
}

void Lifecycles::on_health(std::string_view backend, bool ok, int64_t now_ms) {
  for (auto& s : supervised_) {
    if (s->name() == backend) s->on_health(ok, now_ms);
  }
  for (auto& e : on_demand_) {
    if (e.backend->name() == backend) e.backend->on_health(ok, now_ms);
  }
}

std::string Lifecycles::remote_url(std::string_view backend) const {
  for (const auto& e : on_demand_) {
    if (e.backend->name() == backend) {
      return e.backend->state() == Provisioning::ready ? e.backend->remote_url() : std::string();
    }
  }
  return {};
}

void Lifecycles::describe(int64_t now_ms, std::vector<route::LifecycleView>& out) const {
  for (const auto& s : supervised_) {
    SupervisedStatus st = s->status();
    out.push_back({s->name(), false, std::string(st.state), {}, describe_supervised(st), {}, 0, {}});
  }
  for (const auto& e : on_demand_) {
    OnDemandStatus st = e.backend->status(now_ms);
    out.push_back({e.backend->name(), true, std::string(st.provisioning_status), st.error, describe_on_demand(st),
                   e.models, e.hold_ms, e.backend->demand()});
  }
}

void Lifecycles::scaling(std::vector<route::ScalingView>& out) const {
  for (const auto& g : groups_) {
    out.push_back({g->name(), g->last().load, g->last().desired, g->ups(), g->downs()});
  }
}

void Lifecycles::stop(int64_t now_ms) {
  stopping_ = true;
  for (auto& s : supervised_) s->stop(now_ms);
  for (auto& e : on_demand_) e.backend->shutdown();
}

bool Lifecycles::stopped() const {
  for (const auto& s : supervised_) {
    if (!s->stopped()) return false;
  }
  return true;
}

}  // namespace corral::fleet
