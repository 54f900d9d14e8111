// The YAML of backend lifecycles: backends[i].supervise, backends[i].on_demand,
// backends[i].models and the scaling section, plus the checks that need the whole config.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "corral/config/config.h"
#include "yaml_setters.h"

namespace corral::config::yaml {

// key is the backend's full key ("backends[2]"), so errors name e.g. backends[2].supervise.command.
Setter supervise(std::optional<SuperviseConfig>& dst, const std::string& key);
Setter on_demand(std::optional<OnDemandConfig>& dst, const std::string& key);
Setter string_list(std::vector<std::string>& dst);
Setter scaling(ScalingConfig& dst);

}  // namespace corral::config::yaml

namespace corral::config {

// url "auto" only with on_demand, not both supervise and on_demand, scaling groups name
// existing on-demand backends (each in one group) with min <= max <= members; max 0 becomes
// the number of members.
bool finalize_lifecycle(Config& cfg, std::string& err);

}  // namespace corral::config
