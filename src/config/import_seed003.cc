#include "corral/config/import_seed003.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "corral/config/config.h"
#include "yaml_setters.h"

namespace corral::config {
namespace {

// yaml-cpp keeps Rails' `<<: *default` merge keys as plain keys: merge them here
// (the map's own keys win over merged ones, as in YAML 1.1).
YAML::Node merged(const YAML::Node& n) {
  if (!n.IsMap()) return n;
  YAML::Node out(YAML::NodeType::Map);
  auto merge_from = [&out](const YAML::Node& src) {
    if (!src.IsMap()) return;
    for (const auto& kv : merged(src)) {
      if (!out[kv.first.Scalar()]) out[kv.first.Scalar()] = kv.second;
    }
  };
  for (const auto& kv : n) {
    if (kv.first.Scalar() != "<<") out[kv.first.Scalar()] = merged(kv.second);
  }
  YAML::Node base = n["<<"];
  if (base && base.IsSequence()) {
    for (const auto& b : base) merge_from(b);
  } else if (base) {
    merge_from(base);
  }
  return out;
}

// A YAML double-quoted scalar.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// Keys whose values are never printed, not even in a comment.
bool secret_key(std::string_view key) {
  for (std::string_view w : {"key", "secret", "token", "password"}) {
    if (key.find(w) != std::string_view::npos && key != "api_key_env") return true;
  }
  return false;
}

// One line for a comment: scalars as they are, collections in flow style.
std::string describe(const std::string& key, const YAML::Node& n) {
  if (secret_key(key)) return "(value not shown)";
  YAML::Emitter e;
  e << YAML::Flow << n;
  std::string s = e.c_str();
  for (char& c : s) c = c == '\n' ? ' ' : c;
  return s.size() > 160 ? s.substr(0, 157) + "..." : s;
}

bool as_bool(const YAML::Node& n, bool& out) {
  static const std::set<std::string> yes = {"true", "yes", "on", "True", "TRUE"};
  static const std::set<std::string> no = {"false", "no", "off", "False", "FALSE"};
  if (!n.IsScalar()) return false;
  out = yes.count(n.Scalar()) > 0;
  return out || no.count(n.Scalar()) > 0;
}

bool as_number(const YAML::Node& n, double& out) {
  if (!n.IsScalar() || n.Scalar().empty()) return false;
  char* end = nullptr;
  out = std::strtod(n.Scalar().c_str(), &end);
  return end && *end == '\0';
}

bool as_whole(const YAML::Node& n, long lo, long hi, long& out) {
  double v;
  if (!as_number(n, v) || !(v >= lo && v <= hi) || v != std::floor(v)) return false;
  out = static_cast<long>(v);
  return true;
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  std::string s = buf;
  return s.find_first_of(".e") == std::string::npos ? s + ".0" : s;
}

// Ruby's `name =~ /re/` matches anywhere; corral's patterns match the whole name.
// Anchors become the whole-name match, unanchored ends get ".*".
bool whole_name_pattern(std::string re, std::string& out) {
  bool start = re.starts_with("^") || re.starts_with("\\A");
  if (start) re.erase(0, re[0] == '^' ? 1 : 2);
  bool end = (re.ends_with("$") && !re.ends_with("\\$")) || re.ends_with("\\z") || re.ends_with("\\Z");
  if (end) re.erase(re.size() - (re.back() == '$' ? 1 : 2));
  bool open_start = !start && !re.starts_with(".*");
  bool open_end = !end && !re.ends_with(".*");
  bool group = (open_start || open_end) && re.find('|') != std::string::npos;  // a|b.* would bind wrongly
  out = (open_start ? ".*" : "") + (group ? "(?:" + re + ")" : re) + (open_end ? ".*" : "");
  try {
    std::regex check(out);
  } catch (const std::regex_error&) {
    return false;
  }
  return true;
}

std::string url_host(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

struct Importer {
  const Seed003Options& opt;
  Seed003Import& out;
  std::map<std::string, std::string> servers;  // seed key or name → corral backend name
  std::map<std::string, std::string> hosted;   // the same for external_hosts
  std::set<std::string> hosted_emitted;        // hosted backends that are real entries, not comments
  std::string backends, models, rest;
  std::vector<std::string> blocks;  // per not-mapped line: what it would be in corral ("" = nothing)

  void not_mapped(const std::string& what, const std::string& block = "") {
    out.not_mapped.push_back(what);
    blocks.push_back(block);
  }

  void unknown_keys(const YAML::Node& n, const std::string& path, const std::set<std::string>& known) {
    for (const auto& kv : n) {
      std::string k = kv.first.Scalar();
      if (!known.count(k)) not_mapped(path + "." + k + " = " + describe(k, kv.second));
    }
  }

  std::string name_of(const std::string& key, const YAML::Node& n) {
    YAML::Node name = n["name"];
    return name && name.IsScalar() && !name.Scalar().empty() ? name.Scalar() : key;
  }

  // host + port (+ protocol): "http://host:port", or "" with a not-mapped note.
  std::string url_of(const std::string& path, const YAML::Node& n, const std::string& scheme, long default_port) {
    YAML::Node host = n["host"];
    long port = default_port;
    if (!host || !host.IsScalar() || host.Scalar().empty()) {
      not_mapped(path + ": no host");
      return "";
    }
    if (n["port"] && !as_whole(n["port"], 1, 65535, port)) {
      not_mapped(path + ".port = " + describe("port", n["port"]) + " (not a port number)");
      return "";
    }
    return scheme + "://" + url_host(host.Scalar()) + ":" + std::to_string(port);
  }

  std::string scheme_of(const std::string& path, const YAML::Node& n, const std::string& fallback) {
    YAML::Node p = n["protocol"];
    if (!p) return fallback;
    std::string s = p.IsScalar() ? p.Scalar() : "";
    if (s == "http" || s == "https") return s;
    not_mapped(path + ".protocol = " + describe("protocol", p) + " (http or https)");
    return "";
  }

  // Optional fields shared by servers and hosted hosts: enabled, priority, max_memory_gb.
  std::string common_fields(const std::string& path, const YAML::Node& n) {
    std::string f;
    long priority;
    if (n["priority"] && as_whole(n["priority"], 0, 1000000, priority)) {
      f += "    priority: " + std::to_string(priority) + "\n";
    } else if (n["priority"]) {
      not_mapped(path + ".priority = " + describe("priority", n["priority"]) + " (a whole number 0..1000000)");
    }
    if (YAML::Node m = n["max_memory_gb"]) {
      double gb;
      if (m.IsNull() || (as_number(m, gb) && gb == 0)) f += "    max_memory_gb: null\n";
      else if (as_number(m, gb) && gb > 0) f += "    max_memory_gb: " + number_text(gb) + "\n";
      else not_mapped(path + ".max_memory_gb = " + describe("max_memory_gb", m) + " (GB, or null)");
    }
    bool enabled;
    if (n["enabled"] && as_bool(n["enabled"], enabled))
      f += std::string("    enabled: ") + (enabled ? "true" : "false") + "\n";
    else if (n["enabled"]) not_mapped(path + ".enabled = " + describe("enabled", n["enabled"]) + " (true or false)");
    return f;
  }

  void server(const std::string& key, const YAML::Node& n) {
    std::string path = "servers." + key;
    if (!n.IsMap()) return not_mapped(path + " = " + describe(key, n) + " (expected a mapping)");
    unknown_keys(n, path, {"host", "port", "name", "priority", "max_memory_gb", "enabled", "protocol"});
    std::string scheme = scheme_of(path, n, "http");
    if (scheme.empty()) return;
    if (scheme == "https" && !opt.hosted_backends) {
      return not_mapped(path + ": protocol https (TLS backends are not in this build)");
    }
    std::string url = url_of(path, n, scheme, 11434);
    if (url.empty()) return;
    std::string name = name_of(key, n);
    servers[key] = servers[name] = name;
    backends += "  - name: " + quoted(name) + "\n    url: " + quoted(url) + "\n" + common_fields(path, n);
  }

  static std::string kind_of(const std::string& name, const YAML::Node& n) {
    std::string s = name + " " + (n["host"] && n["host"].IsScalar() ? n["host"].Scalar() : "");
    return s.find("anthropic") != std::string::npos || s.find("claude") != std::string::npos ? "anthropic" : "openai";
  }

  void external_host(const std::string& key, const YAML::Node& n) {
    std::string path = "external_hosts." + key;
    if (!n.IsMap()) return not_mapped(path + " = " + describe(key, n) + " (expected a mapping)");
    unknown_keys(n, path, {"host", "port", "name", "protocol", "api_key_env", "enabled", "priority", "max_memory_gb"});
    std::string scheme = scheme_of(path, n, "https");
    std::string url = scheme.empty() ? "" : url_of(path, n, scheme, scheme == "https" ? 443 : 80);
    if (url.empty()) return;
    std::string name = name_of(key, n);
    hosted[key] = hosted[name] = name;
    std::string entry =
        "  - name: " + quoted(name) + "\n    url: " + quoted(url) + "\n    kind: " + kind_of(name, n) + "\n";
    if (YAML::Node env = n["api_key_env"]; env && env.IsScalar())
      entry += "    api_key_env: " + quoted(env.Scalar()) + "\n";
    entry += common_fields(path, n);
    if (opt.hosted_backends) {
      hosted_emitted.insert(name);
      backends += entry;
      return;
    }
    not_mapped(path + " (hosted API backends, backends[].kind, are not in this build); it would be:",
               "backends:\n" + entry);
  }

  void assignments(const YAML::Node& n) {
    if (!n.IsMap())
      return not_mapped("model_config.explicit_assignments = " + describe("", n) + " (expected a mapping)");
    std::string lines, commented;
    for (const auto& kv : n) {
      std::string model = kv.first.Scalar(), target = kv.second.IsScalar() ? kv.second.Scalar() : "";
      std::string line = "    " + quoted(model) + ": " + quoted(target) + "\n";
      if (servers.count(target)) lines += "    " + quoted(model) + ": " + quoted(servers[target]) + "\n";
      else if (hosted.count(target) && hosted_emitted.count(hosted[target])) lines += line;
      else if (hosted.count(target)) commented += line;
      else
        not_mapped("model_config.explicit_assignments." + model + " = " + describe("", kv.second) +
                   " (no server or external host of that name)");
    }
    models += "  assignments:" + std::string(lines.empty() ? " {}\n" : "\n" + lines);
    if (!commented.empty()) {
      not_mapped("model_config.explicit_assignments to hosted APIs (with those backends); they would be:",
                 "models:\n  assignments:\n" + commented);
    }
  }

  void memory_overrides(const YAML::Node& n) {
    if (!n.IsMap()) return not_mapped("model_config.memory_overrides = " + describe("", n) + " (expected a mapping)");
    std::string lines;
    for (const auto& kv : n) {
      double gb;
      if (as_number(kv.second, gb) && gb > 0)
        lines += "    " + quoted(kv.first.Scalar()) + ": " + number_text(gb) + "\n";
      else
        not_mapped("model_config.memory_overrides." + kv.first.Scalar() + " = " + describe("", kv.second) +
                   " (GB > 0)");
    }
    models += "  memory_overrides:" + std::string(lines.empty() ? " {}\n" : "\n" + lines);
  }

  void memory_patterns(const YAML::Node& n) {
    if (!n.IsSequence()) return not_mapped("model_config.memory_patterns = " + describe("", n) + " (expected a list)");
    std::string lines;
    for (size_t i = 0; i < n.size(); ++i) {
      std::string path = "model_config.memory_patterns[" + std::to_string(i) + "]";
      YAML::Node p = n[i]["pattern"], gb_node = n[i]["memory_gb"];
      std::string re;
      double gb;
      if (!p || !p.IsScalar() || !as_number(gb_node, gb) || gb <= 0) {
        not_mapped(path + " = " + describe("", n[i]) + " (needs pattern and memory_gb > 0)");
      } else if (!whole_name_pattern(p.Scalar(), re)) {
        not_mapped(path + ".pattern = " + quoted(p.Scalar()) + " (not an ECMAScript regular expression)");
      } else {
        lines += "    - {pattern: " + quoted(re) + ", memory_gb: " + number_text(gb) + "}\n";
      }
    }
    models += "  memory_patterns:" + std::string(lines.empty() ? " []\n" : "\n" + lines);
  }

  void model_config(const YAML::Node& n) {
    if (!n.IsMap()) return not_mapped("model_config = " + describe("", n) + " (expected a mapping)");
    unknown_keys(n, "model_config", {"explicit_assignments", "memory_overrides", "memory_patterns"});
    if (n["explicit_assignments"]) assignments(n["explicit_assignments"]);
    if (n["memory_overrides"]) memory_overrides(n["memory_overrides"]);
    if (n["memory_patterns"]) memory_patterns(n["memory_patterns"]);
  }

  void logging(const YAML::Node& n) {
    if (!n.IsMap()) return not_mapped("logging = " + describe("", n));
    unknown_keys(n, "logging", {"level"});
    static const std::map<std::string, std::string> levels = {
        {"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}, {"fatal", "error"}};
    YAML::Node l = n["level"];
    if (!l) return;
    auto it = l.IsScalar() ? levels.find(l.Scalar()) : levels.end();
    if (it == levels.end()) return not_mapped("logging.level = " + describe("level", l));
    rest += "log:\n  level: " + it->second + "\n";
  }

  void environment(const YAML::Node& env) {
    unknown_keys(env, opt.env,
                 {"proxy_port", "servers", "external_hosts", "model_config", "cache_ttl_seconds", "logging"});
    long port;
    if (env["proxy_port"] && as_whole(env["proxy_port"], 1, 65535, port)) {
      rest += "# proxy_port; \"0.0.0.0:" + std::to_string(port) + "\" serves other machines too.\n";
      rest += "listen: \"127.0.0.1:" + std::to_string(port) + "\"\n";
    } else if (env["proxy_port"]) {
      not_mapped("proxy_port = " + describe("", env["proxy_port"]) + " (not a port number)");
    }
    if (YAML::Node s = env["servers"]; s && s.IsMap()) {
      for (const auto& kv : s) server(kv.first.Scalar(), merged(kv.second));
    } else if (s) {
      not_mapped("servers = " + describe("", s) + " (expected a mapping)");
    }
    if (YAML::Node h = env["external_hosts"]; h && h.IsMap()) {
      for (const auto& kv : h) external_host(kv.first.Scalar(), merged(kv.second));
    } else if (h) {
      not_mapped("external_hosts = " + describe("", h) + " (expected a mapping)");
    }
    if (env["model_config"]) model_config(env["model_config"]);
    long ttl;
    if (env["cache_ttl_seconds"] && as_whole(env["cache_ttl_seconds"], 1, 86400, ttl)) {
      rest += "# cache_ttl_seconds: how often models and sizes are re-read from the servers.\n";
      rest += "discovery:\n  interval: " + std::to_string(ttl) + "s\n";
    } else if (env["cache_ttl_seconds"]) {
      not_mapped("cache_ttl_seconds = " + describe("", env["cache_ttl_seconds"]) + " (1..86400 seconds)");
    }
    if (env["logging"]) logging(env["logging"]);
  }

  std::string text() const {
    std::string t = "# corral configuration imported by `corral import-config` from seed 003's ollama_proxy.yml\n";
    t += "# (environment: " + opt.env + "). Check it with: corral --check-config FILE\n";
    t += rest;
    t += backends.empty() ? "# no servers: corral's default backend, http://127.0.0.1:11435\n"
                          : "backends:\n" + backends;
    if (!models.empty()) t += "models:\n" + models;
    for (size_t i = 0; i < out.not_mapped.size(); ++i) {
      t += "# not mapped: " + out.not_mapped[i] + "\n";
      std::istringstream in(blocks[i]);
      for (std::string line; std::getline(in, line);) t += "#   " + line + "\n";
    }
    return t;
  }
};

// The environment to convert: the one asked for, else production, else the only one.
bool pick_environment(const YAML::Node& root, Seed003Options& opt, YAML::Node& env, std::string& err) {
  if (root["servers"] || root["external_hosts"] || root["model_config"]) {  // a file without environments
    env = merged(root);
    if (opt.env.empty()) opt.env = "(none)";
    return true;
  }
  std::vector<std::string> names;
  for (const auto& kv : root) {
    if (kv.second.IsMap()) names.push_back(kv.first.Scalar());
  }
  if (opt.env.empty()) {
    for (const std::string& n : names) opt.env = n == "production" ? n : opt.env;
    if (opt.env.empty() && names.size() == 1) opt.env = names[0];
  }
  if (opt.env.empty() || !root[opt.env] || !root[opt.env].IsMap()) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    err = (opt.env.empty() ? std::string("several environments") : "no environment '" + opt.env + "'") +
          " in the file (" + (list.empty() ? "none found" : list) + "); choose one with --env NAME";
    return false;
  }
  env = merged(root[opt.env]);
  return true;
}

}  // namespace

bool import_seed003(const std::string& text, const Seed003Options& options, Seed003Import& out, std::string& err) {
  YAML::Node root;
  if (!yaml::load(text, root, err)) return false;
  if (!root.IsMap()) {
    err = "expected a mapping of environments (production: {servers: ...})";
    return false;
  }
  Seed003Options opt = options;
  YAML::Node env;
  if (!pick_environment(root, opt, env, err)) return false;
  out = {};
  Importer im{opt, out, {}, {}, {}, {}, {}, {}, {}};
  im.environment(env);
  out.yaml = im.text();
  return true;
}

bool hosted_backends_supported() {
  Config probe;
  std::string err;
  return apply_yaml("backends: [{name: h, url: \"https://api.openai.com:443\", kind: openai, api_key_env: K}]\n", probe,
                    err);
}

int import_config_command(int argc, char** argv) {
  const char* usage = "usage: corral import-config FILE [--env NAME]   (seed 003's ollama_proxy.yml -> corral YAML)\n";
  auto fail = [usage](const std::string& msg) {
    std::fprintf(stderr, "corral import-config: %s\n%s", msg.c_str(), usage);
    return 2;
  };
  std::string file;
  Seed003Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (a == "--env" && i + 1 < argc) {
      opt.env = argv[++i];
    } else if (a.starts_with("--env=")) {
      opt.env = std::string(a.substr(6));
    } else if (file.empty() && !a.starts_with("-")) {
      file = a;
    } else {
      return fail("unexpected argument '" + std::string(a) + "'");
    }
  }
  if (file.empty()) return fail("no file given");
  std::ifstream in(file);
  if (!in) return fail("cannot read '" + file + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  opt.hosted_backends = hosted_backends_supported();
  Seed003Import result;
  std::string err;
  if (!import_seed003(ss.str(), opt, result, err)) return fail(file + ": " + err);
  std::fputs(result.yaml.c_str(), stdout);
  if (!result.not_mapped.empty()) {
    std::fprintf(stderr, "corral import-config: %zu setting(s) not mapped, listed as comments at the end\n",
                 result.not_mapped.size());
  }
  return 0;
}

}  // namespace corral::config
