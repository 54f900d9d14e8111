// The families /metrics shows only when asked: the seeds' names
// (metrics.seed_names, CORRAL_METRICS_SEED_NAMES) and per-key series
// (metrics.key_labels with auth on), exact after known traffic over two workers.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

const std::string kGen = R"({"model":"llama3.2","prompt":"why is the sky blue?"})";
const std::string kChat =
    R"({"model":"qwen2.5:7b","messages":[{"role":"user","content":"write a python function"}],"stream":false})";

// Prompt tokens the backend reports for one request of this body.
long prompt_tokens(const Sim& sim, const std::string& path, const std::string& body) {
  return json_int(request(sim.port, "POST", path, body).body, "prompt_eval_count");
}

// An environment variable for the corral processes started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

class MetricsExtras : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(MetricsExtras, SeedNamesFollowTheTraffic) {
  Sim sim;
  ScopedEnv on("CORRAL_METRICS_SEED_NAMES", "on");
  Corral corral({sim.url()}, GetParam());
  long gen_prompt = prompt_tokens(sim, "/api/generate",
                                  R"({"model":"llama3.2","prompt":"why is the sky blue?",)"
                                  R"("stream":false})");
  ASSERT_GT(gen_prompt, 0);
  ASSERT_EQ(traffic(corral.port, 12, 4, "POST", "/api/generate", kGen, {"X-Sim-Tokens: 5"}, 200), 0);
  ASSERT_EQ(traffic(corral.port, 6, 3, "POST", "/api/chat", kChat, {}, 200), 0);
  ASSERT_EQ(traffic(corral.port, 3, 3, "GET", "/api/tags", "", {}, 200), 0);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(request(corral.port, "GET", "/health").status, 200);

  std::string m = settled_metrics(corral.port);
  // Seed 000: the last minute's proxied requests (not /health, not the scrapes) and their mean duration.
  EXPECT_EQ(value_of(m, "corral_requests_per_minute"), 21) << m;
  double total_s = value_of(m, "corral_request_duration_seconds_sum{endpoint=\"/api/generate\",model=\"llama3.2\"}") +
                   value_of(m, "corral_request_duration_seconds_sum{endpoint=\"/api/chat\",model=\"qwen2.5:7b\"}") +
                   value_of(m, "corral_request_duration_seconds_sum{endpoint=\"/api/tags\",model=\"\"}");
  double avg = value_of(m, "corral_avg_response_time");
  EXPECT_GT(avg, 0);
  EXPECT_NEAR(avg, total_s / 21, total_s / 21 * 1e-4) << "the same durations the histogram sums";
  EXPECT_EQ(value_of(m, "corral_utilization_percent"), 0);
  EXPECT_EQ(value_of(m, "corral_healthy_endpoints"), 1);
  // Seed 004: tokens generated per answer, by model and prompt_category; requests_total's label names.
  std::string q = "{model=\"llama3.2\",prompt_category=\"question\"}";
  EXPECT_EQ(value_of(m, "corral_tokens_generated_count" + q), 12);
  EXPECT_EQ(value_of(m, "corral_tokens_generated_sum" + q), 12 * 5);
  EXPECT_EQ(value_of(m, "corral_tokens_generated_bucket{model=\"llama3.2\",prompt_category=\"question\",le=\"5\"}"),
            12);
  EXPECT_EQ(value_of(m, "corral_tokens_generated_bucket{model=\"llama3.2\",prompt_category=\"question\",le=\"1\"}"), 0);
  EXPECT_EQ(value_of(m, "corral_tokens_generated_count{model=\"qwen2.5:7b\",prompt_category=\"code\"}"), 6);
  EXPECT_EQ(value_of(m, "corral_tokens_generated_sum{model=\"qwen2.5:7b\",prompt_category=\"code\"}"), 6 * 8);
  std::string b = sim.url();
  EXPECT_EQ(value_of(m, "corral_requests_total{endpoint=\"/api/generate\",model=\"llama3.2\",backend=\"" + b +
                            "\",code=\"200\",category=\"question\",prompt_category=\"question\",status=\"200\"}"),
            12);
  EXPECT_EQ(value_of(m, "corral_prompt_tokens_total{model=\"llama3.2\"}"), 12 * gen_prompt);

  // One stream held open by a stalled backend: 1 of the default capacity of 4 in use.
  Client held(corral.port);
  held.send(build_request("POST", "/api/generate", kGen, {"X-Sim-Tokens: 50", "X-Sim-Stall-After: 1"}));
  ASSERT_NE(held.read_until("token0", 5000).find("token0"), std::string::npos);
  std::string busy = request(corral.port, "GET", "/metrics").body;
  EXPECT_EQ(value_of(busy, "corral_utilization_ratio"), 0.25) << busy;
  EXPECT_EQ(value_of(busy, "corral_utilization_percent"), 25);
}

TEST_P(MetricsExtras, SeedZeroNamesUnderItsNamespaceAndNoneByDefault) {
  Sim sim;
  Corral seed({sim.url()}, GetParam(), "metrics:\n  namespace: ollama_proxy\n  seed_names: true\n");
  ASSERT_EQ(traffic(seed.port, 5, 2, "POST", "/api/generate", kGen, {"X-Sim-Tokens: 2"}, 200), 0);
  std::string m = settled_metrics(seed.port, "ollama_proxy");
  // Seed 000's list, name for name.
  EXPECT_EQ(value_of(m, "ollama_proxy_requests_per_minute"), 5) << m;
  EXPECT_GT(value_of(m, "ollama_proxy_avg_response_time"), 0);
  EXPECT_EQ(value_of(m, "ollama_proxy_utilization_percent"), 0);
  EXPECT_EQ(value_of(m, "ollama_proxy_healthy_endpoints"), 1);
  EXPECT_EQ(value_of(m, "ollama_proxy_active_requests{backend=\"" + sim.url() + "\"}"), 0);
  EXPECT_NE(m.find("\nollama_proxy_requests_total{"), std::string::npos);
  EXPECT_EQ(value_of(m, "ollama_proxy_tokens_generated_count{model=\"llama3.2\",prompt_category=\"question\"}"), 5);
  EXPECT_EQ(m.find("corral_"), std::string::npos);

  Corral plain({sim.url()}, GetParam());
  ASSERT_EQ(traffic(plain.port, 2, 1, "POST", "/api/generate", kGen, {}, 200), 0);
  std::string d = settled_metrics(plain.port);
  for (const char* name : {"requests_per_minute", "avg_response_time", "utilization_percent", "healthy_endpoints",
                           "tokens_generated", "key_requests_total", "key_tokens_total"}) {
    EXPECT_EQ(d.find(std::string("# TYPE corral_") + name + " "), std::string::npos) << name;
  }
  EXPECT_EQ(d.find("prompt_category="), std::string::npos);
  EXPECT_EQ(d.find("status=\""), std::string::npos);
}

TEST_P(MetricsExtras, PerKeySeriesCountEachKeyExactly) {
  Sim sim;
  char tmpl[] = "/tmp/corral-key-metrics-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto create = [&](const std::string& name) {
    std::string cmd = bin("CORRAL_BIN") + " keys create " + name + " --data-dir " + dir;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (p && fgets(buf, sizeof buf, p)) out = buf;  // the token is alone on the last line
    EXPECT_TRUE(p && pclose(p) == 0) << cmd;
    return out.substr(0, out.find_last_not_of("\r\n") + 1);
  };
  std::string alice = create("alice"), bob = create("bob");
  ASSERT_EQ(alice.rfind("crl_", 0), 0u) << alice;
  ASSERT_EQ(bob.rfind("crl_", 0), 0u) << bob;
  long gen_prompt = prompt_tokens(sim, "/api/generate",
                                  R"({"model":"llama3.2","prompt":"why is the sky blue?",)"
                                  R"("stream":false})");
  long chat_prompt = prompt_tokens(sim, "/api/chat", kChat);
  ASSERT_GT(gen_prompt, 0);
  ASSERT_GT(chat_prompt, 0);
  {
    Corral corral({sim.url()}, GetParam(), "metrics:\n  key_labels: true\n", {"--auth", "--data-dir", dir});
    ASSERT_EQ(traffic(corral.port, 10, 5, "POST", "/api/generate", kGen,
                      {"Authorization: Bearer " + alice, "X-Sim-Tokens: 5"}, 200),
              0);
    ASSERT_EQ(traffic(corral.port, 6, 3, "POST", "/api/chat", kChat, {"x-api-key: " + bob}, 200), 0);
    ASSERT_EQ(traffic(corral.port, 2, 2, "GET", "/api/tags", "", {"Authorization: Bearer " + bob}, 200), 0);
    ASSERT_EQ(traffic(corral.port, 3, 3, "POST", "/api/generate", kGen, {"Authorization: Bearer crl_not_a_key"}, 401),
              0);

    std::string m = settled_metrics(corral.port);
    EXPECT_EQ(value_of(m, "corral_key_requests_total{key=\"alice\"}"), 10) << m;
    EXPECT_EQ(value_of(m, "corral_key_tokens_total{key=\"alice\"}"), 10 * (gen_prompt + 5));
    EXPECT_EQ(value_of(m, "corral_key_requests_total{key=\"bob\"}"), 8);
    EXPECT_EQ(value_of(m, "corral_key_tokens_total{key=\"bob\"}"), 6 * (chat_prompt + 8));
    EXPECT_EQ(value_of(m, "corral_key_requests_total{key=\"other\"}"), -1) << "two keys are within max_keys";
    EXPECT_EQ(m.find("key=\"\""), std::string::npos) << "requests without a key have no key series";
    EXPECT_EQ(value_of(m, "corral_rejected_total{reason=\"auth\"}"), 3);
    EXPECT_EQ(m.find(alice), std::string::npos);
    EXPECT_EQ(m.find(bob), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Io, MetricsExtras, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return info.param; });
