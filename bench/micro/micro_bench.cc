// Hot-path micro benchmarks: request-head parse, body sniff (1 KB, 2 KB, 100 KB),
// final-stats tail scan, metrics increment and render, endpoint classification.
// Routing: route_bench.cc. ns/op per iteration.
#include <benchmark/benchmark.h>

#include <string>

#include "corral/api/endpoint.h"
#include "corral/api/final_stats.h"
#include "corral/api/sniff.h"
#include "corral/http/parser.h"
#include "corral/metrics/registry.h"

using namespace corral;

static void BM_ParseRequestHead(benchmark::State& state) {
  const std::string req =
      "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nUser-Agent: ollama-js/0.5.0\r\n"
      "Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n";
  http::MessageParser m(http::MessageParser::Kind::request, http::Limits{});
  for (auto _ : state) {
    auto r = m.feed(req.data(), req.size());
    auto d = m.feed(req.data() + r.used, req.size() - r.used);
    benchmark::DoNotOptimize(d);
    m.next_message();
  }
}
BENCHMARK(BM_ParseRequestHead);

static void BM_FinalStatsTailScan(benchmark::State& state) {
  std::string tail(600, 'x');
  tail +=
      "\n{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"response\":\"\",\"done\":true,"
      "\"done_reason\":\"stop\",\"total_duration\":5043500667,\"load_duration\":5025959,\"prompt_eval_count\":26,"
      "\"prompt_eval_duration\":325953000,\"eval_count\":290,\"eval_duration\":4709213000}\n";
  for (auto _ : state) benchmark::DoNotOptimize(api::extract_final_stats(tail));
}
BENCHMARK(BM_FinalStatsTailScan);

static void BM_MetricsIncrement(benchmark::State& state) {
  metrics::Registry reg(1, 100);
  metrics::Shard& s = reg.shard(0);
  for (auto _ : state) metrics::bump(s.bytes_sent, 512);
  benchmark::DoNotOptimize(s.bytes_sent.load());
}
BENCHMARK(BM_MetricsIncrement);

// A finished streaming chat request as the session records it.
static metrics::RequestRecord chat_record(std::string_view model, uint8_t backend) {
  metrics::RequestRecord r;
  r.endpoint = api::kChat;
  r.model = model;
  r.backend = backend;
  r.status = 200;
  r.category = api::kCategoryCode;
  r.complexity_score = 40;
  r.duration_s = 1.2;
  r.ttft_s = 0.2;
  r.prompt_tokens = 26;
  r.completion_tokens = 290;
  r.eval_duration_ns = 4000000000;
  r.load_duration_ns = 1000000;
  return r;
}

// Everything one finished request adds to the metrics shard.
static void BM_MetricsRecordRequest(benchmark::State& state) {
  metrics::Registry reg(1, 100);
  metrics::RequestRecord r = chat_record("llama3.2:latest", 0);
  for (auto _ : state) reg.shard(0).record(r);
}
BENCHMARK(BM_MetricsRecordRequest);

// The same with metrics.seed_names and metrics.key_labels on: the last-minute window (a clock read) and the key.
static void BM_MetricsRecordRequestSeedNamesAndKey(benchmark::State& state) {
  metrics::Registry reg(1, 100, {true, true, 100});
  metrics::RequestRecord r = chat_record("llama3.2:latest", 0);
  r.key = "team-analytics";
  for (auto _ : state) reg.shard(0).record(r);
}
BENCHMARK(BM_MetricsRecordRequestSeedNamesAndKey);

// Model, stream flag, category, complexity and affinity hash from a chat
// request whose user message makes the body about state.range(0) bytes.
static void BM_AnalyzeRequest(benchmark::State& state) {
  std::string text;
  while (text.size() < static_cast<size_t>(state.range(0)))
    text += "Please refactor this function so the design scales across services. ";
  const std::string body =
      R"({"model":"llama3.2","stream":true,"messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":")" +
      text + R"("}],"options":{"num_ctx":8192}})";
  std::string b;
  for (auto _ : state) {
    b = body;  // the session's body buffer: reused, as on a keep-alive connection
    benchmark::DoNotOptimize(api::analyze_request(b));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_AnalyzeRequest)->Arg(1 << 10)->Arg(2 << 10)->Arg(100 << 10);

// /metrics for 100 models x 10 backends.
static void BM_RenderMetrics100Models10Backends(benchmark::State& state) {
  metrics::Registry reg(2, 100);
  std::vector<metrics::BackendGauge> backends;
  for (int b = 0; b < 10; ++b)
    backends.push_back({"http://10.0.0." + std::to_string(b) + ":11434", true, true, 4, 2, 1 << 30});
  std::vector<std::string> models;
  for (int m = 0; m < 100; ++m) models.push_back("model-" + std::to_string(m) + ":7b");
  for (unsigned w = 0; w < 2; ++w) {
    for (int m = 0; m < 100; ++m) reg.shard(w).record(chat_record(models[m], static_cast<uint8_t>(m % 10)));
  }
  for (auto _ : state) {
    std::string out;
    out.reserve(1 << 20);
    reg.render(out, metrics::RenderOptions{}, backends);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RenderMetrics100Models10Backends)->Unit(benchmark::kMicrosecond);

static void BM_ClassifyEndpoint(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(api::classify("/v1/chat/completions"));
}
BENCHMARK(BM_ClassifyEndpoint);

BENCHMARK_MAIN();
