// API translation micro benchmarks: the cost of one streamed chunk through a
// response translator (framing, JSON parse, event, the client's JSON), for
// openai→ollama, anthropic→ollama and ollama→anthropic answers of 512 token
// chunks each fed as its own read; and one request body translated.
// Counter "chunk" is the time per chunk (translator creation and finish included).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "corral/api/translate.h"

using namespace corral;

namespace {

constexpr int kChunks = 512;
const char* const kWords[] = {"The", " sky", " is", " blue", " because", " of", " Rayleigh", " scattering", "."};

std::string word(int i) { return kWords[i % (sizeof kWords / sizeof kWords[0])]; }

// Chunks as api.openai.com sends them with stream_options.include_usage.
std::vector<std::string> openai_stream() {
  const std::string head = R"(data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk",)"
                           R"("created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default",)"
                           R"("system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":)";
  std::vector<std::string> v;
  v.push_back(head + R"({"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],)"
                     R"("usage":null})"
                     "\n\n");
  for (int i = 0; i < kChunks; ++i) {
    v.push_back(head + R"({"content":")" + word(i) +
                R"("},"logprobs":null,"finish_reason":null}],"usage":null})"
                "\n\n");
  }
  v.push_back(head + R"({},"logprobs":null,"finish_reason":"stop"}],"usage":null})"
                     "\n\n");
  v.push_back(R"(data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk",)"
              R"("created":1741570283,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":19,)"
              R"("completion_tokens":512,"total_tokens":531}})"
              "\n\ndata: [DONE]\n\n");
  return v;
}

std::vector<std::string> anthropic_stream() {
  std::vector<std::string> v;
  v.push_back(
      "event: message_start\ndata: "
      R"({"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message",)"
      R"("role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,)"
      R"("stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}})"
      "\n\n"
      "event: content_block_start\ndata: "
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
      "\n\n");
  for (int i = 0; i < kChunks; ++i) {
    v.push_back(
        "event: content_block_delta\ndata: "
        R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")" +
        word(i) + "\"}}\n\n");
  }
  v.push_back(
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: "
      R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
      R"("usage":{"output_tokens":512}})"
      "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  return v;
}

std::vector<std::string> ollama_stream() {
  std::vector<std::string> v;
  for (int i = 0; i < kChunks; ++i) {
    v.push_back(R"({"model":"llama3.2","created_at":"2025-07-07T20:22:19.184789Z","message":{"role":"assistant",)"
                R"("content":")" +
                word(i) +
                R"("},"done":false})"
                "\n");
  }
  v.push_back(R"({"model":"llama3.2","created_at":"2025-07-07T20:22:19.244789Z","message":{"role":"assistant",)"
              R"("content":""},"done_reason":"stop","done":true,"total_duration":4883583458,"load_duration":1334875,)"
              R"("prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":512,"eval_duration":4535599000})"
              "\n");
  return v;
}

void translate_stream(benchmark::State& state, api::Call client, api::Dialect backend,
                      const std::vector<std::string>& chunks) {
  std::string out;
  size_t bytes = 0;
  for (const std::string& c : chunks) bytes += c.size();
  for (auto _ : state) {
    auto t = api::make_response_translator(client, backend, true, "llama3.2", api::system_clock());
    for (const std::string& c : chunks) {
      out.clear();  // the session sends each chunk's output before the next read
      t->feed(c, out);
      benchmark::DoNotOptimize(out.data());
    }
    t->finish(out);
    if (t->failed()) state.SkipWithError(std::string(t->error()).c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  const auto per_chunk = benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert;
  state.counters["chunk"] = benchmark::Counter(static_cast<double>(chunks.size()), per_chunk);
}

}  // namespace

static void BM_TranslateChunkOpenAIToOllama(benchmark::State& state) {
  translate_stream(state, api::Call::ollama_chat, api::Dialect::openai, openai_stream());
}
BENCHMARK(BM_TranslateChunkOpenAIToOllama)->Unit(benchmark::kMicrosecond);

static void BM_TranslateChunkAnthropicToOllama(benchmark::State& state) {
  translate_stream(state, api::Call::ollama_chat, api::Dialect::anthropic, anthropic_stream());
}
BENCHMARK(BM_TranslateChunkAnthropicToOllama)->Unit(benchmark::kMicrosecond);

static void BM_TranslateChunkOllamaToAnthropic(benchmark::State& state) {
  translate_stream(state, api::Call::anthropic_messages, api::Dialect::ollama, ollama_stream());
}
BENCHMARK(BM_TranslateChunkOllamaToAnthropic)->Unit(benchmark::kMicrosecond);

// A 2 KB Ollama chat request (system, history, a tool) as an Anthropic body.
static void BM_TranslateRequestOllamaToAnthropic(benchmark::State& state) {
  std::string history;
  for (int i = 0; i < 8; ++i) {
    history += R"({"role":"user","content":"Please explain how the scheduler picks the next task, step )" +
               std::to_string(i) +
               R"(."},{"role":"assistant","content":"It looks at the run queue, then the )"
               R"(priorities, then the time each task has had so far."},)";
  }
  const std::string body = R"({"model":"llama3.2","messages":[{"role":"system","content":"You are terse."},)" +
                           history +
                           R"({"role":"user","content":"And now?"}],"tools":[{"type":"function",)"
                           R"("function":{"name":"ps","description":"List tasks","parameters":)"
                           R"({"type":"object","properties":{"user":{"type":"string"}}}}}],)"
                           R"("options":{"temperature":0.2,"num_predict":256,"num_ctx":8192}})";
  api::RequestOptions opts{"claude-sonnet-4-20250514"};
  api::UpstreamRequest up;
  std::string err;
  for (auto _ : state) {
    if (!api::translate_request(api::Call::ollama_chat, api::Dialect::anthropic, body, opts, up, err)) {
      state.SkipWithError(err.c_str());
      break;
    }
    benchmark::DoNotOptimize(up.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_TranslateRequestOllamaToAnthropic);
