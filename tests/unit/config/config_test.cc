#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "corral/config/config.h"
#include "example_file.h"

using namespace corral::config;

namespace {
Config load_with(const std::string& yaml, std::vector<std::string> env, std::vector<std::string> args,
                 std::string* err_out = nullptr) {
  std::string path = "/tmp/corral-config-test.yaml";
  std::ofstream(path) << yaml;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  args.insert(args.begin(), {"corral", "--config", path});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Flags f;
  std::string err;
  Config cfg;
  bool ok = parse_flags(static_cast<int>(argv.size()), argv.data(), f, err) && load(f, envp.data(), cfg, err);
  if (err_out) *err_out = ok ? "" : err;
  return cfg;
}
}  // namespace

TEST(Config, DefaultsWithoutAnything) {
  Config c = load_with("", {}, {});
  EXPECT_EQ(c.listen, "127.0.0.1:11434");
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].url, "http://127.0.0.1:11435");
  EXPECT_EQ(c.timeouts.first_byte_ms, 300000u);
  EXPECT_EQ(c.timeouts.stream_idle_ms, 120000u);
  EXPECT_EQ(c.max_body_bytes, 64ull << 20);
}

TEST(Config, FlagsBeatEnvBeatFile) {
  std::string yaml = "listen: 127.0.0.1:1000\nworkers: 3\nbackends:\n  - url: http://10.0.0.1:1\n";
  Config file_only = load_with(yaml, {}, {});
  EXPECT_EQ(file_only.listen, "127.0.0.1:1000");
  EXPECT_EQ(file_only.workers, 3u);
  EXPECT_EQ(file_only.backends[0].url, "http://10.0.0.1:1");

  Config env =
      load_with(yaml, {"CORRAL_LISTEN=127.0.0.1:2000", "CORRAL_WORKERS=5", "CORRAL_BACKEND=http://h:2,http://h:3"}, {});
  EXPECT_EQ(env.listen, "127.0.0.1:2000");
  EXPECT_EQ(env.workers, 5u);
  ASSERT_EQ(env.backends.size(), 2u);
  EXPECT_EQ(env.backends[1].url, "http://h:3");

  Config flags = load_with(yaml, {"CORRAL_LISTEN=127.0.0.1:2000", "CORRAL_WORKERS=5"},
                           {"--listen", "127.0.0.1:3000", "--workers=7", "--backend", "http://f:4"});
  EXPECT_EQ(flags.listen, "127.0.0.1:3000");
  EXPECT_EQ(flags.workers, 7u);
  ASSERT_EQ(flags.backends.size(), 1u);
  EXPECT_EQ(flags.backends[0].host, "f");
  EXPECT_EQ(flags.backends[0].port, 4);
}

TEST(Config, SeedEnvironmentVariables) {
  Config c = load_with("", {"PROXY_PORT=8080", "OLLAMA_BACKEND_PORT=8081"}, {});
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.backends[0].url, "http://127.0.0.1:8081");
  Config h = load_with("", {"OLLAMA_HOST=0.0.0.0:9999"}, {});
  EXPECT_EQ(h.backends[0].host, "127.0.0.1");
  EXPECT_EQ(h.backends[0].port, 9999);
}

TEST(Config, DurationsParse) {
  uint32_t ms;
  ASSERT_TRUE(parse_duration_ms("250ms", ms));
  EXPECT_EQ(ms, 250u);
  ASSERT_TRUE(parse_duration_ms("1.5s", ms));
  EXPECT_EQ(ms, 1500u);
  ASSERT_TRUE(parse_duration_ms("2m", ms));
  EXPECT_EQ(ms, 120000u);
  ASSERT_TRUE(parse_duration_ms("30", ms));
  EXPECT_EQ(ms, 30000u);
  EXPECT_FALSE(parse_duration_ms("soon", ms));
  EXPECT_FALSE(parse_duration_ms("5 parsecs", ms));
}

struct Bad {
  std::string yaml;
  std::string key;
};
class BadConfig : public ::testing::TestWithParam<Bad> {};
TEST_P(BadConfig, ErrorNamesTheKey) {
  std::string err;
  load_with(GetParam().yaml, {}, {}, &err);
  EXPECT_NE(err.find(GetParam().key), std::string::npos) << "error was: " << err;
}
INSTANTIATE_TEST_SUITE_P(
    Keys, BadConfig,
    ::testing::Values(
        Bad{"listne: x\n", "listne: unknown key"},
        Bad{"timeouts:\n  header: soon\n", "timeouts.header: expected a duration"},
        Bad{"timeouts:\n  headr: 1s\n", "timeouts.headr: unknown key"},
        Bad{"workers: many\n", "workers: expected a whole number"},
        Bad{"backends:\n  - url: ftp://x:1\n", "backends[0].url"},
        Bad{"backends:\n  - {}\n", "backends[0].url: required"},
        Bad{"io: kqueue\n", "io: expected auto, uring or epoll"}, Bad{"log:\n  level: loud\n", "log.level"},
        Bad{"buffers:\n  count: 1000\n", "buffers.count"}, Bad{"listen: [1, 2\n", "invalid YAML"},
        Bad{"listen: 127.0.0.1:7\nbackends: [http://127.0.0.1:7]\n", "would loop"},
        Bad{"metrics:\n  namespace: 9bad\n", "metrics.namespace"},
        Bad{"metrics:\n  max_models: 999\n", "metrics.max_models"},
        Bad{"backends:\n  - {url: http://h:1, max_concurrent: x}\n", "backends[0].max_concurrent"},
        Bad{"backends:\n  - {url: http://h:1, max_memory_gb: -2}\n",
            "backends[0].max_memory_gb: expected a size in GB"},
        Bad{"backends:\n  - {url: http://h:1, prio: 1}\n", "backends[0].prio: unknown key"},
        Bad{"backends:\n  - {name: x, url: http://h:1}\n  - {name: x, url: http://h:2}\n",
            "backends[1].name: 'x' is used twice"},
        Bad{"backends: [http://h:1]\nmodels:\n  assignments: {m: nobody}\n",
            "models.assignments.m: no backend named 'nobody'"},
        Bad{"models:\n  memory_patterns: [{pattern: \"(\", memory_gb: 4}]\n",
            "models.memory_patterns: [0].pattern: invalid regular expression"},
        Bad{"models:\n  memory_overrides: {m: big}\n", "models.memory_overrides: m: expected a size in GB"},
        Bad{"routing:\n  affinity: sticky\n", "routing.affinity: expected none or prefix"},
        Bad{"routing:\n  balance: rr\n", "routing.balance: expected least_outstanding or random"},
        Bad{"routing:\n  prefer_loaded: maybe\n", "routing.prefer_loaded: expected true or false"},
        Bad{"routing:\n  max_attempts: 0\n", "routing.max_attempts"},
        Bad{"health:\n  unhealthy_after: 0\n", "health.unhealthy_after"},
        Bad{"discovery:\n  every: 1s\n", "discovery.every: unknown key"},
        Bad{"health:\n  interval: 0s\n", "health.interval: expected a duration of at least 100ms"},
        Bad{"discovery:\n  interval: 5ms\n", "discovery.interval: expected a duration of at least 100ms"},
        Bad{"analytics:\n  flush_interval: 0\n", "analytics.flush_interval: expected a duration of at least 1ms"},
        Bad{"analytics:\n  flush_fill_percent: 101\n", "analytics.flush_fill_percent"},
        Bad{"backends:\n  - url: dns+https://x:1\n", "backends[0].url"},
        Bad{"backends:\n  - {url: http://h:1, kind: gemini}\n",
            "backends[0].kind: expected ollama, openai or anthropic"},
        Bad{"backends:\n  - {url: http://h:1, tls: {verify: false}}\n", "backends[0].tls: only for https://"},
        Bad{"backends:\n  - {url: https://h, tls: {pin: x}}\n", "backends[0].tls.pin: unknown key"},
        Bad{"backends:\n  - {url: http://h:1, api_key_env: K}\n",
            "backends[0].api_key_env: only for kind openai or anthropic"},
        Bad{"backends:\n  - {url: https://h, kind: openai, api_key_env: \"9x\"}\n",
            "backends[0].api_key_env: expected the name of an environment variable"},
        Bad{"backends:\n  - {url: https://h, kind: openai, api_key_env: CORRAL_TEST_NO_SUCH_KEY}\n",
            "backends[0].api_key_env: environment variable CORRAL_TEST_NO_SUCH_KEY is not set"},
        Bad{"models:\n  aliases: {fast: fast}\n", "models.aliases: fast: expected the name of another model"},
        Bad{"tls_listen: {address: \"127.0.0.1:9\"}\n", "tls_listen.cert: required"},
        Bad{"tls_listen: {address: nowhere, cert: c, key: k}\n", "tls_listen.address: expected HOST:PORT"},
        Bad{"metrics:\n  listen: nope\n", "metrics.listen: expected HOST:PORT"}));

TEST(Config, HostedBackendsAliasesAndListeners) {
  std::string err;
  Config c = load_with(R"(backends:
  - {name: gpu, url: "http://10.0.0.5:11434"}
  - name: openai
    kind: openai
    url: "https://api.openai.com"
    api_key_env: TEST_OPENAI_KEY
    models: [gpt-4o]
    tls: {ca_file: null, verify: true, server_name: null}
  - {name: vllm, kind: openai, url: "http://10.0.0.9:8000"}
models:
  aliases: {fast: "llama3.2:latest", gpt-4: gpt-4o}
tls_listen: {address: "127.0.0.1:11443", cert: c.pem, key: k.pem}
metrics: {listen: "127.0.0.1:9090"}
)",
                       {"TEST_OPENAI_KEY=sk-test"}, {}, &err);
  ASSERT_EQ(err, "");
  ASSERT_EQ(c.backends.size(), 3u);
  EXPECT_EQ(c.backends[0].kind, BackendKind::ollama);
  EXPECT_TRUE(c.backends[1].https);
  EXPECT_EQ(c.backends[1].port, 443);
  EXPECT_EQ(c.backends[1].kind, BackendKind::openai);
  EXPECT_EQ(c.backends[1].api_key, "sk-test");
  EXPECT_TRUE(c.backends[1].tls.verify);
  EXPECT_EQ(c.backends[2].kind, BackendKind::openai);
  EXPECT_FALSE(c.backends[2].https);
  ASSERT_EQ(c.models.aliases.size(), 2u);
  EXPECT_EQ(c.models.aliases[1], (std::pair<std::string, std::string>{"gpt-4", "gpt-4o"}));
  EXPECT_EQ(c.tls_listen.address, "127.0.0.1:11443");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9090");
  Config env = load_with("", {"LITEBRAIN_METRICS_PORT=9191"}, {}, &err);
  EXPECT_EQ(err, "");
  EXPECT_EQ(env.metrics.listen, "0.0.0.0:9191");
  load_with("", {"CORRAL_TLS_LISTEN=127.0.0.1:1"}, {}, &err);
  EXPECT_NE(err.find("tls_listen.cert: required"), std::string::npos) << err;
}

TEST(Config, FleetKeysParse) {
  std::string err;
  Config c = load_with(
      "backends:\n"
      "  - {name: big, url: http://10.0.0.5:11434, priority: 1, max_memory_gb: null, max_concurrent: 4}\n"
      "  - {name: pool, url: \"dns+http://ollama.ns.svc:11434\", priority: 2, max_memory_gb: 8,"
      " max_loaded_models: 3, enabled: false,"
      " accept_pulls: false}\n"
      "models:\n  assignments: {\"llama3.3:70b\": big}\n  memory_overrides: {\"custom-70b\": 40.5}\n"
      "  memory_patterns: [{pattern: \".*-7b.*\", memory_gb: 4.5}]\n"
      "routing: {affinity: prefix, queue_size: 7, queue_timeout: 2s, retry_after: 5s, max_attempts: 2,"
      " circuit_failures: 3, circuit_cooldown: 10s, fanout_timeout: 3s, prefer_loaded: false,"
      " balance: random}\n"
      "health: {interval: 1s, timeout: 500ms, unhealthy_after: 4, healthy_after: 2}\n"
      "discovery: {interval: 20s, startup_wait: 1s}\n",
      {}, {}, &err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0].name, "big");
  EXPECT_EQ(c.backends[0].max_memory_gb, 0);
  EXPECT_EQ(c.backends[0].max_concurrent, 4u);
  EXPECT_TRUE(c.backends[1].dns);
  EXPECT_EQ(c.backends[1].host, "ollama.ns.svc");
  EXPECT_EQ(c.backends[1].max_memory_gb, 8);
  EXPECT_EQ(c.backends[1].max_loaded_models, 3u);
  EXPECT_EQ(c.backends[0].max_loaded_models, 0u);
  EXPECT_FALSE(c.backends[1].enabled);
  EXPECT_FALSE(c.backends[1].accept_pulls);
  EXPECT_EQ(c.backends[1].priority, 2u);
  ASSERT_EQ(c.models.assignments.size(), 1u);
  EXPECT_EQ(c.models.assignments[0].second, "big");
  EXPECT_EQ(c.models.memory_overrides[0].second, 40.5);
  EXPECT_EQ(c.models.memory_patterns[0].memory_gb, 4.5);
  EXPECT_TRUE(c.routing.affinity);
  EXPECT_FALSE(c.routing.prefer_loaded);
  EXPECT_TRUE(c.routing.balance_random);
  EXPECT_EQ(c.routing.queue_size, 7u);
  EXPECT_EQ(c.routing.queue_timeout_ms, 2000u);
  EXPECT_EQ(c.routing.retry_after_ms, 5000u);
  EXPECT_EQ(c.routing.max_attempts, 2u);
  EXPECT_EQ(c.routing.circuit_failures, 3u);
  EXPECT_EQ(c.routing.circuit_cooldown_ms, 10000u);
  EXPECT_EQ(c.routing.fanout_timeout_ms, 3000u);
  EXPECT_EQ(c.health.unhealthy_after, 4u);
  EXPECT_EQ(c.health.healthy_after, 2u);
  EXPECT_EQ(c.discovery_interval_ms, 20000u);
  EXPECT_EQ(c.startup_wait_ms, 1000u);
}

TEST(Config, ExampleFileIsValidAndDocumentsEveryKey) {
  std::string text = example_file_text();
  Config c;
  std::string err;
  ASSERT_TRUE(apply_yaml(text, c, err)) << err;
  expect_mentions(text, {"listen:",
                         "workers:",
                         "io:",
                         "backends:",
                         "level:",
                         "access:",
                         "max_header_bytes:",
                         "max_headers:",
                         "max_body_bytes:",
                         "header:",
                         "body:",
                         "keepalive:",
                         "connect:",
                         "first_byte:",
                         "stream_idle:",
                         "drain:",
                         "max_idle:",
                         "idle_timeout:",
                         "count:",
                         "size:",
                         "interval:",
                         "timeout:",
                         "max_concurrent:",
                         "namespace:",
                         "max_models:",
                         "default_capacity:",
                         "name:",
                         "priority:",
                         "max_memory_gb:",
                         "max_loaded_models:",
                         "enabled:",
                         "accept_pulls:",
                         "assignments:",
                         "memory_overrides:",
                         "memory_patterns:",
                         "affinity:",
                         "prefer_loaded:",
                         "balance:",
                         "queue_size:",
                         "queue_timeout:",
                         "retry_after:",
                         "max_attempts:",
                         "circuit_failures:",
                         "circuit_cooldown:",
                         "fanout_timeout:",
                         "unhealthy_after:",
                         "healthy_after:",
                         "startup_wait:",
                         "data_dir:",
                         "analytics:",
                         "path:",
                         "retention_days:",
                         "preview_chars:",
                         "ring_kb:",
                         "batch_size:",
                         "max_backlog:",
                         "flush_interval:",
                         "flush_fill_percent:",
                         "jsonl_max_mb:",
                         "jsonl_keep:",
                         "auth:",
                         "metrics:",
                         "seed_names:",
                         "key_labels:",
                         "max_keys:",
                         "kind:",
                         "api_key_env",
                         "tls:",
                         "ca_file",
                         "verify",
                         "server_name",
                         "aliases:",
                         "tls_listen:",
                         "address:",
                         "cert:",
                         "key:"});
}

TEST(Config, AnalyticsDefaultsToSqliteInTheDataDirectory) {
  Config c = load_with("", {}, {});
  EXPECT_EQ(c.analytics.backend, "sqlite");
  EXPECT_EQ(c.data_dir, "./corral-data");
  EXPECT_EQ(c.analytics.path, "./corral-data/analytics.db");
  EXPECT_EQ(c.analytics.retention_days, 7u);
  EXPECT_EQ(c.analytics.preview_chars, 200u);
  Config d = load_with("", {}, {"--data-dir", "/var/lib/x"});
  EXPECT_EQ(d.analytics.path, "/var/lib/x/analytics.db");
  Config systemd = load_with("", {"STATE_DIRECTORY=/var/lib/corral"}, {});
  EXPECT_EQ(systemd.analytics.path, "/var/lib/corral/analytics.db");
  Config file = load_with("data_dir: /srv/c\n", {"STATE_DIRECTORY=/var/lib/corral"}, {});
  EXPECT_EQ(file.data_dir, "/srv/c") << "the file wins over systemd's default";
}

TEST(Config, AnalyticsFromFileEnvAndFlags) {
  Config f = load_with(
      "analytics:\n  backend: jsonl\n  retention_days: 30\n  preview_chars: 0\n  flush_interval: 50ms\n"
      "  flush_fill_percent: 0\n",
      {}, {});
  EXPECT_EQ(f.analytics.backend, "jsonl");
  EXPECT_EQ(f.analytics.path, "./corral-data/analytics.jsonl");
  EXPECT_EQ(f.analytics.retention_days, 30u);
  EXPECT_EQ(f.analytics.preview_chars, 0u);
  EXPECT_EQ(f.analytics.flush_interval_ms, 50u);
  EXPECT_EQ(f.analytics.flush_fill_percent, 0u) << "0 turns the early wake-up off";
  Config p = load_with("analytics:\n  path: /data/a.db\n  backend: sqlite\n", {}, {});
  EXPECT_EQ(p.analytics.path, "/data/a.db") << "path and backend in either order";
  // seed 004's variables
  Config e = load_with("", {"ANALYTICS_BACKEND=jsonl", "ANALYTICS_DIR=/srv/an", "ANALYTICS_RETENTION_DAYS=3"}, {});
  EXPECT_EQ(e.analytics.backend, "jsonl");
  EXPECT_EQ(e.analytics.path, "/srv/an/analytics.jsonl");
  EXPECT_EQ(e.analytics.retention_days, 3u);
  Config db = load_with("", {"ANALYTICS_DB_PATH=/tmp/x.db"}, {});
  EXPECT_EQ(db.analytics.path, "/tmp/x.db");
  Config fl =
      load_with("analytics: {backend: jsonl}\n", {"ANALYTICS_BACKEND=none"}, {"--analytics", "sqlite:/tmp/y.db"});
  EXPECT_EQ(fl.analytics.backend, "sqlite");
  EXPECT_EQ(fl.analytics.path, "/tmp/y.db");
}

TEST(Config, BadAnalyticsSettingsNameTheKey) {
  std::string err;
  load_with("analytics:\n  backend: mysql\n", {}, {}, &err);
  EXPECT_NE(err.find("analytics.backend"), std::string::npos) << err;
  load_with("", {"ANALYTICS_BACKEND=postgres"}, {}, &err);
  EXPECT_NE(err.find("ANALYTICS_BACKEND"), std::string::npos) << err;
  load_with("", {}, {"--analytics", "none:/x"}, &err);
  EXPECT_NE(err.find("--analytics"), std::string::npos) << err;
  load_with("analytics:\n  retention: 7\n", {}, {}, &err);
  EXPECT_NE(err.find("analytics.retention"), std::string::npos) << err;
  load_with("", {"ANALYTICS_RETENTION_DAYS=week"}, {}, &err);
  EXPECT_NE(err.find("ANALYTICS_RETENTION_DAYS"), std::string::npos) << err;
}

TEST(Config, AuthFromFileEnvAndFlags) {
  Config d = load_with("", {}, {});
  EXPECT_FALSE(d.auth.enabled) << "off by default: the drop-in case stays zero-config";
  EXPECT_FALSE(d.auth.metrics);
  Config f = load_with("auth:\n  enabled: true\n  metrics: true\n", {}, {});
  EXPECT_TRUE(f.auth.enabled);
  EXPECT_TRUE(f.auth.metrics);
  EXPECT_TRUE(load_with("", {"CORRAL_AUTH=on"}, {}).auth.enabled);
  EXPECT_FALSE(load_with("auth: {enabled: true}\n", {"CORRAL_AUTH=off"}, {}).auth.enabled) << "env beats the file";
  EXPECT_TRUE(load_with("", {"CORRAL_AUTH=off"}, {"--auth"}).auth.enabled) << "the flag beats env";
  EXPECT_FALSE(load_with("auth: {enabled: true}\n", {}, {"--auth=off"}).auth.enabled);
}

TEST(Config, BadAuthSettingsNameTheKey) {
  std::string err;
  load_with("auth:\n  enabled: yes please\n", {}, {}, &err);
  EXPECT_NE(err.find("auth.enabled: expected true or false"), std::string::npos) << err;
  load_with("auth:\n  metric: true\n", {}, {}, &err);
  EXPECT_NE(err.find("auth.metric: unknown key"), std::string::npos) << err;
  load_with("", {"CORRAL_AUTH=maybe"}, {}, &err);
  EXPECT_NE(err.find("CORRAL_AUTH: expected on or off"), std::string::npos) << err;
  load_with("", {}, {"--auth=sometimes"}, &err);
  EXPECT_NE(err.find("--auth: expected on or off"), std::string::npos) << err;
}

TEST(Config, MetricsSeedNamesAndKeyLabelsFromFileAndEnv) {
  Config d = load_with("", {}, {});
  EXPECT_FALSE(d.metrics.seed_names);
  EXPECT_FALSE(d.metrics.key_labels);
  EXPECT_EQ(d.metrics.max_keys, 100u);
  Config f = load_with("metrics:\n  seed_names: true\n  key_labels: true\n  max_keys: 7\n", {}, {});
  EXPECT_TRUE(f.metrics.seed_names);
  EXPECT_TRUE(f.metrics.key_labels);
  EXPECT_EQ(f.metrics.max_keys, 7u);
  EXPECT_TRUE(load_with("", {"CORRAL_METRICS_SEED_NAMES=on"}, {}).metrics.seed_names);
  EXPECT_FALSE(load_with("metrics: {seed_names: true}\n", {"CORRAL_METRICS_SEED_NAMES=off"}, {}).metrics.seed_names)
      << "env beats the file";
  std::string err;
  load_with("", {"CORRAL_METRICS_SEED_NAMES=yes"}, {}, &err);
  EXPECT_NE(err.find("CORRAL_METRICS_SEED_NAMES: expected on or off"), std::string::npos) << err;
  load_with("metrics: {max_keys: 255}\n", {}, {}, &err);
  EXPECT_NE(err.find("metrics.max_keys"), std::string::npos) << err;
  load_with("metrics: {key_labels: sometimes}\n", {}, {}, &err);
  EXPECT_NE(err.find("metrics.key_labels"), std::string::npos) << err;
}

TEST(Config, FleetWideInFlightLimitFromFileOrEnvironment) {
  EXPECT_EQ(load_with("", {}, {}).max_in_flight, 0u);
  EXPECT_EQ(load_with("limits: {max_in_flight: 50}\n", {}, {}).max_in_flight, 50u);
  EXPECT_EQ(load_with("limits: {max_in_flight: 50}\n", {"CORRAL_MAX_IN_FLIGHT=8"}, {}).max_in_flight, 8u);
  std::string err;
  load_with("limits: {max_in_flight: -3}\n", {}, {}, &err);
  EXPECT_NE(err.find("max_in_flight"), std::string::npos) << err;
  load_with("", {"CORRAL_MAX_IN_FLIGHT=lots"}, {}, &err);
  EXPECT_NE(err.find("CORRAL_MAX_IN_FLIGHT"), std::string::npos) << err;
}
