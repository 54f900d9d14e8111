// backends[i].supervise / .on_demand / .models and scaling.groups: parsing and the
// checks that need the whole config (scaling members must be on-demand backends).
#include "lifecycle_yaml.h"

#include <cstdlib>
#include <set>

namespace corral::config {
namespace yaml {
namespace {

bool env_name(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
}

// A command line as a list: [packaging/hooks/exoscale, start].
Setter argv(std::vector<std::string>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!string_list(dst)(n, err)) return false;
    if (!dst.empty()) return true;
    err = "expected a command as a non-empty list, like [ollama, serve]";
    return false;
  };
}

Setter env_map(std::vector<std::pair<std::string, std::string>>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsMap()) {
      err = "expected a mapping of variable name to value";
      return false;
    }
    dst.clear();
    for (const auto& kv : n) {
      std::string name = kv.first.Scalar();
      if (!env_name(name) || !kv.second.IsScalar()) {
        err = name + ": expected NAME: value with NAME of letters, digits and _";
        return false;
      }
      dst.emplace_back(name, kv.second.Scalar());
    }
    return true;
  };
}

bool parse_number(const YAML::Node& n, double& out) {
  std::string s;
  if (!scalar(n, s) || s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && !*end;
}

// A number in (lo, hi].
Setter number_above(double& dst, double lo, double hi, const char* why) {
  return [&dst, lo, hi, why](const YAML::Node& n, std::string& err) {
    double v = 0;
    if (parse_number(n, v) && v > lo && v <= hi) {
      dst = v;
      return true;
    }
    err = why;
    return false;
  };
}

Setter weights(std::vector<std::pair<std::string, double>>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsMap()) {
      err = "expected a mapping of model to weight";
      return false;
    }
    dst.clear();
    for (const auto& kv : n) {
      double w = 0;
      std::string why;
      if (!number_above(w, 0, 1000, "expected a weight above 0")(kv.second, why)) {
        err = kv.first.Scalar() + ": " + why;
        return false;
      }
      dst.emplace_back(kv.first.Scalar(), w);
    }
    return true;
  };
}

Setter thresholds(ComplexityLevels<uint32_t>& dst, const std::string& key) {
  return [&dst, key](const YAML::Node& n, std::string& err) {
    if (!apply_map(
            n, key,
            {{"low", num(dst.low, 0, 100)}, {"medium", num(dst.medium, 0, 100)}, {"high", num(dst.high, 0, 100)}},
            err)) {
      return false;
    }
    if (dst.low <= dst.medium && dst.medium <= dst.high) return true;
    err = key + ": expected low <= medium <= high";
    return false;
  };
}

Setter factors(ComplexityLevels<double>& dst, const std::string& key) {
  const char* why = "expected a factor above 0 (1.5 counts a request as one and a half)";
  return [&dst, key, why](const YAML::Node& n, std::string& err) {
    return apply_map(n, key,
                     {{"low", number_above(dst.low, 0, 100, why)},
                      {"medium", number_above(dst.medium, 0, 100, why)},
                      {"high", number_above(dst.high, 0, 100, why)}},
                     err);
  };
}

bool one_group(const YAML::Node& n, const std::string& key, ScalingGroupConfig& g, std::string& err) {
  if (!apply_map(n, key,
                 {{"name", str(g.name)},
                  {"members", string_list(g.members)},
                  {"min", num(g.min, 0, 1000)},
                  {"max", num(g.max, 0, 1000)},
                  {"target_utilization", number_above(g.target_utilization, 0, 1,
                                                      "expected a fraction above 0 and at most 1 (0.70 is 70 %)")},
                  {"capacity", num(g.capacity, 0, 100000)},
                  {"complexity_thresholds", thresholds(g.complexity_thresholds, key + ".complexity_thresholds")},
                  {"scale_up_factors", factors(g.scale_up_factors, key + ".scale_up_factors")},
                  {"model_weights", weights(g.model_weights)},
                  {"stabilization", section(key + ".stabilization", {{"up", dur(g.stabilization_up_ms)},
                                                                     {"down", dur(g.stabilization_down_ms)}})}},
                 err)) {
    return false;
  }
  if (g.name.empty()) {
    err = key + ".name: required";
    return false;
  }
  if (g.members.empty()) {
    err = key + ".members: required (the on-demand backends of the group, in start order)";
    return false;
  }
  return true;
}

Setter groups(std::vector<ScalingGroupConfig>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsSequence()) {
      err = "expected a list of groups";
      return false;
    }
    dst.assign(n.size(), {});
    for (size_t i = 0; i < n.size(); ++i) {
      if (!one_group(n[i], "scaling.groups[" + std::to_string(i) + "]", dst[i], err)) return false;
    }
    return true;
  };
}

}  // namespace

Setter string_list(std::vector<std::string>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    dst.clear();
    if (!n.IsSequence()) {
      err = "expected a list of strings";
      return false;
    }
    for (const auto& item : n) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        err = "expected a list of non-empty strings";
        return false;
      }
      dst.push_back(item.Scalar());
    }
    return true;
  };
}

Setter supervise(std::optional<SuperviseConfig>& dst, const std::string& key) {
  std::string full = key + ".supervise";
  return [&dst, full](const YAML::Node& n, std::string& err) {
    SuperviseConfig& s = dst.emplace();
    if (!apply_map(n, full,
                   {{"command", argv(s.command)},
                    {"env", env_map(s.env)},
                    {"restart_after", num(s.restart_after, 1, 1000)},
                    {"stop_timeout", dur(s.stop_timeout_ms)}},
                   err)) {
      return false;
    }
    if (!s.command.empty()) return true;
    err = full + ".command: required, like [ollama, serve]";
    return false;
  };
}

Setter on_demand(std::optional<OnDemandConfig>& dst, const std::string& key) {
  std::string full = key + ".on_demand";
  return [&dst, full](const YAML::Node& n, std::string& err) {
    OnDemandConfig& d = dst.emplace();
    if (!apply_map(n, full,
                   {{"start", argv(d.start)},
                    {"stop", argv(d.stop)},
                    {"status", argv(d.status)},
                    {"idle_timeout", dur(d.idle_timeout_ms)},
                    {"start_timeout", dur(d.start_timeout_ms)},
                    {"hook_timeout", dur(d.hook_timeout_ms)},
                    {"hold", dur(d.hold_ms)}},
                   err)) {
      return false;
    }
    for (const auto& [name, cmd] : {std::pair{"start", &d.start}, std::pair{"stop", &d.stop}}) {
      if (cmd->empty()) {
        err = full + "." + name + ": required, a command like [packaging/hooks/exoscale, " + name + "]";
        return false;
      }
    }
    for (const auto& [name, ms] :
         {std::pair{"start_timeout", d.start_timeout_ms}, std::pair{"hook_timeout", d.hook_timeout_ms}}) {
      if (ms == 0) {
        err = full + "." + name + ": expected a duration above 0";
        return false;
      }
    }
    return true;
  };
}

// An empty `scaling:` (all of it commented out) means no groups.
Setter scaling(ScalingConfig& dst) {
  Setter keys = section("scaling", {{"groups", groups(dst.groups)}});
  return [&dst, keys](const YAML::Node& n, std::string& err) {
    if (!n.IsNull()) return keys(n, err);
    dst.groups.clear();
    return true;
  };
}

}  // namespace yaml

namespace {

int backend_index(const Config& cfg, const std::string& name) {
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    if (cfg.backends[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool check_backends(const Config& cfg, std::string& err) {
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    const BackendConfig& b = cfg.backends[i];
    std::string key = "backends[" + std::to_string(i) + "]";
    if (b.supervise && b.on_demand) {
      err = key + ": supervise and on_demand exclude each other";
      return false;
    }
    if (b.url == "auto" && !b.on_demand) {
      err = key + ".url: auto needs on_demand (the start hook prints the url)";
      return false;
    }
  }
  return true;
}

bool check_group(Config& cfg, size_t gi, std::set<std::string>& grouped, std::string& err) {
  ScalingGroupConfig& g = cfg.scaling.groups[gi];
  std::string key = "scaling.groups[" + std::to_string(gi) + "]";
  for (size_t j = 0; j < gi; ++j) {
    if (cfg.scaling.groups[j].name == g.name) {
      err = key + ".name: '" + g.name + "' is used twice";
      return false;
    }
  }
  for (const std::string& m : g.members) {
    int bi = backend_index(cfg, m);
    if (bi < 0 || !cfg.backends[bi].on_demand) {
      err = key + ".members: '" + m + "' is not " + (bi < 0 ? "a backend" : "an on_demand backend");
      return false;
    }
    if (!grouped.insert(m).second) {
      err = key + ".members: '" + m + "' is in more than one group (or twice in this one)";
      return false;
    }
  }
  if (g.max == 0) g.max = static_cast<uint32_t>(g.members.size());
  if (g.min > g.max || g.max > g.members.size()) {
    err = key + ": expected min <= max <= number of members (" + std::to_string(g.members.size()) + ")";
    return false;
  }
  return true;
}

}  // namespace

bool finalize_lifecycle(Config& cfg, std::string& err) {
  if (!check_backends(cfg, err)) return false;
  std::set<std::string> grouped;
  for (size_t i = 0; i < cfg.scaling.groups.size(); ++i) {
    if (!check_group(cfg, i, grouped, err)) return false;
  }
  return true;
}

}  // namespace corral::config
