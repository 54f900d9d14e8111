// /metrics after known traffic over two workers must equal the traffic exactly.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

double value(const std::string& text, const std::string& series) { return value_of(text, series); }

class Metrics : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Metrics, CountersEqualTheTrafficExactly) {
  Sim sim;
  Corral corral({sim.url()}, GetParam());
  const std::string gen = R"({"model":"llama3.2","prompt":"why is the sky blue?"})";
  const std::string chat =
      R"({"model":"qwen2.5:7b","messages":[{"role":"user","content":"write a python function"}],"stream":false})";
  const std::string oai =
      R"({"model":"llama3.2","messages":[{"role":"user","content":"summarize this text"}],"stream":true,"stream_options":{"include_usage":true}})";
  // Per-request prompt token counts as the backend reports them.
  long gen_prompt = json_int(request(sim.port, "POST", "/api/generate",
                                     R"({"model":"llama3.2","prompt":"why is the sky blue?","stream":false})")
                                 .body,
                             "prompt_eval_count");
  long chat_prompt = json_int(request(sim.port, "POST", "/api/chat", chat).body, "prompt_eval_count");
  Response oai_direct = request(sim.port, "POST", "/v1/chat/completions", oai);
  long oai_prompt = json_int(oai_direct.body, "prompt_tokens");
  ASSERT_GT(gen_prompt, 0);
  ASSERT_GT(chat_prompt, 0);
  ASSERT_GT(oai_prompt, 0);

  double connections_before = value(settled_metrics(corral.port), "corral_client_connections_total");
  ASSERT_EQ(traffic(corral.port, 40, 8, "POST", "/api/generate", gen, {"X-Sim-Tokens: 5"}, 200), 0);
  ASSERT_EQ(traffic(corral.port, 20, 4, "POST", "/api/chat", chat, {}, 200), 0);
  ASSERT_EQ(traffic(corral.port, 10, 4, "POST", "/v1/chat/completions", oai, {"X-Sim-Tokens: 3"}, 200), 0);
  ASSERT_EQ(traffic(corral.port, 6, 3, "POST", "/api/generate", gen, {"X-Sim-Status: 500"}, 500), 0);
  ASSERT_EQ(traffic(corral.port, 4, 2, "POST", "/api/generate", R"({"model":"nope","prompt":"hi there"})", {}, 404), 0);
  ASSERT_EQ(traffic(corral.port, 7, 7, "GET", "/api/tags", "", {}, 200), 0);

  int scrapes = 0;
  std::string m = settled_metrics(corral.port, "corral", &scrapes);
  std::string b = sim.url();
  auto req = [&](const std::string& ep, const std::string& model, const std::string& code, const std::string& cat,
                 const std::string& backend = "") {
    return value(m, "corral_requests_total{endpoint=\"" + ep + "\",model=\"" + model + "\",backend=\"" +
                        (backend.empty() ? b : backend) + "\",code=\"" + code + "\",category=\"" + cat + "\"}");
  };
  EXPECT_EQ(req("/api/generate", "llama3.2", "200", "question"), 40) << m;
  EXPECT_EQ(req("/api/chat", "qwen2.5:7b", "200", "code"), 20);
  EXPECT_EQ(req("/v1/chat/completions", "llama3.2", "200", "summarization"), 10);
  EXPECT_EQ(req("/api/generate", "llama3.2", "500", "question"), 6);
  // No backend has it: corral answers, and a name discovery does not know is no label value of its own.
  EXPECT_EQ(req("/api/generate", "other", "404", "chat", "none"), 4);
  EXPECT_EQ(m.find("model=\"nope\""), std::string::npos);
  EXPECT_EQ(req("/api/tags", "", "200", "none"), 7);

  EXPECT_EQ(value(m, "corral_request_duration_seconds_count{endpoint=\"/api/generate\",model=\"llama3.2\"}"), 46);
  EXPECT_EQ(
      value(m, "corral_request_duration_seconds_bucket{endpoint=\"/api/generate\",model=\"llama3.2\",le=\"+Inf\"}"),
      46);
  EXPECT_EQ(value(m, "corral_request_duration_seconds_count{endpoint=\"/api/chat\",model=\"qwen2.5:7b\"}"), 20);
  EXPECT_EQ(value(m, "corral_time_to_first_token_seconds_count{model=\"llama3.2\"}"), 56);
  EXPECT_EQ(value(m, "corral_completion_tokens_total{model=\"llama3.2\"}"), 40 * 5 + 10 * 3);
  EXPECT_EQ(value(m, "corral_completion_tokens_total{model=\"qwen2.5:7b\"}"), 20 * 8);
  EXPECT_EQ(value(m, "corral_prompt_tokens_total{model=\"llama3.2\"}"), 40 * gen_prompt + 10 * oai_prompt);
  EXPECT_EQ(value(m, "corral_prompt_tokens_total{model=\"qwen2.5:7b\"}"), 20 * chat_prompt);
  EXPECT_EQ(value(m, "corral_tokens_per_second_count{model=\"llama3.2\"}"), 40);  // Ollama streams report eval_duration
  EXPECT_EQ(value(m, "corral_model_load_seconds_count{model=\"qwen2.5:7b\"}"), 20);
  EXPECT_EQ(value(m, "corral_complexity_score_count{complexity=\"low\"}"), 80);
  EXPECT_EQ(value(m, "corral_active_requests{backend=\"" + b + "\"}"), 0);
  EXPECT_EQ(value(m, "corral_in_flight_requests"), 1);  // this scrape
  EXPECT_EQ(value(m, "corral_backend_up{backend=\"" + b + "\"}"), 1);
  EXPECT_EQ(value(m, "corral_backend_models_loaded{backend=\"" + b + "\"}"), 1);
  EXPECT_EQ(value(m, "corral_backend_vram_bytes{backend=\"" + b + "\"}"), 2019393189);
  EXPECT_EQ(value(m, "corral_healthy_backends"), 1);
  EXPECT_EQ(value(m, "corral_client_connections_total") - connections_before, 8 + 4 + 4 + 3 + 2 + 7 + scrapes);
  EXPECT_EQ(value(m, "corral_rejected_total{reason=\"malformed\"}"), 0);
  EXPECT_GT(value(m, "process_resident_memory_bytes"), 0);
  EXPECT_GT(value(m, "process_open_fds"), 0);
}

TEST_P(Metrics, RejectionsErrorsAndNamespace) {
  Sim sim;
  int dead = free_port();
  Corral corral({sim.url(), "http://127.0.0.1:" + std::to_string(dead)}, GetParam(),
                "metrics:\n  namespace: ollama\nlimits:\n  max_body_bytes: 1024\n");
  Client bad(corral.port);
  bad.send("GET / HTTP/1.1\nHost: x\n\n");
  EXPECT_EQ(bad.read_response().status, 400);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", std::string(2000, 'x')).status, 413);
  EXPECT_EQ(request(corral.port, "GET", "/api/tags", "", {"X-Big: " + std::string(17000, 'a')}).status, 431);
  // The dead backend is known down, so every request goes to the live one.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(request(corral.port, "GET", "/api/version").status, 200);
  std::string m = settled_metrics(corral.port, "ollama");
  EXPECT_EQ(value(m, "ollama_rejected_total{reason=\"malformed\"}"), 1) << m;
  EXPECT_EQ(value(m, "ollama_rejected_total{reason=\"body_too_large\"}"), 1);
  EXPECT_EQ(value(m, "ollama_rejected_total{reason=\"header_too_large\"}"), 1);
  EXPECT_EQ(value(m, "ollama_errors_total{kind=\"connect\"}"), 0);
  EXPECT_EQ(value(m, "ollama_backend_up{backend=\"http://127.0.0.1:" + std::to_string(dead) + "\"}"), 0);
  EXPECT_EQ(value(m, "ollama_healthy_backends"), 1);
  EXPECT_EQ(m.find("corral_"), std::string::npos);

  Corral only_dead({"http://127.0.0.1:" + std::to_string(dead)}, GetParam());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(only_dead.port, "GET", "/api/version").status, 502);
  std::string d = settled_metrics(only_dead.port);
  EXPECT_EQ(value(d, "corral_errors_total{kind=\"connect\"}"), 3) << d;
  EXPECT_EQ(value(d, "corral_healthy_backends"), 0);
  EXPECT_EQ(value(d, "corral_requests_total{endpoint=\"/api/version\",model=\"\",backend=\"http://127.0.0.1:" +
                         std::to_string(dead) + "\",code=\"502\",category=\"none\"}"),
            3);
}

INSTANTIATE_TEST_SUITE_P(Io, Metrics, ::testing::Values("uring", "epoll"), [](const auto& info) { return info.param; });
