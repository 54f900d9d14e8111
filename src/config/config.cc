#include "corral/config/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string_view>

#include "corral/core/log.h"
#include "corral/core/net.h"
#include "hosted_yaml.h"
#include "lifecycle_yaml.h"

namespace corral::config {

bool parse_duration_ms(const std::string& s, uint32_t& out) {
  if (s.empty()) return false;
  size_t i = 0;
  double v = 0;
  bool digits = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0'), digits = true;
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) v += (s[i] - '0') * scale, digits = true;
  }
  if (!digits) return false;
  std::string_view unit(s.c_str() + i);
  double mult;
  if (unit.empty() || unit == "s") mult = 1000;
  else if (unit == "ms") mult = 1;
  else if (unit == "m") mult = 60000;
  else if (unit == "h") mult = 3600000;
  else return false;
  double ms = v * mult;
  if (ms > 4e9) return false;
  out = static_cast<uint32_t>(ms);
  return true;
}

bool parse_backend_url(const std::string& url, BackendConfig& b, std::string& err) {
  std::string_view u = url;
  b.dns = u.starts_with("dns+http://");
  if (b.dns) u.remove_prefix(4);
  b.https = u.starts_with("https://");
  if (u.starts_with("http://")) u.remove_prefix(7);
  else if (b.https) u.remove_prefix(8);
  else if (u.find("://") != std::string_view::npos) {
    err = "backend url '" + url + "': only http://, https:// and dns+http:// are supported";
    return false;
  }
  while (!u.empty() && u.back() == '/') u.remove_suffix(1);
  if (u.find('/') != std::string_view::npos) {
    err = "backend url '" + url + "': must not have a path";
    return false;
  }
  std::string host;
  int port = 0;
  if (!core::split_host_port(u, host, port)) {
    if (u.find(':') != std::string_view::npos || u.empty()) {
      err = "backend url '" + url + "': expected http://HOST:PORT";
      return false;
    }
    host.assign(u);
    port = b.https ? 443 : 11434;
  }
  if (host == "0.0.0.0") host = "127.0.0.1";
  b.url = (b.dns ? "dns+http://" : b.https ? "https://" : "http://") + std::string(u);
  b.host = host;
  b.port = port;
  b.name = std::string(u);
  return true;
}

bool parse_analytics_spec(const std::string& spec, AnalyticsConfig& a, std::string& err) {
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::string path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind != "sqlite" && kind != "jsonl" && kind != "none") {
    err = "expected sqlite[:PATH], jsonl[:PATH] or none, got '" + spec + "'";
    return false;
  }
  if (kind == "none" && !path.empty()) {
    err = "none takes no path, got '" + spec + "'";
    return false;
  }
  a.backend = kind;
  a.path = path;
  return true;
}

const char* usage() {
  return "usage: corral [--config FILE] [--listen HOST:PORT] [--backend URL]... [--workers N]\n"
         "              [--io auto|uring|epoll] [--log-level debug|info|warn|error]\n"
         "              [--analytics sqlite[:PATH]|jsonl[:PATH]|none] [--data-dir DIR] [--auth[=on|off]]\n"
         "              [--check-config FILE] [--version] [--help]\n"
         "       corral serve [flags]   (the same, and a local `ollama serve` when nothing answers on the backend)\n"
         "       corral keys create|list|set|revoke|rotate … (API keys; corral keys --help)\n"
         "       corral import-config OLLAMA_PROXY_YML [--env NAME]   (seed 003's file as corral YAML)\n"
         "Environment: CORRAL_LISTEN, CORRAL_BACKEND (comma-separated), CORRAL_WORKERS, CORRAL_IO,\n"
         "             CORRAL_LOG_LEVEL, CORRAL_DATA_DIR, CORRAL_AUTH (on|off), CORRAL_METRICS_SEED_NAMES (on|off),\n"
         "             CORRAL_MAX_IN_FLIGHT,\n"
         "             PROXY_PORT, OLLAMA_HOST, OLLAMA_BACKEND_PORT, ANALYTICS_BACKEND, ANALYTICS_DB_PATH,\n"
         "             ANALYTICS_DIR, ANALYTICS_RETENTION_DAYS.\n"
         "Precedence: flags > environment > config file > defaults.\n";
}

// on|off (true|false as in the YAML file).
static bool parse_switch(std::string_view s, bool& out) {
  if (s == "on" || s == "true") out = true;
  else if (s == "off" || s == "false") out = false;
  else return false;
  return true;
}

static bool parse_unsigned(std::string_view s, unsigned& out) {
  if (s.empty() || s.size() > 6) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_flags(int argc, char** argv, Flags& f, std::string& err) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string value;
    auto eq = a.find('=');
    bool inline_value = a.starts_with("--") && eq != std::string_view::npos;
    std::string_view name = inline_value ? a.substr(0, eq) : a;
    auto need = [&]() -> bool {
      if (inline_value) {
        value = std::string(a.substr(eq + 1));
        return true;
      }
      if (i + 1 >= argc) {
        err = std::string(name) + " needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    if (name == "--help" || name == "-h") f.help = true;
    else if (name == "--version") f.version = true;
    else if (name == "--config") {
      if (!need()) return false;
      f.config_file = value;
    } else if (name == "--check-config") {
      if (!need()) return false;
      f.config_file = value;
      f.check_config = true;
    } else if (name == "--listen") {
      if (!need()) return false;
      f.listen = value;
    } else if (name == "--backend") {
      if (!need()) return false;
      f.backends.push_back(value);
    } else if (name == "--io") {
      if (!need()) return false;
      f.io = value;
    } else if (name == "--log-level") {
      if (!need()) return false;
      f.log_level = value;
    } else if (name == "--analytics") {
      if (!need()) return false;
      f.analytics = value;
    } else if (name == "--data-dir") {
      if (!need()) return false;
      f.data_dir = value;
    } else if (name == "--auth") {
      bool on = true;
      if (inline_value && !parse_switch(a.substr(eq + 1), on)) {
        err = "--auth: expected on or off, got '" + std::string(a.substr(eq + 1)) + "'";
        return false;
      }
      f.auth = on;
    } else if (name == "--workers") {
      if (!need()) return false;
      unsigned w;
      if (!parse_unsigned(value, w)) {
        err = "--workers: expected a number, got '" + value + "'";
        return false;
      }
      f.workers = w;
    } else {
      err = "unknown flag '" + std::string(a) + "'";
      return false;
    }
  }
  return true;
}

std::string_view kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::openai:
      return "openai";
    case BackendKind::anthropic:
      return "anthropic";
    case BackendKind::ollama:
      break;
  }
  return "ollama";
}

static const char* env_get(char** envp, const char* name) {
  size_t n = std::strlen(name);
  for (char** e = envp; e && *e; ++e) {
    if (std::strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return nullptr;
}

static bool set_backends(const std::vector<std::string>& urls, Config& cfg, std::string& err, const std::string& key) {
  cfg.backends.clear();
  for (const std::string& u : urls) {
    BackendConfig b;
    if (!parse_backend_url(u, b, err)) {
      err = key + ": " + err;
      return false;
    }
    cfg.backends.push_back(b);
  }
  return true;
}

static std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    std::string item = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!item.empty()) out.push_back(item);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

// Seed 004's names: ANALYTICS_BACKEND=sqlite|jsonl|none, ANALYTICS_DIR, ANALYTICS_RETENTION_DAYS;
// ANALYTICS_DB_PATH names the store file itself.
static bool apply_analytics_env(Config& cfg, std::string& err, char** envp) {
  const char* state = env_get(envp, "STATE_DIRECTORY");  // systemd StateDirectory=corral → /var/lib/corral
  if (state && *state && cfg.data_dir.empty())
    cfg.data_dir = std::string(state).substr(0, std::string(state).find(':'));
  for (const char* name : {"ANALYTICS_DIR", "CORRAL_DATA_DIR"}) {
    if (const char* v = env_get(envp, name)) cfg.data_dir = v;
  }
  if (const char* v = env_get(envp, "ANALYTICS_BACKEND")) {
    if (!parse_analytics_spec(v, cfg.analytics, err)) {
      err = "ANALYTICS_BACKEND: " + err;
      return false;
    }
  }
  if (const char* v = env_get(envp, "ANALYTICS_DB_PATH")) cfg.analytics.path = v;
  if (const char* v = env_get(envp, "ANALYTICS_RETENTION_DAYS")) {
    if (!parse_unsigned(v, cfg.analytics.retention_days)) {
      err = std::string("ANALYTICS_RETENTION_DAYS: expected a number of days, got '") + v + "'";
      return false;
    }
  }
  return true;
}

// Seed 002's names for its one on-demand instance, applied to every on-demand backend:
// EXOSCALE_IDLE_TIMEOUT (seconds) and OLLAMA_MODEL (one more model it serves).
static bool apply_on_demand_env(Config& cfg, std::string& err, char** envp) {
  const char* idle = env_get(envp, "EXOSCALE_IDLE_TIMEOUT");
  const char* model = env_get(envp, "OLLAMA_MODEL");
  uint32_t idle_ms = 0;
  if (idle && !parse_duration_ms(idle, idle_ms)) {
    err = std::string("EXOSCALE_IDLE_TIMEOUT: expected seconds (or a duration like 30m), got '") + idle + "'";
    return false;
  }
  for (BackendConfig& b : cfg.backends) {
    if (!b.on_demand) continue;
    if (idle) b.on_demand->idle_timeout_ms = idle_ms;
    if (model && *model && std::find(b.models.begin(), b.models.end(), model) == b.models.end()) {
      b.models.push_back(model);
    }
  }
  return true;
}

bool resolve_api_keys(Config& cfg, char** envp, std::string& err) {
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    BackendConfig& b = cfg.backends[i];
    if (b.api_key_env.empty()) continue;
    const char* v = env_get(envp, b.api_key_env.c_str());
    if (!v || !*v) {
      err = "backends[" + std::to_string(i) + "].api_key_env: environment variable " + b.api_key_env +
            " is not set (backend " + b.name + ")";
      return false;
    }
    b.api_key = v;
  }
  return true;
}

bool apply_env(Config& cfg, std::string& err, char** envp) {
  if (const char* v = env_get(envp, "PROXY_PORT")) {
    std::string host;
    int port;
    core::split_host_port(cfg.listen, host, port);
    unsigned p;
    if (!parse_unsigned(v, p) || p == 0 || p > 65535) {
      err = std::string("PROXY_PORT: expected a port number, got '") + v + "'";
      return false;
    }
    cfg.listen = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(p);
  }
  if (const char* v = env_get(envp, "CORRAL_LISTEN")) cfg.listen = v;
  if (const char* v = env_get(envp, "CORRAL_TLS_LISTEN")) cfg.tls_listen.address = v;
  if (const char* v = env_get(envp, "LITEBRAIN_METRICS_PORT")) {  // seed 001: the metrics server's port
    unsigned p;
    if (!parse_unsigned(v, p) || p == 0 || p > 65535) {
      err = std::string("LITEBRAIN_METRICS_PORT: expected a port number, got '") + v + "'";
      return false;
    }
    cfg.metrics.listen = "0.0.0.0:" + std::to_string(p);
  }
  if (const char* v = env_get(envp, "CORRAL_METRICS_LISTEN")) cfg.metrics.listen = v;
  const char* ohost = env_get(envp, "OLLAMA_HOST");
  const char* oport = env_get(envp, "OLLAMA_BACKEND_PORT");
  if (ohost || oport) {
    std::string host = "127.0.0.1";
    std::string port = "11435";
    if (ohost) {
      std::string_view h = ohost;
      if (h.starts_with("http://")) h.remove_prefix(7);
      std::string hh;
      int pp;
      if (core::split_host_port(h, hh, pp)) host = hh, port = std::to_string(pp);
      else host = std::string(h);
    }
    if (oport) port = oport;
    if (!set_backends({"http://" + host + ":" + port}, cfg, err, ohost ? "OLLAMA_HOST" : "OLLAMA_BACKEND_PORT"))
      return false;
  }
  if (const char* v = env_get(envp, "CORRAL_BACKEND")) {
    if (!set_backends(split_commas(v), cfg, err, "CORRAL_BACKEND")) return false;
  }
  if (const char* v = env_get(envp, "CORRAL_WORKERS")) {
    if (!parse_unsigned(v, cfg.workers)) {
      err = std::string("CORRAL_WORKERS: expected a number, got '") + v + "'";
      return false;
    }
  }
  if (const char* v = env_get(envp, "CORRAL_MAX_IN_FLIGHT")) {
    if (!parse_unsigned(v, cfg.max_in_flight)) {
      err = std::string("CORRAL_MAX_IN_FLIGHT: expected a number, got '") + v + "'";
      return false;
    }
  }
  if (const char* v = env_get(envp, "CORRAL_IO")) cfg.io = v;
  if (const char* v = env_get(envp, "CORRAL_LOG_LEVEL")) cfg.log_level = v;
  if (const char* v = env_get(envp, "CORRAL_AUTH"); v && !parse_switch(v, cfg.auth.enabled)) {
    err = std::string("CORRAL_AUTH: expected on or off, got '") + v + "'";
    return false;
  }
  if (const char* v = env_get(envp, "CORRAL_METRICS_SEED_NAMES"); v && !parse_switch(v, cfg.metrics.seed_names)) {
    err = std::string("CORRAL_METRICS_SEED_NAMES: expected on or off, got '") + v + "'";
    return false;
  }
  return apply_analytics_env(cfg, err, envp) && apply_on_demand_env(cfg, err, envp);
}

bool apply_flags(const Flags& f, Config& cfg, std::string& err) {
  if (f.listen) cfg.listen = *f.listen;
  if (!f.backends.empty() && !set_backends(f.backends, cfg, err, "--backend")) return false;
  if (f.workers) cfg.workers = *f.workers;
  if (f.io) cfg.io = *f.io;
  if (f.log_level) cfg.log_level = *f.log_level;
  if (f.data_dir) cfg.data_dir = *f.data_dir;
  if (f.auth) cfg.auth.enabled = *f.auth;
  if (f.analytics && !parse_analytics_spec(*f.analytics, cfg.analytics, err)) {
    err = "--analytics: " + err;
    return false;
  }
  return true;
}

// The data directory and the analytics store inside it, unless a path was given.
static void finalize_analytics(Config& cfg) {
  if (cfg.data_dir.empty()) cfg.data_dir = "./corral-data";
  if (cfg.analytics.path.empty() && cfg.analytics.backend != "none") {
    cfg.analytics.path = cfg.data_dir + (cfg.analytics.backend == "sqlite" ? "/analytics.db" : "/analytics.jsonl");
  }
}

// Backend names are unique and every model assignment names one of them.
static bool check_fleet(const Config& cfg, std::string& err) {
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (cfg.backends[i].name == cfg.backends[j].name) {
        err = "backends[" + std::to_string(i) + "].name: '" + cfg.backends[i].name + "' is used twice";
        return false;
      }
    }
  }
  for (const auto& [model, backend] : cfg.models.assignments) {
    bool found = false;
    for (const BackendConfig& b : cfg.backends) found = found || b.name == backend;
    if (!found) {
      err = "models.assignments." + model + ": no backend named '" + backend + "'";
      return false;
    }
  }
  return true;
}

bool finalize(Config& cfg, std::string& err) {
  std::string host;
  int port;
  if (!core::split_host_port(cfg.listen, host, port)) {
    err = "listen: expected HOST:PORT, got '" + cfg.listen + "'";
    return false;
  }
  if (cfg.backends.empty()) {
    BackendConfig b;
    parse_backend_url("http://127.0.0.1:11435", b, err);
    cfg.backends.push_back(b);
  }
  if (!check_fleet(cfg, err) || !finalize_lifecycle(cfg, err) || !finalize_hosted(cfg, err)) return false;
  for (const BackendConfig& b : cfg.backends) {
    if (!b.dns && b.port == port &&
        (b.host == host || (host == "0.0.0.0" && (b.host == "127.0.0.1" || b.host == "localhost")))) {
      err = "backend " + b.url + " is corral's own listen address " + cfg.listen + " (would loop)";
      return false;
    }
  }
  if (cfg.io != "auto" && cfg.io != "uring" && cfg.io != "epoll") {
    err = "io: expected auto, uring or epoll, got '" + cfg.io + "'";
    return false;
  }
  log::Level lvl;
  if (!log::parse_level(cfg.log_level, lvl)) {
    err = "log.level: expected debug, info, warn or error, got '" + cfg.log_level + "'";
    return false;
  }
  if (cfg.buffer_count < 16 || cfg.buffer_count > 32768 || (cfg.buffer_count & (cfg.buffer_count - 1)) != 0) {
    err = "buffers.count: expected a power of two from 16 to 32768";
    return false;
  }
  if (cfg.buffer_size < 1024 || cfg.buffer_size > (1u << 20)) {
    err = "buffers.size: expected 1024 to 1048576 bytes";
    return false;
  }
  if (cfg.metrics.ns.empty() ||
      !(std::isalpha(static_cast<unsigned char>(cfg.metrics.ns[0])) || cfg.metrics.ns[0] == '_') ||
      cfg.metrics.ns.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
          std::string::npos) {
    err = "metrics.namespace: expected a Prometheus name ([a-zA-Z_][a-zA-Z0-9_]*), got '" + cfg.metrics.ns + "'";
    return false;
  }
  if (!cfg.metrics.listen.empty() && !core::split_host_port(cfg.metrics.listen, host, port)) {
    err = "metrics.listen: expected HOST:PORT, got '" + cfg.metrics.listen + "'";
    return false;
  }
  if (cfg.backends.size() > 254) {
    err = "backends: at most 254";
    return false;
  }
  if (cfg.workers > 256) {
    err = "workers: at most 256";
    return false;
  }
  finalize_analytics(cfg);
  return true;
}

}  // namespace corral::config
