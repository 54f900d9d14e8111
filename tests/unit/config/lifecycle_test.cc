// backends[i].supervise / .on_demand / .models and scaling.groups.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "corral/config/config.h"
#include "example_file.h"

using namespace corral::config;

namespace {

Config load(const std::string& yaml, std::string& err, std::vector<std::string> env = {}) {
  std::string path = "/tmp/corral-lifecycle-config-test.yaml";
  std::ofstream(path) << yaml;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  Flags f;
  f.config_file = path;
  Config cfg;
  err.clear();
  if (!corral::config::load(f, envp.data(), cfg, err) && err.empty()) err = "failed without an error";
  return cfg;
}

const char* kFleet = R"(
backends:
  - name: local
    url: "http://127.0.0.1:11435"
    supervise: {command: [ollama, serve], env: {OLLAMA_HOST: "127.0.0.1:11435"}, restart_after: 3, stop_timeout: 10s}
  - name: cloud-gpu
    url: auto
    models: [llama3.2]
    on_demand: {start: [packaging/hooks/exoscale, start], stop: [packaging/hooks/exoscale, stop],
                status: [packaging/hooks/exoscale, status], idle_timeout: 30m, start_timeout: 10m, hold: 0s}
  - name: gpu-2
    url: auto
    on_demand: {start: [hook, start], stop: [hook, stop]}
  - name: gpu-3
    url: "http://10.0.0.3:11434"
    on_demand: {start: [wake, start], stop: [wake, stop], hook_timeout: 1m, hold: 90s}
scaling:
  groups:
    - name: gpu
      members: [cloud-gpu, gpu-2, gpu-3]
      min: 0
      max: 3
      target_utilization: 0.70
      capacity: 4
      complexity_thresholds: {low: 30, medium: 50, high: 80}
      scale_up_factors: {low: 1.2, medium: 1.5, high: 2.0}
      model_weights: {"qwen2.5:3b": 1.0, deepseek-r1: 2.5, codellama: 2.0}
      stabilization: {up: 60s, down: 300s}
)";

}  // namespace

TEST(LifecycleConfig, TheIssuesExampleParses) {
  std::string err;
  Config c = load(kFleet, err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_EQ(c.backends.size(), 4u);
  const BackendConfig& local = c.backends[0];
  ASSERT_TRUE(local.supervise);
  EXPECT_FALSE(local.on_demand);
  EXPECT_EQ(local.supervise->command, (std::vector<std::string>{"ollama", "serve"}));
  ASSERT_EQ(local.supervise->env.size(), 1u);
  EXPECT_EQ(local.supervise->env[0], (std::pair<std::string, std::string>{"OLLAMA_HOST", "127.0.0.1:11435"}));
  EXPECT_EQ(local.supervise->restart_after, 3u);
  EXPECT_EQ(local.supervise->stop_timeout_ms, 10000u);
  EXPECT_EQ(local.port, 11435);

  const BackendConfig& cloud = c.backends[1];
  EXPECT_EQ(cloud.url, "auto");
  EXPECT_EQ(cloud.name, "cloud-gpu");
  EXPECT_EQ(cloud.models, (std::vector<std::string>{"llama3.2"}));
  ASSERT_TRUE(cloud.on_demand);
  EXPECT_EQ(cloud.on_demand->start, (std::vector<std::string>{"packaging/hooks/exoscale", "start"}));
  EXPECT_EQ(cloud.on_demand->status, (std::vector<std::string>{"packaging/hooks/exoscale", "status"}));
  EXPECT_EQ(cloud.on_demand->idle_timeout_ms, 1800000u);
  EXPECT_EQ(cloud.on_demand->start_timeout_ms, 600000u);
  EXPECT_EQ(cloud.on_demand->hold_ms, 0u);
  EXPECT_TRUE(c.backends[2].on_demand->status.empty());
  EXPECT_EQ(c.backends[3].on_demand->hook_timeout_ms, 60000u);
  EXPECT_EQ(c.backends[3].on_demand->hold_ms, 90000u);
  EXPECT_EQ(c.backends[3].host, "10.0.0.3");

  ASSERT_EQ(c.scaling.groups.size(), 1u);
  const ScalingGroupConfig& g = c.scaling.groups[0];
  EXPECT_EQ(g.name, "gpu");
  EXPECT_EQ(g.members.size(), 3u);
  EXPECT_EQ(g.max, 3u);
  EXPECT_DOUBLE_EQ(g.target_utilization, 0.7);
  EXPECT_EQ(g.capacity, 4u);
  EXPECT_EQ(g.complexity_thresholds.medium, 50u);
  EXPECT_DOUBLE_EQ(g.scale_up_factors.high, 2.0);
  ASSERT_EQ(g.model_weights.size(), 3u);
  EXPECT_EQ(g.model_weights[1], (std::pair<std::string, double>{"deepseek-r1", 2.5}));
  EXPECT_EQ(g.stabilization_up_ms, 60000u);
  EXPECT_EQ(g.stabilization_down_ms, 300000u);
}

TEST(LifecycleConfig, DefaultsOfAGroupAndItsMaxFromTheMembers) {
  std::string err;
  Config c = load(R"(
backends:
  - {name: a, url: auto, on_demand: {start: [s], stop: [t]}}
  - {name: b, url: auto, on_demand: {start: [s], stop: [t]}}
scaling: {groups: [{name: g, members: [a, b]}]}
)",
                  err);
  ASSERT_TRUE(err.empty()) << err;
  const ScalingGroupConfig& g = c.scaling.groups[0];
  EXPECT_EQ(g.min, 0u);
  EXPECT_EQ(g.max, 2u);
  EXPECT_DOUBLE_EQ(g.target_utilization, 0.70);
  EXPECT_EQ(g.complexity_thresholds.low, 30u);
  EXPECT_EQ(g.complexity_thresholds.high, 80u);
  EXPECT_DOUBLE_EQ(g.scale_up_factors.low, 1.2);
  EXPECT_DOUBLE_EQ(g.scale_up_factors.medium, 1.5);
  EXPECT_EQ(c.backends[0].on_demand->idle_timeout_ms, 1800000u);
  EXPECT_EQ(c.backends[0].on_demand->start_timeout_ms, 600000u);
}

TEST(LifecycleConfig, SeedTwoEnvironmentAppliesToOnDemandBackends) {
  std::string err;
  Config c = load(kFleet, err, {"EXOSCALE_IDLE_TIMEOUT=900", "OLLAMA_MODEL=granite3.1-dense:8b"});
  ASSERT_TRUE(err.empty()) << err;
  EXPECT_EQ(c.backends[1].on_demand->idle_timeout_ms, 900000u);
  EXPECT_EQ(c.backends[1].models, (std::vector<std::string>{"llama3.2", "granite3.1-dense:8b"}));
  EXPECT_TRUE(c.backends[0].models.empty()) << "not the supervised one";
  load(kFleet, err, {"EXOSCALE_IDLE_TIMEOUT=soon"});
  EXPECT_NE(err.find("EXOSCALE_IDLE_TIMEOUT"), std::string::npos) << err;
}

struct BadLifecycle {
  const char* yaml;
  const char* key;
};

class BadLifecycleConfig : public ::testing::TestWithParam<BadLifecycle> {};

TEST_P(BadLifecycleConfig, ErrorNamesTheKey) {
  std::string err;
  load(GetParam().yaml, err);
  EXPECT_NE(err.find(GetParam().key), std::string::npos) << "error was: " << err;
}

#define OD "on_demand: {start: [s], stop: [t]}"
INSTANTIATE_TEST_SUITE_P(
    Keys, BadLifecycleConfig,
    ::testing::Values(
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: {command: []}}]", "backends[0].supervise.command"},
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: {env: {}}}]",
                     "backends[0].supervise.command: required"},
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: {command: [x], restart_after: 0}}]",
                     "backends[0].supervise.restart_after"},
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: {command: [x], stop_timeout: later}}]",
                     "backends[0].supervise.stop_timeout"},
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: {command: [x], env: {1X: y}}}]",
                     "backends[0].supervise.env: 1X"},
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: {command: [x], restart: 3}}]",
                     "backends[0].supervise.restart: unknown key"},
        BadLifecycle{"backends: [{url: 'http://h:1', supervise: [ollama, serve]}]",
                     "backends[0].supervise: expected a mapping"},
        BadLifecycle{"backends: [{name: c, url: auto, on_demand: {start: [s]}}]",
                     "backends[0].on_demand.stop: required"},
        BadLifecycle{"backends: [{name: c, url: auto, on_demand: {stop: [t]}}]",
                     "backends[0].on_demand.start: required"},
        BadLifecycle{"backends: [{name: c, url: auto, on_demand: {start: s, stop: [t]}}]",
                     "backends[0].on_demand.start"},
        BadLifecycle{"backends: [{name: c, url: auto, on_demand: {start: [s], stop: [t], idle_timeout: soon}}]",
                     "backends[0].on_demand.idle_timeout"},
        BadLifecycle{"backends: [{name: c, url: auto, on_demand: {start: [s], stop: [t], start_timeout: 0s}}]",
                     "backends[0].on_demand.start_timeout"},
        BadLifecycle{"backends: [{name: c, url: auto, on_demand: {start: [s], stop: [t], hold: x}}]",
                     "backends[0].on_demand.hold"},
        BadLifecycle{"backends: [{name: c, url: auto}]", "backends[0].url: auto needs on_demand"},
        BadLifecycle{"backends: [{url: auto, " OD "}]", "backends[0].name: required with url auto"},
        BadLifecycle{"backends: [{name: c, url: auto, models: llama3.2, " OD "}]", "backends[0].models"},
        BadLifecycle{"backends: [{name: c, url: 'http://h:1', supervise: {command: [x]}, " OD "}]",
                     "backends[0]: supervise and on_demand exclude each other"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], "
                     "target_utilization: 70}]}",
                     "scaling.groups[0].target_utilization"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [nope]}]}",
                     "scaling.groups[0].members: 'nope' is not a backend"},
        BadLifecycle{"backends: [{name: c, url: 'http://h:1'}]\nscaling: {groups: [{name: g, members: [c]}]}",
                     "scaling.groups[0].members: 'c' is not an on_demand backend"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c]}, "
                     "{name: h, members: [c]}]}",
                     "scaling.groups[1].members: 'c' is in more than one group"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c]}, "
                     "{name: g, members: []}]}",
                     "scaling.groups[1].members: required"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{members: [c]}]}",
                     "scaling.groups[0].name: required"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], min: 2}]}",
                     "scaling.groups[0]: expected min <= max"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], "
                     "complexity_thresholds: {low: 60, medium: 50, high: 80}}]}",
                     "scaling.groups[0].complexity_thresholds: expected low <= medium <= high"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], "
                     "complexity_thresholds: {low: 101}}]}",
                     "scaling.groups[0].complexity_thresholds.low"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], "
                     "scale_up_factors: {high: -1}}]}",
                     "scaling.groups[0].scale_up_factors.high"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], "
                     "model_weights: {deepseek-r1: 0}}]}",
                     "scaling.groups[0].model_weights: deepseek-r1: expected a weight"},
        BadLifecycle{"backends: [{name: c, url: auto, " OD "}]\nscaling: {groups: [{name: g, members: [c], "
                     "stabilization: {up: fast}}]}",
                     "scaling.groups[0].stabilization.up"},
        BadLifecycle{"scaling: {group: []}", "scaling.group: unknown key"},
        BadLifecycle{"scaling: {groups: {name: g}}", "scaling.groups: expected a list"}));
#undef OD

TEST(LifecycleConfig, TheExampleFileDocumentsTheLifecycleKeys) {
  std::string text = example_file_text();
  Config c;
  std::string err;
  ASSERT_TRUE(apply_yaml(text, c, err)) << err;
  expect_mentions(text, {"models:",
                         "supervise:",
                         "command:",
                         "env:",
                         "restart_after:",
                         "stop_timeout:",
                         "on_demand:",
                         "start:",
                         "stop:",
                         "status:",
                         "idle_timeout:",
                         "start_timeout:",
                         "hook_timeout:",
                         "hold:",
                         "scaling:",
                         "groups:",
                         "members:",
                         "min:",
                         "max:",
                         "target_utilization:",
                         "capacity:",
                         "complexity_thresholds:",
                         "scale_up_factors:",
                         "model_weights:",
                         "stabilization:",
                         "up:",
                         "down:",
                         "EXOSCALE_IDLE_TIMEOUT",
                         "OLLAMA_MODEL"});
}

TEST(LifecycleConfig, TheExampleFilesCommentedFleetIsValidWhenUncommented) {
  std::istringstream in(example_file_text());
  std::stringstream out;
  for (std::string line; std::getline(in, line);) {
    // Lines starting "#:" are the lifecycle example, commented out so the file runs as it is.
    size_t at = line.find("#: ");
    out << (at != std::string::npos && line.find_first_not_of(' ') == at ? line.substr(0, at) + line.substr(at + 3)
                                                                         : line)
        << "\n";
  }
  std::string err;
  Config c = load(out.str(), err);
  ASSERT_TRUE(err.empty()) << err;
  bool supervised = false, on_demand = false;
  for (const BackendConfig& b : c.backends) {
    supervised = supervised || b.supervise.has_value();
    on_demand = on_demand || b.on_demand.has_value();
  }
  EXPECT_TRUE(supervised);
  EXPECT_TRUE(on_demand);
  EXPECT_FALSE(c.scaling.groups.empty());
}
