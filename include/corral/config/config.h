// corral's configuration: defaults, then the YAML file, then environment, then
// command-line flags (each later source overrides the earlier).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corral::config {

struct BackendConfig {
  std::string name;  // default: HOST:PORT from the url
  std::string url;   // http://host:port, or dns+http://name:port (every A/AAAA record, re-resolved)
  std::string host;  // parsed from url
  int port = 0;
  bool dns = false;
  uint32_t priority = 1;         // lower number is preferred
  double max_memory_gb = 0;      // 0 = unlimited; larger models never go here
  uint32_t max_loaded_models = 0;  // its OLLAMA_MAX_LOADED_MODELS (0 = unknown): no room beside that many
  uint32_t max_concurrent = 0;   // admission limit (0 = unlimited; metrics.default_capacity for utilization)
  bool enabled = true;
  bool accept_pulls = true;      // /api/pull and /api/create may land here
};

struct MemoryPattern {
  std::string pattern;  // ECMAScript regex, matched against the whole model name
  double memory_gb = 0;
};

struct ModelsConfig {
  std::vector<std::pair<std::string, std::string>> assignments;  // model → backend name
  std::vector<std::pair<std::string, double>> memory_overrides;  // model → GB
  std::vector<MemoryPattern> memory_patterns;                    // first match wins
};

struct RoutingConfig {
  bool affinity = false;             // "prefix": same model + system + first user message → same backend
  bool prefer_loaded = true;         // members with the model in memory (/api/ps) before the others
  bool balance_random = false;       // balance "random": ignore outstanding requests among equals
  uint32_t queue_size = 1024;        // requests waiting for admission, per worker
  uint32_t queue_timeout_ms = 30000; // then 503
  uint32_t retry_after_ms = 2000;    // Retry-After on 503 overflow (whole seconds, at least 1)
  uint32_t max_attempts = 3;         // backends tried for one request (failover)
  uint32_t circuit_failures = 5;     // consecutive failures that open a backend
  uint32_t circuit_cooldown_ms = 30000;
  uint32_t fanout_timeout_ms = 10000;  // merged /api/tags, /api/ps, /v1/models, /api/delete, /api/copy
};

struct HealthConfig {
  uint32_t interval_ms = 5000;
  uint32_t timeout_ms = 2000;
  uint32_t unhealthy_after = 3;  // consecutive failed probes
  uint32_t healthy_after = 1;    // consecutive good probes
};

struct MetricsConfig {
  std::string ns = "corral";       // metric name prefix; "ollama" gives seed 004's names
  uint32_t max_models = 100;       // model label values per worker; others → "other"
  uint32_t default_capacity = 4;   // concurrent requests a backend without max_concurrent counts for
};

// Where finished requests are recorded (seed 004's sqlite|jsonl|none).
struct AnalyticsConfig {
  std::string backend = "sqlite";  // sqlite | jsonl | none
  std::string path;                // default: DATA_DIR/analytics.db or DATA_DIR/analytics.jsonl
  uint32_t retention_days = 7;     // 0 = keep forever
  uint32_t preview_chars = 200;    // prompt and response previews; 0 = none stored
  uint32_t ring_kb = 1024;         // per worker, records waiting for the offload thread (a few hundred bytes each)
  uint32_t flush_interval_ms = 10; // how often the offload thread moves the rings' records to the spool
  uint32_t batch_size = 1000;      // records per store transaction (ingest thread)
  uint32_t jsonl_max_mb = 64;      // jsonl: rotate past this size
  uint32_t jsonl_keep = 5;         // jsonl: rotated files kept (PATH.1 newest)
};

struct Timeouts {
  uint32_t header_ms = 30000;        // request head must arrive within
  uint32_t body_ms = 30000;          // max gap while reading a request body
  uint32_t keepalive_ms = 60000;     // idle client connection between requests
  uint32_t connect_ms = 5000;        // upstream TCP connect
  uint32_t first_byte_ms = 300000;   // upstream response head (cold model loads are slow)
  uint32_t stream_idle_ms = 120000;  // gap between upstream body chunks
  uint32_t drain_ms = 10000;         // SIGTERM grace for in-flight requests
};

struct Config {
  std::string listen = "127.0.0.1:11434";
  std::vector<BackendConfig> backends;  // default: 127.0.0.1:11435
  unsigned workers = 0;                 // 0 = one per online CPU
  std::string io = "auto";              // auto | uring | epoll
  std::string log_level = "info";
  bool access_log = true;
  uint32_t max_header_bytes = 16384;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 64ull << 20;
  Timeouts timeouts;
  uint32_t upstream_max_idle = 64;         // idle keep-alive connections per backend per worker
  uint32_t upstream_idle_timeout_ms = 30000;
  uint32_t buffer_count = 512;             // receive buffers per worker (power of two)
  uint32_t buffer_size = 16384;
  HealthConfig health;
  uint32_t discovery_interval_ms = 15000;  // /api/tags, /api/ps, /api/version; DNS re-resolution
  uint32_t startup_wait_ms = 5000;         // first discovery round before serving
  ModelsConfig models;
  RoutingConfig routing;
  MetricsConfig metrics;
  std::string data_dir;  // default: $STATE_DIRECTORY (systemd), else ./corral-data
  AnalyticsConfig analytics;
};

// Flags given on the command line; unset ones leave the config as it is.
struct Flags {
  std::optional<std::string> config_file, listen, io, log_level, analytics, data_dir;
  std::vector<std::string> backends;
  std::optional<unsigned> workers;
  bool version = false, help = false, check_config = false;
};

// Parses argv; false with err naming the flag on bad input.
bool parse_flags(int argc, char** argv, Flags& out, std::string& err);
const char* usage();

// Applies the YAML text on top of cfg. Unknown keys and bad values are errors naming the key.
bool apply_yaml(const std::string& text, Config& cfg, std::string& err);
bool apply_env(Config& cfg, std::string& err, char** envp);
bool apply_flags(const Flags& f, Config& cfg, std::string& err);
// Parses "http://host:port" or "dns+http://name:port" into b; false with err.
bool parse_backend_url(const std::string& url, BackendConfig& b, std::string& err);
// Final checks and defaults (default backend, power-of-two buffers).
bool finalize(Config& cfg, std::string& err);

// Whole pipeline: defaults → file → env → flags → finalize.
bool load(const Flags& f, char** envp, Config& cfg, std::string& err);

// "sqlite", "sqlite:PATH", "jsonl", "jsonl:PATH" or "none" into a; false with err.
bool parse_analytics_spec(const std::string& spec, AnalyticsConfig& a, std::string& err);

// "250ms", "30s", "2m", "1h" or a plain number of seconds.
bool parse_duration_ms(const std::string& s, uint32_t& out);

}  // namespace corral::config
