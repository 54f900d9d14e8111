// Response translation over recorded provider streams (tests/unit/api/fixtures,
// written from the published API references): the client's bytes for every
// pair, streamed and not, the same whatever the split, the usage, errors in
// the client's shape, and round trips of tool calls and images.
#include <gtest/gtest.h>

#include "corral/api/translate.h"
#include "translate_helpers.h"

using namespace corral::api;
using namespace corral::api::test;

namespace {

constexpr std::string_view kIso = "2024-11-30T20:53:20.123Z";  // TestClock::wall
constexpr std::string_view kSeed = "180cda517b1554c0";         // hex of TestClock::wall

struct Pair {
  Call client;
  Dialect backend;
  bool stream;
  const char* fixture;
};

const Pair kPairs[] = {
    {Call::ollama_chat, Dialect::openai, true, "openai_text.sse"},
    {Call::ollama_chat, Dialect::openai, true, "openai_tools.sse"},
    {Call::ollama_chat, Dialect::openai, true, "openai_error.sse"},
    {Call::ollama_chat, Dialect::anthropic, true, "anthropic_text.sse"},
    {Call::ollama_chat, Dialect::anthropic, true, "anthropic_tools.sse"},
    {Call::ollama_chat, Dialect::anthropic, true, "anthropic_error.sse"},
    {Call::ollama_generate, Dialect::openai, true, "openai_text.sse"},
    {Call::ollama_generate, Dialect::anthropic, true, "anthropic_text.sse"},
    {Call::openai_chat, Dialect::anthropic, true, "anthropic_text.sse"},
    {Call::openai_chat, Dialect::anthropic, true, "anthropic_tools.sse"},
    {Call::openai_chat, Dialect::anthropic, true, "anthropic_error.sse"},
    {Call::anthropic_messages, Dialect::ollama, true, "ollama_chat.ndjson"},
    {Call::anthropic_messages, Dialect::ollama, true, "ollama_tools.ndjson"},
    {Call::anthropic_messages, Dialect::ollama, true, "ollama_thinking.ndjson"},
    {Call::anthropic_messages, Dialect::ollama, true, "ollama_error.ndjson"},
    {Call::anthropic_messages, Dialect::openai, true, "openai_text.sse"},
    {Call::anthropic_messages, Dialect::openai, true, "openai_tools.sse"},
    {Call::anthropic_messages, Dialect::openai, true, "openai_error.sse"},
    {Call::ollama_chat, Dialect::openai, false, "openai_text.json"},
    {Call::ollama_chat, Dialect::openai, false, "openai_tools.json"},
    {Call::ollama_chat, Dialect::anthropic, false, "anthropic_text.json"},
    {Call::ollama_chat, Dialect::anthropic, false, "anthropic_tools.json"},
    {Call::ollama_generate, Dialect::anthropic, false, "anthropic_text.json"},
    {Call::openai_chat, Dialect::anthropic, false, "anthropic_tools.json"},
    {Call::anthropic_messages, Dialect::ollama, false, "ollama_chat.json"},
    {Call::anthropic_messages, Dialect::openai, false, "openai_tools.json"},
};

std::string name(const Pair& p) {
  return std::string(call_name(p.client)) + "<-" + std::string(dialect_name(p.backend)) + " " + p.fixture;
}

// What an OpenAI client assembles from a stream: text, tool calls, finish reason, usage.
struct OpenAiAnswer {
  std::string text, finish;
  std::vector<std::array<std::string, 3>> calls;  // id, name, arguments
  int64_t prompt = -1, completion = -1;
  bool done = false;
};

OpenAiAnswer read_openai_stream(const std::string& out) {
  OpenAiAnswer a;
  for (const Sse& ev : sse_events(out)) {
    EXPECT_FALSE(a.done) << "data after [DONE]";
    if (ev.data == "[DONE]") {
      a.done = true;
      continue;
    }
    Json j(ev.data);
    EXPECT_EQ(str(j["object"]), "chat.completion.chunk");
    EXPECT_EQ(str(j["model"]), "client-model");
    simdjson::dom::element usage;
    if (j["usage"].get(usage) == simdjson::SUCCESS) {
      a.prompt = int64_t(usage["prompt_tokens"]);
      a.completion = int64_t(usage["completion_tokens"]);
    }
    simdjson::dom::array choices = j["choices"];
    if (choices.size() == 0) continue;
    simdjson::dom::element c = choices.at(0), d = c["delta"];
    std::string_view s;
    if (d["content"].get(s) == simdjson::SUCCESS) a.text += s;
    simdjson::dom::array calls;
    if (d["tool_calls"].get(calls) == simdjson::SUCCESS) {
      for (simdjson::dom::element tc : calls) {
        size_t index = size_t(int64_t(tc["index"]));
        if (index == a.calls.size()) a.calls.push_back({str(tc["id"]), str(tc["function"]["name"]), ""});
        a.calls.at(index)[2] += str(tc["function"]["arguments"]);
      }
    }
    if (c["finish_reason"].get(s) == simdjson::SUCCESS) a.finish = s;
  }
  return a;
}

// What an Anthropic client assembles: blocks in order (type, text or input), stop reason, usage.
struct AnthropicAnswer {
  std::vector<std::pair<std::string, std::string>> blocks;
  std::vector<std::string> tool_ids;
  std::string stop_reason, error_type, error;
  int64_t input = -1, output = -1;
  bool stopped = false;
};

AnthropicAnswer read_anthropic_stream(const std::string& out) {
  AnthropicAnswer a;
  int64_t open = -1;
  for (const Sse& ev : sse_events(out)) {
    Json j(ev.data);
    EXPECT_EQ(str(j["type"]), ev.event);
    if (ev.event == "message_start") {
      EXPECT_EQ(str(j["message"]["model"]), "client-model");
      EXPECT_EQ(str(j["message"]["id"]).substr(0, 4), "msg_");
    } else if (ev.event == "content_block_start") {
      EXPECT_EQ(open, -1) << "blocks overlap";
      open = int64_t(j["index"]);
      EXPECT_EQ(open, int64_t(a.blocks.size()));
      std::string type = str(j["content_block"]["type"]);
      a.blocks.emplace_back(type, "");
      if (type == "tool_use") a.tool_ids.push_back(str(j["content_block"]["id"]));
    } else if (ev.event == "content_block_delta") {
      EXPECT_EQ(int64_t(j["index"]), open);
      simdjson::dom::element d = j["delta"];
      std::string type = str(d["type"]);
      std::string_view field = type == "text_delta" ? "text" : type == "thinking_delta" ? "thinking" : "partial_json";
      a.blocks.back().second += str(d[field]);
    } else if (ev.event == "content_block_stop") {
      EXPECT_EQ(int64_t(j["index"]), open);
      open = -1;
    } else if (ev.event == "message_delta") {
      a.stop_reason = str(j["delta"]["stop_reason"]);
      a.input = int64_t(j["usage"]["input_tokens"]);
      a.output = int64_t(j["usage"]["output_tokens"]);
    } else if (ev.event == "message_stop") {
      a.stopped = true;
    } else if (ev.event == "error") {
      a.error_type = str(j["error"]["type"]);
      a.error = str(j["error"]["message"]);
    }
  }
  return a;
}

}  // namespace

TEST(TranslateResponse, OutputDoesNotDependOnTheSplit) {
  for (const Pair& p : kPairs) {
    const std::string body = fixture(p.fixture);
    ASSERT_FALSE(body.empty()) << p.fixture;
    Translated whole = run(p.client, p.backend, p.stream, body, 0, true);
    ASSERT_FALSE(whole.out.empty()) << name(p);
    for (size_t split = 1; split < body.size(); ++split) {
      Translated parts = run(p.client, p.backend, p.stream, body, split, true);
      ASSERT_EQ(parts.out, whole.out) << name(p) << " split at byte " << split;
      ASSERT_EQ(parts.failed, whole.failed) << name(p) << " split at byte " << split;
    }
    TestClock clock;  // one byte at a time
    auto t = make_response_translator(p.client, p.backend, p.stream, "client-model", clock, true);
    std::string out;
    for (char c : body) t->feed(std::string_view(&c, 1), out);
    t->finish(out);
    EXPECT_EQ(out, whole.out) << name(p) << " byte by byte";
  }
}

TEST(TranslateResponse, OpenAIStreamToOllamaChat) {
  Translated r = run(Call::ollama_chat, Dialect::openai, true, fixture("openai_text.sse"));
  EXPECT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.content_type, "application/x-ndjson");
  const std::string head = R"({"model":"client-model","created_at":")" + std::string(kIso) + R"(","message":)";
  EXPECT_EQ(r.out, head +
                       R"({"role":"assistant","content":"The"},"done":false})"
                       "\n" +
                       head +
                       R"({"role":"assistant","content":" sky"},"done":false})"
                       "\n" +
                       head +
                       R"({"role":"assistant","content":" is \"blue\""},"done":false})"
                       "\n" +
                       head +
                       R"({"role":"assistant","content":"\n"},"done":false})"
                       "\n" +
                       head +
                       R"({"role":"assistant","content":"— café ☕."},"done":false})"
                       "\n" +
                       head +
                       R"({"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":0,)"
                       R"("load_duration":0,"prompt_eval_count":19,"prompt_eval_duration":0,"eval_count":10,)"
                       R"("eval_duration":0})"
                       "\n");
  EXPECT_EQ(r.usage.prompt_tokens, 19);
  EXPECT_EQ(r.usage.completion_tokens, 10);
  EXPECT_EQ(r.usage.done_reason, "stop");
}

TEST(TranslateResponse, OpenAIToolFragmentsBecomeWholeOllamaToolCalls) {
  Translated r = run(Call::ollama_chat, Dialect::openai, true, fixture("openai_tools.sse"));
  ASSERT_FALSE(r.failed) << r.error;
  std::vector<std::string> ls = lines(r.out);
  ASSERT_EQ(ls.size(), 3u) << r.out;
  Json first(ls[0]), second(ls[1]), last(ls[2]);
  EXPECT_EQ(min(first["message"]["tool_calls"]),
            R"([{"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","function":{"index":0,"name":"get_weather",)"
            R"("arguments":{"location":"Paris, France"}}}])");
  EXPECT_EQ(min(second["message"]["tool_calls"]),
            R"([{"id":"call_Xz2Vt8e6","function":{"index":1,"name":"get_time","arguments":{"tz":"Europe/Paris"}}}])");
  EXPECT_TRUE(bool(last["done"]));
  EXPECT_EQ(str(last["done_reason"]), "stop");  // Ollama says stop after tool calls
  EXPECT_EQ(int64_t(last["prompt_eval_count"]), 82);
  EXPECT_EQ(int64_t(last["eval_count"]), 41);
  EXPECT_EQ(r.usage.done_reason, "tool_calls");
}

TEST(TranslateResponse, AnthropicStreamToOllamaChatAndGenerate) {
  Translated chat = run(Call::ollama_chat, Dialect::anthropic, true, fixture("anthropic_tools.sse"));
  ASSERT_FALSE(chat.failed) << chat.error;
  std::vector<std::string> ls = lines(chat.out);
  ASSERT_EQ(ls.size(), 4u) << chat.out;
  EXPECT_EQ(str(Json(ls[0])["message"]["content"]) + str(Json(ls[1])["message"]["content"]),
            "Okay, let's check the weather for San Francisco, CA:");
  EXPECT_EQ(min(Json(ls[2])["message"]["tool_calls"]),
            R"([{"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","function":{"index":0,"name":"get_weather",)"
            R"("arguments":{"location":"San Francisco, CA","unit":"fahrenheit"}}}])");
  Json done(ls[3]);
  EXPECT_EQ(int64_t(done["prompt_eval_count"]), 480);  // 472 fresh + 8 read from the cache
  EXPECT_EQ(int64_t(done["eval_count"]), 89);
  EXPECT_EQ(chat.usage.prompt_tokens, 480);
  EXPECT_EQ(chat.usage.completion_tokens, 89);

  Translated gen = run(Call::ollama_generate, Dialect::anthropic, true, fixture("anthropic_text.sse"));
  ASSERT_FALSE(gen.failed) << gen.error;
  std::string text;
  std::vector<std::string> gl = lines(gen.out);
  for (size_t i = 0; i + 1 < gl.size(); ++i) text += str(Json(gl[i])["response"]);
  EXPECT_EQ(text, "Hello! The sky is \"blue\"\n— café ☕.");
  Json last(gl.back());
  EXPECT_EQ(str(last["response"]), "");
  EXPECT_EQ(str(last["done_reason"]), "stop");
  EXPECT_EQ(int64_t(last["prompt_eval_count"]), 25);
  EXPECT_EQ(int64_t(last["eval_count"]), 15);
  EXPECT_EQ(last["message"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(TranslateResponse, DurationsComeFromTheClock) {
  const std::string body = fixture("anthropic_text.sse");
  size_t first_delta = body.find("event: content_block_delta");
  TestClock clock;
  clock.mono = 1000;
  auto t = make_response_translator(Call::ollama_chat, Dialect::anthropic, true, "m", clock);
  std::string out;
  clock.mono = 2000;
  t->feed(std::string_view(body).substr(0, first_delta), out);
  clock.mono = 3000;  // the first token arrives
  t->feed(std::string_view(body).substr(first_delta, 10), out);
  t->feed(std::string_view(body).substr(first_delta + 10, 200), out);
  clock.mono = 9000;
  t->feed(std::string_view(body).substr(first_delta + 210), out);
  t->finish(out);
  const Usage& u = t->usage();
  EXPECT_EQ(u.total_duration_ns, 8000);
  EXPECT_EQ(u.load_duration_ns, 0);
  EXPECT_EQ(u.prompt_eval_duration_ns, 2000);
  EXPECT_EQ(u.eval_duration_ns, 6000);
  Json done(lines(out).back());
  EXPECT_EQ(int64_t(done["total_duration"]), 8000);
  EXPECT_EQ(int64_t(done["load_duration"]), 0);
  EXPECT_EQ(int64_t(done["prompt_eval_duration"]), 2000);
  EXPECT_EQ(int64_t(done["eval_duration"]), 6000);
}

TEST(TranslateResponse, AnthropicStreamToOpenAIChat) {
  Translated with = run(Call::openai_chat, Dialect::anthropic, true, fixture("anthropic_tools.sse"), 0, true);
  ASSERT_FALSE(with.failed) << with.error;
  EXPECT_EQ(with.content_type, "text/event-stream");
  OpenAiAnswer a = read_openai_stream(with.out);
  EXPECT_TRUE(a.done);
  EXPECT_EQ(a.text, "Okay, let's check the weather for San Francisco, CA:");
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].at(0), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(a.calls[0].at(1), "get_weather");
  EXPECT_EQ(a.calls[0].at(2), R"({"location": "San Francisco, CA", "unit": "fahrenheit"})");
  EXPECT_EQ(a.finish, "tool_calls");
  EXPECT_EQ(a.prompt, 480);
  EXPECT_EQ(a.completion, 89);

  Translated without = run(Call::openai_chat, Dialect::anthropic, true, fixture("anthropic_text.sse"), 0, false);
  OpenAiAnswer b = read_openai_stream(without.out);
  EXPECT_EQ(b.text, "Hello! The sky is \"blue\"\n— café ☕.");
  EXPECT_EQ(b.finish, "stop");
  EXPECT_EQ(b.prompt, -1);  // no usage chunk unless the client asked
  EXPECT_TRUE(b.done);
  EXPECT_EQ(without.usage.prompt_tokens, 25);
  std::vector<Sse> evs = sse_events(without.out);
  EXPECT_EQ(evs.front().data,
            R"({"id":"chatcmpl-msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","object":"chat.completion.chunk",)"
            R"("created":1733000000,"model":"client-model","choices":[{"index":0,"delta":{"role":"assistant",)"
            R"("content":""},"logprobs":null,"finish_reason":null}]})");
}

TEST(TranslateResponse, OllamaStreamToAnthropic) {
  Translated r = run(Call::anthropic_messages, Dialect::ollama, true, fixture("ollama_tools.ndjson"));
  ASSERT_FALSE(r.failed) << r.error;
  const std::string id = "call_" + std::string(kSeed) + "_0";  // Ollama gave the call no id
  EXPECT_EQ(r.out, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_" +
                       std::string(kSeed) +
                       R"(","type":"message","role":"assistant","model":"client-model","content":[],)"
                       R"("stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}})"
                       "\n\nevent: content_block_start\ndata: "
                       R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":")" +
                       id +
                       R"(","name":"get_weather","input":{}}})"
                       "\n\nevent: content_block_delta\ndata: "
                       R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",)"
                       R"("partial_json":"{\"city\":\"Tokyo\"}"}})"
                       "\n\nevent: content_block_stop\ndata: "
                       R"({"type":"content_block_stop","index":0})"
                       "\n\nevent: message_delta\ndata: "
                       R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},)"
                       R"("usage":{"input_tokens":169,"output_tokens":15}})"
                       "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  EXPECT_EQ(r.usage.total_duration_ns, 182242375);  // Ollama's own durations
  EXPECT_EQ(r.usage.load_duration_ns, 41295167);
  EXPECT_EQ(r.usage.prompt_eval_duration_ns, 24573166);
  EXPECT_EQ(r.usage.eval_duration_ns, 115959084);

  AnthropicAnswer think = read_anthropic_stream(
      run(Call::anthropic_messages, Dialect::ollama, true, fixture("ollama_thinking.ndjson")).out);
  ASSERT_EQ(think.blocks.size(), 2u);
  EXPECT_EQ(think.blocks[0], (std::pair<std::string, std::string>{"thinking", "The user greets me."}));
  EXPECT_EQ(think.blocks[1], (std::pair<std::string, std::string>{"text", "Hi there!"}));
  EXPECT_EQ(think.stop_reason, "max_tokens");
  EXPECT_EQ(think.input, 11);
  EXPECT_EQ(think.output, 7);
  EXPECT_TRUE(think.stopped);
}

TEST(TranslateResponse, OpenAIStreamToAnthropic) {
  Translated r = run(Call::anthropic_messages, Dialect::openai, true, fixture("openai_tools.sse"));
  ASSERT_FALSE(r.failed) << r.error;
  AnthropicAnswer a = read_anthropic_stream(r.out);
  ASSERT_EQ(a.blocks.size(), 2u);
  EXPECT_EQ(a.blocks[0], (std::pair<std::string, std::string>{"tool_use", R"({"location":"Paris, France"})"}));
  EXPECT_EQ(a.blocks[1], (std::pair<std::string, std::string>{"tool_use", R"({"tz":"Europe/Paris"})"}));
  EXPECT_EQ(a.tool_ids, (std::vector<std::string>{"call_DdmO9pD3xa9XTPNJ32zg2hcA", "call_Xz2Vt8e6"}));
  EXPECT_EQ(a.stop_reason, "tool_use");
  EXPECT_EQ(a.input, 82);
  EXPECT_EQ(a.output, 41);
  EXPECT_TRUE(a.stopped);

  AnthropicAnswer t =
      read_anthropic_stream(run(Call::anthropic_messages, Dialect::openai, true, fixture("openai_text.sse")).out);
  ASSERT_EQ(t.blocks.size(), 1u);
  EXPECT_EQ(t.blocks[0].second, "The sky is \"blue\"\n— café ☕.");
  EXPECT_EQ(t.stop_reason, "end_turn");
}

TEST(TranslateResponse, NotStreamedAnswers) {
  Translated a = run(Call::ollama_chat, Dialect::openai, false, fixture("openai_text.json"));
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_EQ(a.out, R"({"model":"client-model","created_at":")" + std::string(kIso) +
                       R"(","message":{"role":"assistant","content":"Hello! How can I assist you today?"},)"
                       R"("done":true,"done_reason":"stop","total_duration":0,"load_duration":0,)"
                       R"("prompt_eval_count":19,)"
                       R"("prompt_eval_duration":0,"eval_count":10,"eval_duration":0})");

  Translated b = run(Call::openai_chat, Dialect::anthropic, false, fixture("anthropic_tools.json"));
  EXPECT_EQ(b.out, R"({"id":"chatcmpl-msg_01Aq9w938a90dw8q","object":"chat.completion","created":1733000000,)"
                   R"("model":"client-model","choices":[{"index":0,"message":{"role":"assistant","content":)"
                   R"("I'll check the current weather in San Francisco for you.","tool_calls":[{"id":)"
                   R"("toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather",)"
                   R"("arguments":"{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"}}],"refusal":null},)"
                   R"("logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":384,)"
                   R"("completion_tokens":61,"total_tokens":445}})");

  Translated c = run(Call::anthropic_messages, Dialect::ollama, false, fixture("ollama_chat.json"));
  EXPECT_EQ(c.out, R"({"id":"msg_)" + std::string(kSeed) +
                       R"(","type":"message","role":"assistant","model":"client-model","content":[{"type":"tool_use",)"
                       R"("id":"call_)" +
                       std::string(kSeed) +
                       R"(_0","name":"get_current_weather","input":{"format":"celsius","location":"Paris, FR"}}],)"
                       R"("stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":122,)"
                       R"("output_tokens":33}})");

  Json d(run(Call::anthropic_messages, Dialect::openai, false, fixture("openai_tools.json")).out);
  EXPECT_EQ(min(d["content"]), R"([{"type":"tool_use","id":"call_abc123","name":"get_current_weather",)"
                               R"("input":{"location":"Boston, MA"}}])");

  Json e(run(Call::ollama_chat, Dialect::anthropic, false, fixture("anthropic_tools.json")).out);
  EXPECT_EQ(str(e["message"]["content"]), "I'll check the current weather in San Francisco for you.");
  EXPECT_EQ(min(e["message"]["tool_calls"].at(0)["function"]["arguments"]), R"({"location":"San Francisco, CA",)"
                                                                            R"("unit":"celsius"})");
  EXPECT_EQ(int64_t(e["prompt_eval_count"]), 384);

  Json f(run(Call::ollama_generate, Dialect::anthropic, false, fixture("anthropic_text.json")).out);
  EXPECT_EQ(str(f["response"]), "Hi! My name is Claude.");
  EXPECT_EQ(int64_t(f["eval_count"]), 503);
}

TEST(TranslateResponse, UpstreamErrorsMidStreamReachTheClientInItsShape) {
  Translated o = run(Call::ollama_chat, Dialect::anthropic, true, fixture("anthropic_error.sse"));
  EXPECT_TRUE(o.failed);
  EXPECT_EQ(o.error, "Overloaded");
  std::vector<std::string> ls = lines(o.out);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(str(Json(ls[0])["message"]["content"]), "Hel");
  EXPECT_EQ(ls[1], R"({"error":"Overloaded"})");

  Translated a = run(Call::anthropic_messages, Dialect::openai, true, fixture("openai_error.sse"));
  EXPECT_TRUE(a.failed);
  AnthropicAnswer aa = read_anthropic_stream(a.out);
  EXPECT_EQ(aa.error_type, "api_error");
  EXPECT_EQ(aa.error, "The server had an error while processing your request. Sorry about that!");
  EXPECT_FALSE(aa.stopped);

  Translated b = run(Call::anthropic_messages, Dialect::ollama, true, fixture("ollama_error.ndjson"));
  AnthropicAnswer ba = read_anthropic_stream(b.out);
  EXPECT_TRUE(b.failed);
  EXPECT_EQ(ba.error, "an error was encountered while running the model: unexpected EOF");

  Translated c = run(Call::openai_chat, Dialect::anthropic, true, fixture("anthropic_error.sse"));
  std::vector<Sse> evs = sse_events(c.out);
  EXPECT_EQ(evs.back().data, R"({"error":{"message":"Overloaded","type":"overloaded_error","param":null,)"
                             R"("code":null}})");
  EXPECT_TRUE(c.failed);
}

TEST(TranslateResponse, TruncatedOrBrokenStreamsFail) {
  std::string body = fixture("anthropic_text.sse");
  body.resize(body.find("event: message_delta"));
  Translated t = run(Call::ollama_chat, Dialect::anthropic, true, body);
  EXPECT_TRUE(t.failed);
  EXPECT_EQ(lines(t.out).back(), R"({"error":"the backend's answer ended before it was complete"})");

  Translated broken = run(Call::anthropic_messages, Dialect::openai, true, "data: {\"choices\":[\n\n");
  EXPECT_TRUE(broken.failed);
  EXPECT_EQ(broken.error, "the backend sent invalid JSON");

  std::string extra = fixture("openai_text.sse") + "data: {not json}\n\n";
  Translated after = run(Call::ollama_chat, Dialect::openai, true, extra);
  EXPECT_FALSE(after.failed);  // bytes after [DONE] are ignored

  std::string no_done = fixture("openai_text.sse");
  no_done.resize(no_done.find("data: [DONE]"));
  Translated nd = run(Call::ollama_chat, Dialect::openai, true, no_done);
  EXPECT_FALSE(nd.failed) << nd.error;  // finish_reason seen: a server that omits [DONE] still ended
  EXPECT_EQ(nd.usage.completion_tokens, 10);
}

TEST(TranslateResponse, OpenAICompatibleServersThatOmitTheToolIndex) {
  const std::string body =
      R"(data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","type":"function",)"
      R"("function":{"name":"f","arguments":"{\"n\":1}"}}]},"finish_reason":null}]})"
      "\n\n"
      R"(data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","type":"function",)"
      R"("function":{"name":"g","arguments":"{\"n\":"}}]},"finish_reason":null}]})"
      "\n\n"
      R"(data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"2}"}}]},)"
      R"("finish_reason":"tool_calls"}]})"
      "\n\ndata: [DONE]\n\n";
  Translated r = run(Call::ollama_chat, Dialect::openai, true, body);
  ASSERT_FALSE(r.failed) << r.error;
  std::vector<std::string> ls = lines(r.out);
  ASSERT_EQ(ls.size(), 3u) << r.out;
  EXPECT_EQ(min(Json(ls[0])["message"]["tool_calls"]),
            R"([{"id":"a","function":{"index":0,"name":"f","arguments":{"n":1}}}])");
  EXPECT_EQ(min(Json(ls[1])["message"]["tool_calls"]),
            R"([{"id":"b","function":{"index":1,"name":"g","arguments":{"n":2}}}])");
}

TEST(TranslateResponse, ToolCallRoundTripOllamaClientOpenAIBackend) {
  Translated r = run(Call::ollama_chat, Dialect::openai, true, fixture("openai_tools.sse"));
  std::vector<std::string> ls = lines(r.out);
  ASSERT_GE(ls.size(), 2u);
  // The client appends the calls it got and their results, and asks again.
  std::string calls =
      min(Json(ls[0])["message"]["tool_calls"].at(0)) + "," + min(Json(ls[1])["message"]["tool_calls"].at(0));
  std::string req = R"({"model":"m","messages":[{"role":"user","content":"weather and time in Paris"},)"
                    R"({"role":"assistant","content":"","tool_calls":[)" +
                    calls +
                    R"(]},)"
                    R"({"role":"tool","content":"18C","tool_name":"get_weather"},)"
                    R"({"role":"tool","content":"14:00","tool_name":"get_time"}]})";
  UpstreamRequest up;
  std::string err;
  ASSERT_TRUE(translate_request(Call::ollama_chat, Dialect::openai, req, RequestOptions{"gpt"}, up, err)) << err;
  Json j(up.body);
  EXPECT_EQ(min(j["messages"].at(1)["tool_calls"]),
            R"([{"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather",)"
            R"("arguments":"{\"location\":\"Paris, France\"}"}},{"id":"call_Xz2Vt8e6","type":"function",)"
            R"("function":{"name":"get_time","arguments":"{\"tz\":\"Europe/Paris\"}"}}])");
  EXPECT_EQ(str(j["messages"].at(2)["tool_call_id"]), "call_DdmO9pD3xa9XTPNJ32zg2hcA");
  EXPECT_EQ(str(j["messages"].at(3)["tool_call_id"]), "call_Xz2Vt8e6");
}

TEST(TranslateResponse, ToolCallRoundTripAnthropicClientOllamaBackend) {
  AnthropicAnswer a =
      read_anthropic_stream(run(Call::anthropic_messages, Dialect::ollama, true, fixture("ollama_tools.ndjson")).out);
  ASSERT_EQ(a.tool_ids.size(), 1u);
  std::string req = R"({"model":"m","max_tokens":100,"messages":[{"role":"user","content":"weather in Tokyo?"},)"
                    R"({"role":"assistant","content":[{"type":"tool_use","id":")" +
                    a.tool_ids[0] + R"(","name":"get_weather","input":)" + a.blocks[0].second +
                    R"(}]},)"
                    R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" +
                    a.tool_ids[0] + R"(","content":"rainy"}]}]})";
  UpstreamRequest up;
  std::string err;
  ASSERT_TRUE(translate_request(Call::anthropic_messages, Dialect::ollama, req, RequestOptions{"llama3.2"}, up, err))
      << err;
  Json j(up.body);
  EXPECT_EQ(min(j["messages"].at(1)["tool_calls"].at(0)["function"]["arguments"]), R"({"city":"Tokyo"})");
  EXPECT_EQ(min(j["messages"].at(2)),
            R"({"role":"tool","content":"rainy","tool_name":"get_weather","tool_call_id":")" + a.tool_ids[0] + R"("})");
}

TEST(TranslateResponse, ImagesSurviveTheRoundTrip) {
  const std::string png =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
  const std::string gif = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  const std::string webp = "UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=";
  const std::string ollama = R"({"model":"m","messages":[{"role":"user","content":"compare","images":[")" + png +
                             R"(",")" + gif + R"(",")" + webp + R"("]}]})";
  UpstreamRequest to_anthropic, back, to_openai, openai_to_anthropic;
  std::string err;
  ASSERT_TRUE(translate_request(Call::ollama_chat, Dialect::anthropic, ollama, {"c"}, to_anthropic, err)) << err;
  Json a(to_anthropic.body);
  EXPECT_EQ(str(a["messages"].at(0)["content"].at(1)["source"]["media_type"]), "image/png");
  EXPECT_EQ(str(a["messages"].at(0)["content"].at(2)["source"]["media_type"]), "image/gif");
  EXPECT_EQ(str(a["messages"].at(0)["content"].at(3)["source"]["media_type"]), "image/webp");
  // The Anthropic body is itself an Anthropic request: back to Ollama, the same images.
  ASSERT_TRUE(translate_request(Call::anthropic_messages, Dialect::ollama, to_anthropic.body, {"m"}, back, err)) << err;
  EXPECT_EQ(min(Json(back.body)["messages"].at(0)["images"]), "[\"" + png + "\",\"" + gif + "\",\"" + webp + "\"]");
  // Through OpenAI's data URLs to Anthropic's base64 sources.
  ASSERT_TRUE(translate_request(Call::ollama_chat, Dialect::openai, ollama, {"g"}, to_openai, err)) << err;
  EXPECT_EQ(str(Json(to_openai.body)["messages"].at(0)["content"].at(2)["image_url"]["url"]),
            "data:image/gif;base64," + gif);
  ASSERT_TRUE(translate_request(Call::openai_chat, Dialect::anthropic, to_openai.body, {"c"}, openai_to_anthropic, err))
      << err;
  EXPECT_EQ(min(Json(openai_to_anthropic.body)["messages"]), min(a["messages"]));

  const std::string unknown = R"({"messages":[{"role":"user","content":"x","images":["AAAAAAAA"]}]})";
  UpstreamRequest out;
  EXPECT_FALSE(translate_request(Call::ollama_chat, Dialect::anthropic, unknown, {"c"}, out, err));
  EXPECT_NE(err.find("not png, jpeg, gif or webp"), std::string::npos) << err;
}

TEST(TranslateError, BackendErrorsInTheClientsShape) {
  const std::string openai429 =
      R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
  EXPECT_EQ(translate_error(Dialect::openai, Call::ollama_chat, 429, openai429), R"({"error":"Rate limit reached"})");
  EXPECT_EQ(translate_error(Dialect::openai, Call::anthropic_messages, 429, openai429),
            R"({"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached"}})");
  const std::string overloaded = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
  EXPECT_EQ(translate_error(Dialect::anthropic, Call::openai_chat, 529, overloaded),
            R"({"error":{"message":"Overloaded","type":"server_error","param":null,"code":null}})");
  EXPECT_EQ(translate_error(Dialect::anthropic, Call::ollama_generate, 400,
                            R"({"type":"error","error":{"type":"invalid_request_error",)"
                            R"("message":"max_tokens: required"}})"),
            R"({"error":"max_tokens: required"})");
  EXPECT_EQ(translate_error(Dialect::ollama, Call::anthropic_messages, 404,
                            R"({"error":"model \"x\" not found, try pulling it first"})"),
            R"({"type":"error","error":{"type":"not_found_error","message":"model \"x\" not found,)"
            R"( try pulling it first"}})");
  EXPECT_EQ(translate_error(Dialect::openai, Call::ollama_chat, 502, "<html>Bad gateway</html>\n"),
            R"({"error":"the backend answered 502: <html>Bad gateway</html> "})");
  EXPECT_EQ(translate_error(Dialect::openai, Call::anthropic_messages, 400,
                            R"({"object":"error","message":"bad",)"
                            R"("type":"BadRequestError","code":400})"),
            R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})");  // vLLM's shape
}

TEST(TranslateModels, HostedListsBecomeTagsAndOpenAIItems) {
  const std::string openai = R"({"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,)"
                             R"("owned_by":"system"}]})";
  std::string out, err;
  ASSERT_TRUE(models_to_ollama_tags(Dialect::openai, openai, out, err)) << err;
  EXPECT_EQ(out, R"({"models":[{"name":"gpt-4o","model":"gpt-4o","modified_at":"2024-05-10T18:50:49.000Z","size":0,)"
                 R"("digest":"","details":{"parent_model":"","format":"","family":"","families":null,)"
                 R"("parameter_size":"","quantization_level":""}}]})");
  out.clear();
  ASSERT_TRUE(models_to_openai_list(Dialect::openai, openai, out, err));
  EXPECT_EQ(out, R"({"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,)"
                 R"("owned_by":"system"}]})");

  const std::string anthropic = R"({"data":[{"type":"model","id":"claude-sonnet-4-20250514","display_name":)"
                                R"("Claude Sonnet 4","created_at":"2025-05-22T00:00:00Z"}],"has_more":false,)"
                                R"("first_id":"claude-sonnet-4-20250514","last_id":"claude-sonnet-4-20250514"})";
  out.clear();
  ASSERT_TRUE(models_to_openai_list(Dialect::anthropic, anthropic, out, err));
  EXPECT_EQ(out, R"({"object":"list","data":[{"id":"claude-sonnet-4-20250514","object":"model","created":1747872000,)"
                 R"("owned_by":"anthropic"}]})");
  out.clear();
  ASSERT_TRUE(models_to_ollama_tags(Dialect::anthropic, anthropic, out, err));
  EXPECT_EQ(str(Json(out)["models"].at(0)["modified_at"]), "2025-05-22T00:00:00.000Z");

  const std::string tags = R"({"models":[{"name":"codellama:13b","modified_at":"2023-11-04T14:56:49.277302595-07:00",)"
                           R"("size":7365960935,"digest":"9f43"},{"name":"me/tuned:latest","modified_at":"x"}]})";
  out.clear();
  ASSERT_TRUE(models_to_openai_list(Dialect::ollama, tags, out, err));
  EXPECT_EQ(out, R"({"object":"list","data":[{"id":"codellama:13b","object":"model","created":1699135009,)"
                 R"("owned_by":"library"},{"id":"me/tuned:latest","object":"model","created":0,"owned_by":"me"}]})");
  out.clear();
  EXPECT_FALSE(models_to_ollama_tags(Dialect::openai, R"({"error":"nope"})", out, err));
  EXPECT_NE(err.find("\"data\""), std::string::npos);
}

// Found by fuzz-translate_response: a provider's negative token count came through as usage (and would
// reach metrics, analytics and tpm); it is no count at all.
TEST(TranslateResponse, NegativeTokenCountsAreNoCounts) {
  Translated o = run(Call::ollama_chat, Dialect::openai, false,
                     R"({"choices":[{"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],)"
                     R"("usage":{"prompt_tokens":-5,"completion_tokens":-7}})");
  EXPECT_EQ(o.usage.prompt_tokens, -1);
  EXPECT_EQ(o.usage.completion_tokens, -1);
  Translated a = run(Call::ollama_chat, Dialect::anthropic, false,
                     R"({"type":"message","role":"assistant","content":[{"type":"text","text":"x"}],)"
                     R"("stop_reason":"end_turn","usage":{"input_tokens":-3,"output_tokens":-9}})");
  EXPECT_EQ(a.usage.prompt_tokens, -1);
  EXPECT_EQ(a.usage.completion_tokens, -1);
}
