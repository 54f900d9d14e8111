// The YAML file layer of the configuration. Every key is known here; anything
// else is an error that names the key.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "corral/config/config.h"

namespace corral::config {
namespace {

using Setter = std::function<bool(const YAML::Node&, std::string& err)>;

bool scalar(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return false;
  out = n.Scalar();
  return true;
}

Setter str(std::string& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (scalar(n, dst)) return true;
    err = "expected a string";
    return false;
  };
}

template <typename T>
Setter num(T& dst, uint64_t lo, uint64_t hi) {
  return [&dst, lo, hi](const YAML::Node& n, std::string& err) {
    std::string s;
    uint64_t v = 0;
    bool ok = scalar(n, s) && !s.empty() && s.size() < 20;
    for (char c : s) ok = ok && c >= '0' && c <= '9';
    if (ok) v = std::stoull(s);
    if (!ok || v < lo || v > hi) {
      err = "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
      return false;
    }
    dst = static_cast<T>(v);
    return true;
  };
}

Setter dur(uint32_t& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    if (scalar(n, s) && parse_duration_ms(s, dst)) return true;
    err = "expected a duration like 250ms, 30s, 2m";
    return false;
  };
}

Setter boolean(bool& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    if (scalar(n, s) && (s == "true" || s == "false")) {
      dst = s == "true";
      return true;
    }
    err = "expected true or false";
    return false;
  };
}

bool apply_map(const YAML::Node& node, const std::string& prefix, const std::map<std::string, Setter>& keys,
               std::string& err) {
  if (!node.IsMap()) {
    err = (prefix.empty() ? std::string("config") : prefix) + ": expected a mapping";
    return false;
  }
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    std::string full = prefix.empty() ? key : prefix + "." + key;
    auto it = keys.find(key);
    if (it == keys.end()) {
      err = full + ": unknown key";
      return false;
    }
    std::string why;
    if (!it->second(kv.second, why)) {
      err = why.find(": ") != std::string::npos && why.rfind(full, 0) == 0 ? why : full + ": " + why;
      return false;
    }
  }
  return true;
}

Setter section(const std::string& name, std::map<std::string, Setter> keys) {
  return [name, keys = std::move(keys)](const YAML::Node& n, std::string& err) {
    return apply_map(n, name, keys, err);
  };
}

Setter backends(Config& cfg) {
  return [&cfg](const YAML::Node& n, std::string& err) {
    if (!n.IsSequence()) {
      err = "backends: expected a list";
      return false;
    }
    cfg.backends.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      std::string key = "backends[" + std::to_string(i) + "]";
      std::string url;
      uint32_t max_concurrent = 0;
      if (n[i].IsScalar()) {
        url = n[i].Scalar();
      } else if (!apply_map(n[i], key, {{"url", str(url)}, {"max_concurrent", num(max_concurrent, 0, 100000)}}, err)) {
        return false;
      }
      BackendConfig b;
      b.max_concurrent = max_concurrent;
      if (url.empty()) {
        err = key + ".url: required";
        return false;
      }
      if (!parse_backend_url(url, b, err)) {
        err = key + ".url: " + err;
        return false;
      }
      cfg.backends.push_back(b);
    }
    return true;
  };
}

}  // namespace

bool apply_yaml(const std::string& text, Config& cfg, std::string& err) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    err = std::string("invalid YAML: ") + e.what();
    return false;
  }
  if (root.IsNull()) return true;
  Timeouts& t = cfg.timeouts;
  std::map<std::string, Setter> keys = {
      {"listen", str(cfg.listen)},
      {"workers", num(cfg.workers, 0, 256)},
      {"io", str(cfg.io)},
      {"backends", backends(cfg)},
      {"log", section("log", {{"level", str(cfg.log_level)}, {"access", boolean(cfg.access_log)}})},
      {"limits", section("limits", {{"max_header_bytes", num(cfg.max_header_bytes, 1024, 1u << 20)},
                                    {"max_headers", num(cfg.max_headers, 8, 1000)},
                                    {"max_body_bytes", num(cfg.max_body_bytes, 1024, 1ull << 34)}})},
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
      {"health", section("health", {{"interval", dur(cfg.health_interval_ms)},
                                    {"timeout", dur(cfg.health_timeout_ms)}})},
      {"metrics", section("metrics", {{"namespace", str(cfg.metrics.ns)},
                                      {"max_models", num(cfg.metrics.max_models, 1, 254)},
                                      {"default_capacity", num(cfg.metrics.default_capacity, 1, 100000)}})},
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
  return apply_env(cfg, err, envp) && apply_flags(f, cfg, err) && finalize(cfg, err);
}

}  // namespace corral::config
