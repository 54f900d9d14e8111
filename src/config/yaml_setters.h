// The building blocks of the YAML layer, shared by yaml.cc and lifecycle_yaml.cc: a
// Setter reads one node into its destination or says why not; apply_map walks a mapping,
// rejects unknown keys and prefixes every error with the full key ("backends[0].url: …").
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "corral/config/config.h"

namespace corral::config::yaml {

using Setter = std::function<bool(const YAML::Node&, std::string& err)>;

// Parses a whole document; false with "invalid YAML: …" when it is not YAML.
inline bool load(const std::string& text, YAML::Node& root, std::string& err) {
  try {
    root = YAML::Load(text);
    return true;
  } catch (const YAML::Exception& e) {
    err = std::string("invalid YAML: ") + e.what();
    return false;
  }
}

inline bool scalar(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) return false;
  out = n.Scalar();
  return true;
}

inline Setter str(std::string& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (scalar(n, dst)) return true;
    err = "expected a string";
    return false;
  };
}

template <typename T>
inline Setter num(T& dst, uint64_t lo, uint64_t hi) {
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

inline Setter dur(uint32_t& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    if (scalar(n, s) && parse_duration_ms(s, dst)) return true;
    err = "expected a duration like 250ms, 30s, 2m";
    return false;
  };
}

// The period of a loop: shorter than min_ms (0 above all) would only spin a thread.
inline Setter period(uint32_t& dst, uint32_t min_ms) {
  return [&dst, min_ms](const YAML::Node& n, std::string& err) {
    std::string s;
    uint32_t ms = 0;
    if (scalar(n, s) && parse_duration_ms(s, ms) && ms >= min_ms) {
      dst = ms;
      return true;
    }
    err = "expected a duration of at least " + std::to_string(min_ms) + "ms, like 250ms, 30s, 2m";
    return false;
  };
}

inline Setter boolean(bool& dst) {
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

inline bool apply_map(const YAML::Node& node, const std::string& prefix, const std::map<std::string, Setter>& keys,
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

inline Setter section(const std::string& name, std::map<std::string, Setter> keys) {
  return
      [name, keys = std::move(keys)](const YAML::Node& n, std::string& err) { return apply_map(n, name, keys, err); };
}

}  // namespace corral::config::yaml
