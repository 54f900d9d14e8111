// The YAML file layer of the configuration. Every key is known here; anything
// else is an error that names the key.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include "corral/config/config.h"
#include "hosted_yaml.h"
#include "lifecycle_yaml.h"
#include "yaml_setters.h"

namespace corral::config {
namespace {

using namespace yaml;

// A non-negative number; `null` (or absent) leaves 0, meaning "no limit".
Setter gigabytes(double& dst, bool allow_null) {
  return [&dst, allow_null](const YAML::Node& n, std::string& err) {
    if (allow_null && n.IsNull()) {
      dst = 0;
      return true;
    }
    std::string s;
    char* end = nullptr;
    double v = scalar(n, s) && !s.empty() ? std::strtod(s.c_str(), &end) : -1;
    if (!end || *end || !(v > 0) || v > 1e6) {
      err = allow_null ? "expected a size in GB greater than 0, or null" : "expected a size in GB greater than 0";
      return false;
    }
    dst = v;
    return true;
  };
}

bool one_backend(const YAML::Node& n, const std::string& key, BackendConfig& b, std::string& err) {
  std::string url;
  if (n.IsScalar()) {
    url = n.Scalar();
  } else if (!apply_map(n, key,
                        {{"name", str(b.name)},
                         {"url", str(url)},
                         {"priority", num(b.priority, 0, 1000000)},
                         {"max_memory_gb", gigabytes(b.max_memory_gb, true)},
                         {"max_loaded_models", num(b.max_loaded_models, 0, 1000)},
                         {"max_concurrent", num(b.max_concurrent, 0, 100000)},
                         {"enabled", boolean(b.enabled)},
                         {"accept_pulls", boolean(b.accept_pulls)},
                         {"models", string_list(b.models)},
                         {"kind", backend_kind(b.kind)},
                         {"api_key_env", env_name(b.api_key_env)},
                         {"tls", backend_tls(b.tls, key)},
                         {"supervise", supervise(b.supervise, key)},
                         {"on_demand", on_demand(b.on_demand, key)}},
                        err)) {
    return false;
  }
  if (url.empty()) {
    err = key + ".url: required";
    return false;
  }
  if (url == "auto") {  // host and port come from the on-demand start hook
    b.url = url;
    if (!b.name.empty()) return true;
    err = key + ".name: required with url auto";
    return false;
  }
  std::string name = b.name;
  if (!parse_backend_url(url, b, err)) {
    err = key + ".url: " + err;
    return false;
  }
  if (!name.empty()) b.name = name;
  return true;
}

Setter backends(Config& cfg) {
  return [&cfg](const YAML::Node& n, std::string& err) {
    if (!n.IsSequence()) {
      err = "backends: expected a list";
      return false;
    }
    cfg.backends.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      BackendConfig b;
      if (!one_backend(n[i], "backends[" + std::to_string(i) + "]", b, err)) return false;
      cfg.backends.push_back(b);
    }
    return true;
  };
}

// {model: backend-name, ...}
Setter assignments(std::vector<std::pair<std::string, std::string>>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsMap()) {
      err = "expected a mapping of model to backend name";
      return false;
    }
    dst.clear();
    for (const auto& kv : n) {
      if (!kv.second.IsScalar() || kv.second.Scalar().empty()) {
        err = kv.first.Scalar() + ": expected a backend name";
        return false;
      }
      dst.emplace_back(kv.first.Scalar(), kv.second.Scalar());
    }
    return true;
  };
}

Setter overrides(std::vector<std::pair<std::string, double>>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsMap()) {
      err = "expected a mapping of model to GB";
      return false;
    }
    dst.clear();
    for (const auto& kv : n) {
      double gb = 0;
      std::string why;
      if (!gigabytes(gb, false)(kv.second, why)) {
        err = kv.first.Scalar() + ": " + why;
        return false;
      }
      dst.emplace_back(kv.first.Scalar(), gb);
    }
    return true;
  };
}

Setter patterns(std::vector<MemoryPattern>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsSequence()) {
      err = "expected a list of {pattern, memory_gb}";
      return false;
    }
    dst.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      MemoryPattern p;
      std::string key = "[" + std::to_string(i) + "]";
      if (!apply_map(n[i], key, {{"pattern", str(p.pattern)}, {"memory_gb", gigabytes(p.memory_gb, false)}}, err))
        return false;
      if (p.pattern.empty() || p.memory_gb <= 0) {
        err = key + ": needs pattern and memory_gb";
        return false;
      }
      try {
        std::regex re(p.pattern);
      } catch (const std::regex_error& e) {
        err = key + ".pattern: invalid regular expression '" + p.pattern + "'";
        return false;
      }
      dst.push_back(p);
    }
    return true;
  };
}

Setter analytics_backend(AnalyticsConfig& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    if (!scalar(n, s)) {
      err = "expected sqlite[:PATH], jsonl[:PATH] or none";
      return false;
    }
    std::string path = dst.path;
    if (!parse_analytics_spec(s, dst, err)) return false;
    if (dst.path.empty()) dst.path = path;  // analytics.path may come before or after
    return true;
  };
}

Setter balance(bool& random) {
  return [&random](const YAML::Node& n, std::string& err) {
    std::string s;
    if (scalar(n, s) && (s == "least_outstanding" || s == "random")) {
      random = s == "random";
      return true;
    }
    err = "expected least_outstanding or random";
    return false;
  };
}

Setter affinity(bool& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    if (scalar(n, s) && (s == "none" || s == "prefix")) {
      dst = s == "prefix";
      return true;
    }
    err = "expected none or prefix";
    return false;
  };
}

}  // namespace

bool apply_yaml(const std::string& text, Config& cfg, std::string& err) {
  YAML::Node root;
  if (!yaml::load(text, root, err)) return false;
  if (root.IsNull()) return true;
  Timeouts& t = cfg.timeouts;
  RoutingConfig& r = cfg.routing;
  AnalyticsConfig& a = cfg.analytics;
  std::map<std::string, Setter> keys = {
      {"listen", str(cfg.listen)},
      {"tls_listen", tls_listen(cfg.tls_listen)},
      {"workers", num(cfg.workers, 0, 256)},
      {"io", str(cfg.io)},
      {"backends", backends(cfg)},
      {"log", section("log", {{"level", str(cfg.log_level)}, {"access", boolean(cfg.access_log)}})},
      {"limits", section("limits", {{"max_header_bytes", num(cfg.max_header_bytes, 1024, 1u << 20)},
                                    {"max_headers", num(cfg.max_headers, 8, 1000)},
                                    {"max_body_bytes", num(cfg.max_body_bytes, 1024, 1ull << 34)},
                                    {"max_in_flight", num(cfg.max_in_flight, 0, 1000000)}})},
      {"timeouts", section("timeouts", {{"header", dur(t.header_ms)},
                                        {"body", dur(t.body_ms)},
                                        {"keepalive", dur(t.keepalive_ms)},
                                        {"connect", dur(t.connect_ms)},
                                        {"first_byte", dur(t.first_byte_ms)},
                                        {"stream_idle", dur(t.stream_idle_ms)},
                                        {"drain", dur(t.drain_ms)}})},
      {"upstream", section("upstream", {{"max_idle", num(cfg.upstream_max_idle, 0, 100000)},
                                        {"idle_timeout", dur(cfg.upstream_idle_timeout_ms)}})},
      {"buffers", section("buffers", {{"count", num(cfg.buffer_count, 16, 32768)},
                                      {"size", num(cfg.buffer_size, 1024, 1u << 20)}})},
      {"health", section("health", {{"interval", period(cfg.health.interval_ms, 100)},
                                    {"timeout", dur(cfg.health.timeout_ms)},
                                    {"unhealthy_after", num(cfg.health.unhealthy_after, 1, 1000)},
                                    {"healthy_after", num(cfg.health.healthy_after, 1, 1000)}})},
      {"discovery", section("discovery", {{"interval", period(cfg.discovery_interval_ms, 100)},
                                          {"startup_wait", dur(cfg.startup_wait_ms)}})},
      {"models", section("models", {{"assignments", assignments(cfg.models.assignments)},
                                    {"aliases", aliases(cfg.models.aliases)},
                                    {"memory_overrides", overrides(cfg.models.memory_overrides)},
                                    {"memory_patterns", patterns(cfg.models.memory_patterns)}})},
      {"routing", section("routing", {{"affinity", affinity(r.affinity)},
                                      {"prefer_loaded", boolean(r.prefer_loaded)},
                                      {"balance", balance(r.balance_random)},
                                      {"queue_size", num(r.queue_size, 0, 1000000)},
                                      {"queue_timeout", dur(r.queue_timeout_ms)},
                                      {"retry_after", dur(r.retry_after_ms)},
                                      {"max_attempts", num(r.max_attempts, 1, 100)},
                                      {"circuit_failures", num(r.circuit_failures, 0, 1000)},
                                      {"circuit_cooldown", dur(r.circuit_cooldown_ms)},
                                      {"fanout_timeout", dur(r.fanout_timeout_ms)}})},
      {"metrics", section("metrics", {{"listen", str(cfg.metrics.listen)},
                                      {"namespace", str(cfg.metrics.ns)},
                                      {"max_models", num(cfg.metrics.max_models, 1, 254)},
                                      {"default_capacity", num(cfg.metrics.default_capacity, 1, 100000)},
                                      {"seed_names", boolean(cfg.metrics.seed_names)},
                                      {"key_labels", boolean(cfg.metrics.key_labels)},
                                      {"max_keys", num(cfg.metrics.max_keys, 1, 254)}})},
      {"data_dir", str(cfg.data_dir)},
      {"scaling", scaling(cfg.scaling)},
      {"auth", section("auth", {{"enabled", boolean(cfg.auth.enabled)}, {"metrics", boolean(cfg.auth.metrics)}})},
      {"analytics", section("analytics", {{"backend", analytics_backend(a)},
                                          {"path", str(a.path)},
                                          {"retention_days", num(a.retention_days, 0, 36500)},
                                          {"preview_chars", num(a.preview_chars, 0, 1000)},
                                          {"ring_kb", num(a.ring_kb, 16, 1u << 20)},
                                          {"batch_size", num(a.batch_size, 1, 100000)},
                                          {"max_backlog", num(a.max_backlog, 1000, 1u << 30)},
                                          {"flush_interval", period(a.flush_interval_ms, 1)},
                                          {"flush_fill_percent", num(a.flush_fill_percent, 0, 100)},
                                          {"jsonl_max_mb", num(a.jsonl_max_mb, 1, 1u << 20)},
                                          {"jsonl_keep", num(a.jsonl_keep, 0, 1000)}})},
  };
  return apply_map(root, "", keys, err);
}

bool load(const Flags& f, char** envp, Config& cfg, std::string& err) {
  if (f.config_file) {
    std::ifstream in(*f.config_file);
    if (!in) {
      err = "cannot read config file '" + *f.config_file + "'";
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    if (!apply_yaml(ss.str(), cfg, err)) {
      err = *f.config_file + ": " + err;
      return false;
    }
  }
  return apply_env(cfg, err, envp) && apply_flags(f, cfg, err) && finalize(cfg, err) &&
         resolve_api_keys(cfg, envp, err);
}

}  // namespace corral::config
