// Hot-path micro benchmarks: request-head parse, final-stats tail scan,
// metrics increment, endpoint classification. ns/op per iteration.
#include <benchmark/benchmark.h>

#include <string>

#include "corral/http/parser.h"
#include "corral/metrics/registry.h"
#include "corral/proxy/endpoint.h"
#include "corral/proxy/stream_stats.h"

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
  for (auto _ : state) benchmark::DoNotOptimize(proxy::extract_final_stats(tail));
}
BENCHMARK(BM_FinalStatsTailScan);

static void BM_MetricsIncrement(benchmark::State& state) {
  metrics::Registry reg(1);
  metrics::Shard& s = reg.shard(0);
  for (auto _ : state) {
    metrics::bump(s.requests[proxy::kGenerate][metrics::code_index(200)]);
    metrics::bump(s.bytes_sent, 512);
  }
  benchmark::DoNotOptimize(s.bytes_sent.load());
}
BENCHMARK(BM_MetricsIncrement);

static void BM_ClassifyEndpoint(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(proxy::classify("/v1/chat/completions"));
}
BENCHMARK(BM_ClassifyEndpoint);

BENCHMARK_MAIN();
