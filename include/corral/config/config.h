// corral's configuration: defaults, then the YAML file, then environment, then
// command-line flags (each later source overrides the earlier).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corral::config {

// A backend process corral starts and keeps alive (seed 004's `ollama serve` on 11435).
struct SuperviseConfig {
  std::vector<std::string> command;                      // argv; command[0] is looked up in PATH
  std::vector<std::pair<std::string, std::string>> env;  // added to corral's environment
  uint32_t restart_after = 3;                            // consecutive failed health checks
  uint32_t stop_timeout_ms = 10000;                      // SIGTERM, then SIGKILL after this
};

// A backend brought up by a hook when requests need it and stopped when idle (seed 002).
struct OnDemandConfig {
  std::vector<std::string> start;  // last stdout line: JSON {"url": "http://…", …}
  std::vector<std::string> stop;
  std::vector<std::string> status;     // optional: adopt a running instance at start-up (exit 3: none)
  uint32_t idle_timeout_ms = 1800000;  // no request this long → stop (0 = never); env EXOSCALE_IDLE_TIMEOUT
  uint32_t start_timeout_ms = 600000;  // the start hook is killed after this
  uint32_t hook_timeout_ms = 300000;   // stop and status hooks are killed after this
  uint32_t hold_ms = 0;                // > 0: requests wait this long for it instead of a 503
};

// The API a backend speaks (seed 003's external hosts are openai or anthropic).
enum class BackendKind : uint8_t { ollama, openai, anthropic };

// How corral checks a TLS backend's certificate.
struct BackendTls {
  std::string ca_file;      // PEM bundle to trust; empty: the system store
  bool verify = true;       // false: not checked at all (logged as a warning at start)
  std::string server_name;  // SNI and the name checked; empty: the url's host
};

struct BackendConfig {
  std::string name;  // default: HOST:PORT from the url
  std::string url;   // http(s)://host:port, or dns+http://name:port (every A/AAAA record, re-resolved)
  std::string host;  // parsed from url
  int port = 0;
  bool dns = false;
  bool https = false;  // TLS to the backend (https:// url)
  BackendKind kind = BackendKind::ollama;
  BackendTls tls;
  std::string api_key_env;         // the environment variable holding the provider's key
  std::string api_key;             // its value, read at load (a secret: never logged or shown)
  uint32_t priority = 1;           // lower number is preferred
  double max_memory_gb = 0;        // 0 = unlimited; larger models never go here
  uint32_t max_loaded_models = 0;  // its OLLAMA_MAX_LOADED_MODELS (0 = unknown): no room beside that many
  uint32_t max_concurrent = 0;     // admission limit (0 = unlimited; metrics.default_capacity for utilization)
  bool enabled = true;
  bool accept_pulls = true;                  // /api/pull and /api/create may land here
  std::vector<std::string> models;           // models it serves (on-demand and hosted backends)
  std::optional<SuperviseConfig> supervise;  // corral runs this backend's process
  std::optional<OnDemandConfig> on_demand;   // url "auto": host and port come from the start hook
};

struct MemoryPattern {
  std::string pattern;  // ECMAScript regex, matched against the whole model name
  double memory_gb = 0;
};

struct ModelsConfig {
  std::vector<std::pair<std::string, std::string>> assignments;  // model → backend name
  std::vector<std::pair<std::string, std::string>> aliases;      // client-facing name → real name
  std::vector<std::pair<std::string, double>> memory_overrides;  // model → GB
  std::vector<MemoryPattern> memory_patterns;                    // first match wins
};

struct RoutingConfig {
  bool affinity = false;              // "prefix": same model + system + first user message → same backend
  bool prefer_loaded = true;          // members with the model in memory (/api/ps) before the others
  bool balance_random = false;        // balance "random": ignore outstanding requests among equals
  uint32_t queue_size = 1024;         // requests waiting for admission, per worker
  uint32_t queue_timeout_ms = 30000;  // then 503
  uint32_t retry_after_ms = 2000;     // Retry-After on 503 overflow (whole seconds, at least 1)
  uint32_t max_attempts = 3;          // backends tried for one request (failover)
  uint32_t circuit_failures = 5;      // consecutive failures that open a backend
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
  std::string listen;             // HOST:PORT of an admin port (seed 000's 9090); set: local endpoints only there
  std::string ns = "corral";      // metric name prefix; "ollama" gives seed 004's names
  uint32_t max_models = 100;      // model label values per worker; others → "other"
  uint32_t default_capacity = 4;  // concurrent requests a backend without max_concurrent counts for
  bool seed_names = false;        // also seed 000's and seed 004's metric and label names
  bool key_labels = false;        // per-key series (key_requests_total, key_tokens_total)
  uint32_t max_keys = 100;        // key label values per worker; others → "other"
};

// Where finished requests are recorded (seed 004's sqlite|jsonl|none).
struct AnalyticsConfig {
  std::string backend = "sqlite";    // sqlite | jsonl | none
  std::string path;                  // default: DATA_DIR/analytics.db or DATA_DIR/analytics.jsonl
  uint32_t retention_days = 7;       // 0 = keep forever
  uint32_t preview_chars = 200;      // prompt and response previews; 0 = none stored
  uint32_t ring_kb = 1024;           // per worker, records waiting for the offload thread (a few hundred bytes each)
  uint32_t flush_interval_ms = 500;  // the longest a record waits in its ring before the offload thread spools it
  uint32_t flush_fill_percent = 25;  // a ring fuller than this wakes the offload thread sooner (0: never)
  uint32_t batch_size = 1000;        // records per store transaction (ingest thread)
  uint32_t max_backlog = 1000000;    // spooled, unstored records past which the store stops yielding to the proxy
  uint32_t jsonl_max_mb = 64;        // jsonl: rotate past this size
  uint32_t jsonl_keep = 5;           // jsonl: rotated files kept (PATH.1 newest)
};

// Three complexity levels (seed 001): thresholds on the 0..100 score and their scale-up factors.
template <typename T>
struct ComplexityLevels {
  T low, medium, high;
};

// Seed 001's policy for a group of on-demand backends, started in the order listed.
struct ScalingGroupConfig {
  std::string name;                  // the {group} label of corral_desired_replicas and friends
  std::vector<std::string> members;  // on-demand backend names
  uint32_t min = 0;
  uint32_t max = 0;                  // 0 = every member
  double target_utilization = 0.70;  // seed 000's 70 %
  uint32_t capacity = 0;             // requests one member takes; 0 = its max_concurrent, else metrics.default_capacity
  ComplexityLevels<uint32_t> complexity_thresholds{30, 50, 80};
  ComplexityLevels<double> scale_up_factors{1.2, 1.5, 2.0};
  std::vector<std::pair<std::string, double>> model_weights;  // exact name, or a name without ":tag" for every tag
  uint32_t stabilization_up_ms = 60000;
  uint32_t stabilization_down_ms = 300000;
};

struct ScalingConfig {
  std::vector<ScalingGroupConfig> groups;
};

// API keys (keys.db in data_dir, managed with `corral keys`).
struct AuthConfig {
  bool enabled = false;  // proxied requests, /status, /analytics* and /admin/* need a key
  bool metrics = false;  // /metrics needs a key too
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

// corral terminating TLS itself, beside the plain listener (HTTP/1.1, ALPN).
struct TlsListenConfig {
  std::string address;  // HOST:PORT; empty: no TLS listener
  std::string cert;     // PEM certificate (chain allowed)
  std::string key;      // PEM private key
};

struct Config {
  std::string listen = "127.0.0.1:11434";
  TlsListenConfig tls_listen;
  std::vector<BackendConfig> backends;  // default: 127.0.0.1:11435
  unsigned workers = 0;                 // 0 = one per online CPU
  std::string io = "auto";              // auto | uring | epoll
  std::string log_level = "info";
  bool access_log = true;
  uint32_t max_header_bytes = 16384;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 64ull << 20;
  uint32_t max_in_flight = 0;  // proxied requests at once over the whole fleet (seed 004's semaphore); 0: no limit
  Timeouts timeouts;
  uint32_t upstream_max_idle = 64;  // idle keep-alive connections per backend per worker
  uint32_t upstream_idle_timeout_ms = 30000;
  uint32_t buffer_count = 512;  // receive buffers per worker (power of two)
  uint32_t buffer_size = 16384;
  HealthConfig health;
  uint32_t discovery_interval_ms = 15000;  // /api/tags, /api/ps, /api/version; DNS re-resolution
  uint32_t startup_wait_ms = 5000;         // first discovery round before serving
  ModelsConfig models;
  RoutingConfig routing;
  MetricsConfig metrics;
  std::string data_dir;  // default: $STATE_DIRECTORY (systemd), else ./corral-data
  AnalyticsConfig analytics;
  ScalingConfig scaling;
  AuthConfig auth;
};

// Flags given on the command line; unset ones leave the config as it is.
struct Flags {
  std::optional<std::string> config_file, listen, io, log_level, analytics, data_dir;
  std::vector<std::string> backends;
  std::optional<unsigned> workers;
  std::optional<bool> auth;  // --auth, --auth=on|off
  bool version = false, help = false, check_config = false;
};

// Parses argv; false with err naming the flag on bad input.
bool parse_flags(int argc, char** argv, Flags& out, std::string& err);
const char* usage();

// Applies the YAML text on top of cfg. Unknown keys and bad values are errors naming the key.
bool apply_yaml(const std::string& text, Config& cfg, std::string& err);
bool apply_env(Config& cfg, std::string& err, char** envp);
bool apply_flags(const Flags& f, Config& cfg, std::string& err);
// Parses "http(s)://host:port" or "dns+http://name:port" into b; false with err.
bool parse_backend_url(const std::string& url, BackendConfig& b, std::string& err);
// Final checks and defaults (default backend, power-of-two buffers).
bool finalize(Config& cfg, std::string& err);

// Reads every backend's api_key_env; false with err naming the backend and the variable.
bool resolve_api_keys(Config& cfg, char** envp, std::string& err);
std::string_view kind_name(BackendKind k);

// Whole pipeline: defaults → file → env → flags → finalize → API keys.
bool load(const Flags& f, char** envp, Config& cfg, std::string& err);

// "sqlite", "sqlite:PATH", "jsonl", "jsonl:PATH" or "none" into a; false with err.
bool parse_analytics_spec(const std::string& spec, AnalyticsConfig& a, std::string& err);

// "250ms", "30s", "2m", "1h" or a plain number of seconds.
bool parse_duration_ms(const std::string& s, uint32_t& out);

}  // namespace corral::config
