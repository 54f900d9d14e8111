// `corral import-config`: a seed-003 ollama_proxy.yml written from the seed's
// README (environments sharing a `<<: *default` block, servers with priority and
// memory limits, external hosts with api_key_env, model_config) becomes corral
// YAML that corral's own config parser accepts, with the routing it describes.
#include "corral/config/import_seed003.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "corral/config/config.h"

using namespace corral::config;

namespace {

constexpr char kSeedFile[] = R"(default: &default
  proxy_port: 11434
  cache_ttl_seconds: 300
  model_config:
    explicit_assignments:
      "gpt-4": "openai"
      "claude-3-sonnet": "anthropic"
      "llama3:70b": "high_performance"
      "phi3": "nowhere"
    memory_overrides:
      "custom-model-70b": 40.0
    memory_patterns:
      - pattern: ".*-7b.*"
        memory_gb: 4.5
      - pattern: "^mixtral"
        memory_gb: 26
      - pattern: "(?<size>\\d+)b"
        memory_gb: 3

development:
  <<: *default
  logging:
    level: "debug"
  servers:
    local: {host: "localhost", port: 11435}

production:
  <<: *default
  proxy_port: 8080
  servers:
    high_performance:
      host: "localhost"
      port: 11435
      name: "high_performance"
      priority: 1
      max_memory_gb: null
      enabled: true
    legacy:
      host: "10.0.0.7"
      port: 11436
      name: "legacy"
      priority: 2
      max_memory_gb: 8
      enabled: yes
      response_time_threshold: 2.5
  external_hosts:
    openai:
      host: "api.openai.com"
      port: 443
      protocol: "https"
      api_key_env: "OPENAI_API_KEY"
      name: "openai"
      enabled: false
    anthropic:
      host: "api.anthropic.com"
      protocol: "https"
      api_key: "sk-ant-do-not-print"
      name: "anthropic"
)";

Seed003Import convert(const std::string& env, bool hosted = false, const std::string& text = kSeedFile) {
  Seed003Import out;
  std::string err;
  EXPECT_TRUE(import_seed003(text, {env, hosted}, out, err)) << err;
  return out;
}

Config parse(const std::string& yaml) {
  Config cfg;
  std::string err;
  EXPECT_TRUE(apply_yaml(yaml, cfg, err) && finalize(cfg, err)) << err << "\n" << yaml;
  return cfg;
}

bool has_note(const Seed003Import& r, const std::string& part) {
  return std::any_of(r.not_mapped.begin(), r.not_mapped.end(),
                     [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

}  // namespace

TEST(ImportSeed003, ProductionServersBecomeBackendsCorralAccepts) {
  Seed003Import r = convert("production");
  Config c = parse(r.yaml);
  EXPECT_EQ(c.listen, "127.0.0.1:8080");  // production's own proxy_port beats the merged default
  ASSERT_EQ(c.backends.size(), 2u) << r.yaml;
  EXPECT_EQ(c.backends[0].name, "high_performance");
  EXPECT_EQ(c.backends[0].url, "http://localhost:11435");
  EXPECT_EQ(c.backends[0].priority, 1u);
  EXPECT_EQ(c.backends[0].max_memory_gb, 0);  // null: unlimited
  EXPECT_EQ(c.backends[1].name, "legacy");
  EXPECT_EQ(c.backends[1].url, "http://10.0.0.7:11436");
  EXPECT_EQ(c.backends[1].priority, 2u);
  EXPECT_EQ(c.backends[1].max_memory_gb, 8);
  EXPECT_TRUE(c.backends[1].enabled);
  EXPECT_EQ(c.discovery_interval_ms, 300000u);  // cache_ttl_seconds
}

TEST(ImportSeed003, ModelConfigBecomesAssignmentsOverridesAndWholeNamePatterns) {
  Seed003Import r = convert("production");
  Config c = parse(r.yaml);
  ASSERT_EQ(c.models.assignments.size(), 1u) << r.yaml;
  EXPECT_EQ(c.models.assignments[0], (std::pair<std::string, std::string>{"llama3:70b", "high_performance"}));
  ASSERT_EQ(c.models.memory_overrides.size(), 1u);
  EXPECT_EQ(c.models.memory_overrides[0].first, "custom-model-70b");
  EXPECT_EQ(c.models.memory_overrides[0].second, 40.0);
  ASSERT_EQ(c.models.memory_patterns.size(), 2u);
  EXPECT_EQ(c.models.memory_patterns[0].pattern, ".*-7b.*");
  EXPECT_EQ(c.models.memory_patterns[0].memory_gb, 4.5);
  EXPECT_EQ(c.models.memory_patterns[1].pattern, "mixtral.*");       // Ruby's =~ /^mixtral/ as a whole-name match
  EXPECT_TRUE(has_note(r, "memory_patterns[2].pattern")) << r.yaml;  // a named group is not ECMAScript
  EXPECT_TRUE(has_note(r, "explicit_assignments.phi3")) << r.yaml;   // names no server or host
}

TEST(ImportSeed003, WhatCannotBeMappedIsACommentAndSecretsAreNeverPrinted) {
  Seed003Import r = convert("production");
  EXPECT_TRUE(has_note(r, "servers.legacy.response_time_threshold = 2.5"));
  EXPECT_TRUE(has_note(r, "external_hosts.anthropic.api_key = (value not shown)"));
  EXPECT_EQ(r.yaml.find("sk-ant-do-not-print"), std::string::npos);
  for (const std::string& n : r.not_mapped) EXPECT_NE(r.yaml.find("# not mapped: " + n + "\n"), std::string::npos) << n;
}

TEST(ImportSeed003, HostedHostsAreCommentedOutUntilTheBuildHasHostedBackends) {
  Seed003Import r = convert("production", false);
  EXPECT_TRUE(has_note(r, "external_hosts.openai"));
  EXPECT_NE(r.yaml.find("#       kind: openai\n#       api_key_env: \"OPENAI_API_KEY\"\n"), std::string::npos)
      << r.yaml;
  EXPECT_NE(r.yaml.find("#       url: \"https://api.anthropic.com:443\"\n#       kind: anthropic\n"),
            std::string::npos);
  EXPECT_NE(r.yaml.find("#       \"gpt-4\": \"openai\"\n"), std::string::npos) << r.yaml;
  parse(r.yaml);  // the commented-out entries leave a valid config
}

TEST(ImportSeed003, HostedHostsBecomeKindBackendsWhenTheBuildHasThem) {
  Seed003Import r = convert("production", true);
  EXPECT_FALSE(has_note(r, "external_hosts.openai ")) << r.yaml;
  EXPECT_NE(r.yaml.find("  - name: \"openai\"\n    url: \"https://api.openai.com:443\"\n    kind: openai\n"
                        "    api_key_env: \"OPENAI_API_KEY\"\n    enabled: false\n"),
            std::string::npos)
      << r.yaml;
  EXPECT_NE(r.yaml.find("    \"gpt-4\": \"openai\"\n    \"claude-3-sonnet\": \"anthropic\"\n"), std::string::npos)
      << r.yaml;
  if (hosted_backends_supported()) parse(r.yaml);
}

TEST(ImportSeed003, EnvironmentChoice) {
  Seed003Import dev = convert("development");
  Config c = parse(dev.yaml);
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].name, "local");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.listen, "127.0.0.1:11434");                    // from the merged default block
  EXPECT_TRUE(has_note(dev, "explicit_assignments.gpt-4"));  // no openai host in development

  Seed003Import prod = convert("");  // production when present
  EXPECT_NE(prod.yaml.find("(environment: production)"), std::string::npos);

  Seed003Import out;
  std::string err;
  EXPECT_FALSE(import_seed003(kSeedFile, {"staging", false}, out, err));
  EXPECT_NE(err.find("no environment 'staging'"), std::string::npos) << err;
  EXPECT_NE(err.find("development, production"), std::string::npos) << err;
  EXPECT_FALSE(import_seed003("a: [unclosed", {"", false}, out, err));
  EXPECT_NE(err.find("invalid YAML"), std::string::npos) << err;
}

TEST(ImportSeed003, AFileWithoutEnvironmentsIsItsOwnEnvironment) {
  Seed003Import r = convert("", false, "servers:\n  gpu: {host: gpu1, port: 11434, max_memory_gb: 24}\n");
  Config c = parse(r.yaml);
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].url, "http://gpu1:11434");
  EXPECT_EQ(c.backends[0].max_memory_gb, 24);
  EXPECT_TRUE(r.not_mapped.empty()) << r.yaml;
}
