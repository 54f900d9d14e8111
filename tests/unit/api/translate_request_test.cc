// Request translation: every field each pair carries, and the fields that make
// it a 400 naming them.
#include <gtest/gtest.h>

#include "corral/api/translate.h"
#include "translate_helpers.h"

using namespace corral::api;
using corral::api::test::Json;
using corral::api::test::min;
using corral::api::test::str;

namespace {

// 1x1 PNG and the start of a JFIF JPEG, base64.
const std::string kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const std::string kJpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U";

UpstreamRequest translate_ok(Call from, Dialect to, const std::string& body, RequestOptions opts = {}) {
  if (opts.upstream_model.empty()) opts.upstream_model = "upstream-model";
  UpstreamRequest out;
  std::string err;
  EXPECT_TRUE(translate_request(from, to, body, opts, out, err)) << err;
  return out;
}

std::string translate_err(Call from, Dialect to, const std::string& body) {
  UpstreamRequest out;
  std::string err;
  EXPECT_FALSE(translate_request(from, to, body, RequestOptions{"m"}, out, err)) << out.body;
  return err;
}

}  // namespace

TEST(TranslateRequest, OllamaChatToOpenAICarriesEveryField) {
  const std::string body = R"({"model":"mini","stream":true,"keep_alive":"10m","format":"json",
    "options":{"temperature":0.2,"top_p":0.9,"seed":42,"num_predict":128,"stop":["\n\n","User:"],"num_ctx":8192,
               "num_gpu":1,"num_thread":8,"use_mmap":true,"presence_penalty":0.5,"frequency_penalty":0.25},
    "messages":[{"role":"system","content":"Be terse."},
      {"role":"user","content":"What is this?","images":[")" +
                           kPng + R"("]},
      {"role":"assistant","content":"A pixel."},
      {"role":"user","content":"Weather in Tokyo?"},
      {"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Tokyo"}}}]},
      {"role":"tool","content":"11 degrees","tool_name":"get_weather"}],
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]})";
  UpstreamRequest up = translate_ok(Call::ollama_chat, Dialect::openai, body);
  EXPECT_EQ(up.path, "/v1/chat/completions");
  EXPECT_TRUE(up.stream);
  EXPECT_FALSE(up.include_usage);  // the Ollama client wants no usage chunk; corral asks for one anyway
  Json j(up.body);
  EXPECT_EQ(str(j["model"]), "upstream-model");
  EXPECT_EQ(min(j["messages"].at(0)), R"({"role":"system","content":"Be terse."})");
  EXPECT_EQ(min(j["messages"].at(1)), R"({"role":"user","content":[{"type":"text","text":"What is this?"},)"
                                      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
                                          kPng + R"("}}]})");
  EXPECT_EQ(min(j["messages"].at(2)), R"({"role":"assistant","content":"A pixel."})");
  EXPECT_EQ(min(j["messages"].at(4)), R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_4_0",)"
                                      R"("type":"function","function":{"name":"get_weather",)"
                                      R"("arguments":"{\"city\":\"Tokyo\"}"}}]})");
  EXPECT_EQ(min(j["messages"].at(5)), R"({"role":"tool","tool_call_id":"call_4_0","content":"11 degrees"})");
  EXPECT_EQ(min(j["stream_options"]), R"({"include_usage":true})");
  EXPECT_EQ(int64_t(j["max_tokens"]), 128);
  EXPECT_EQ(min(j["temperature"]), "0.2");
  EXPECT_EQ(min(j["top_p"]), "0.9");
  EXPECT_EQ(int64_t(j["seed"]), 42);
  EXPECT_EQ(min(j["presence_penalty"]), "0.5");
  EXPECT_EQ(min(j["frequency_penalty"]), "0.25");
  EXPECT_EQ(min(j["stop"]), R"(["\n\n","User:"])");
  EXPECT_EQ(min(j["response_format"]), R"({"type":"json_object"})");
  EXPECT_EQ(min(j["tools"]), R"([{"type":"function","function":{"name":"get_weather","description":"Weather",)"
                             R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},)"
                             R"("required":["city"]}}}])");
  for (const char* absent : {"keep_alive", "options", "num_ctx", "format", "think"}) {
    EXPECT_EQ(j[absent].error(), simdjson::NO_SUCH_FIELD) << absent;
  }
}

TEST(TranslateRequest, OllamaSchemaFormatAndNewerTokenField) {
  const std::string body = R"({"model":"m","stream":false,"messages":[{"role":"user","content":"age?"}],
    "format":{"type":"object","properties":{"age":{"type":"integer"}}},"options":{"num_predict":64}})";
  RequestOptions opts{"gpt-5"};
  opts.max_completion_tokens = true;
  UpstreamRequest up = translate_ok(Call::ollama_chat, Dialect::openai, body, opts);
  Json j(up.body);
  EXPECT_FALSE(up.stream);
  EXPECT_EQ(j["stream_options"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(int64_t(j["max_completion_tokens"]), 64);
  EXPECT_EQ(j["max_tokens"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(min(j["response_format"]), R"({"type":"json_schema","json_schema":{"name":"response",)"
                                       R"("schema":{"type":"object","properties":{"age":{"type":"integer"}}}}})");
}

TEST(TranslateRequest, OllamaChatToAnthropic) {
  const std::string body = R"({"model":"m","stream":false,"keep_alive":-1,
    "messages":[{"role":"system","content":"Sys A"},{"role":"user","content":"Look","images":[")" +
                           kJpeg + R"("]},
      {"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},
      {"role":"tool","content":"done","tool_name":"f"},{"role":"user","content":"thanks"}],
    "options":{"temperature":0.5,"top_k":40,"stop":["END"],"num_ctx":4096}})";
  UpstreamRequest up = translate_ok(Call::ollama_chat, Dialect::anthropic, body, RequestOptions{"claude-x"});
  EXPECT_EQ(up.path, "/v1/messages");
  EXPECT_FALSE(up.stream);
  EXPECT_EQ(up.body, R"({"model":"claude-x","system":"Sys A","messages":[{"role":"user","content":[{"type":"text",)"
                     R"("text":"Look"},)"
                     R"({"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":")" +
                         kJpeg +
                         R"("}}]},{"role":"assistant","content":[{"type":"tool_use","id":"call_2_0","name":"f",)"
                         R"("input":{"x":1}}]},{"role":"user","content":[{"type":"tool_result",)"
                         R"("tool_use_id":"call_2_0",)"
                         R"("content":"done"},{"type":"text","text":"thanks"}]}],"max_tokens":4096,)"
                         R"("stop_sequences":["END"],"temperature":0.5,"top_k":40,"stream":false})");
}

TEST(TranslateRequest, AnthropicMaxTokensFromOptionsOrDefault) {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":77}})";
  Json a(translate_ok(Call::ollama_chat, Dialect::anthropic, body).body);
  EXPECT_EQ(int64_t(a["max_tokens"]), 77);
  EXPECT_TRUE(bool(a["stream"]));  // Ollama streams unless told not to
  RequestOptions opts{"m"};
  opts.default_max_tokens = 1000;
  Json b(translate_ok(Call::ollama_chat, Dialect::anthropic, R"({"messages":[{"role":"user","content":"hi"}],
    "options":{"num_predict":-1}})",
                      opts)
             .body);
  EXPECT_EQ(int64_t(b["max_tokens"]), 1000);
}

TEST(TranslateRequest, OllamaGenerateBecomesAChat) {
  const std::string body =
      R"({"model":"m","prompt":"Why?","system":"Be brief","images":[")" + kPng + R"("],"options":{"num_predict":-1}})";
  UpstreamRequest oa = translate_ok(Call::ollama_generate, Dialect::openai, body);
  EXPECT_TRUE(oa.stream);
  Json j(oa.body);
  EXPECT_EQ(min(j["messages"]), R"([{"role":"system","content":"Be brief"},{"role":"user","content":[{"type":"text",)"
                                R"("text":"Why?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
                                    kPng + R"("}}]}])");
  EXPECT_EQ(j["max_tokens"].error(), simdjson::NO_SUCH_FIELD);
  Json a(translate_ok(Call::ollama_generate, Dialect::anthropic, body).body);
  EXPECT_EQ(str(a["system"]), "Be brief");
  EXPECT_EQ(min(a["messages"]), R"([{"role":"user","content":[{"type":"text","text":"Why?"},{"type":"image",)"
                                R"("source":{"type":"base64","media_type":"image/png","data":")" +
                                    kPng + R"("}}]}])");
}

TEST(TranslateRequest, OpenAIToAnthropicCarriesEveryField) {
  const std::string body = R"({"model":"gpt","messages":[{"role":"developer","content":"Dev rules"},
    {"role":"system","content":[{"type":"text","text":"Sys"}]},
    {"role":"user","content":[{"type":"text","text":"Describe"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
                           kPng + R"(","detail":"low"}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\": \"cats\"}"}},
      {"id":"call_2","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"dogs\"}"}}]},
    {"role":"tool","tool_call_id":"call_1","content":"cats: 3"},
    {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"dogs: 5"}]}],
    "max_completion_tokens":256,"temperature":0.7,"top_p":0.95,"stop":"STOP","stream":true,
    "stream_options":{"include_usage":true},"n":1,"logprobs":false,
    "tools":[{"type":"function","function":{"name":"lookup","description":"Look up",
      "parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
    "tool_choice":"required","parallel_tool_calls":false,"user":"u-42"})";
  UpstreamRequest up = translate_ok(Call::openai_chat, Dialect::anthropic, body, RequestOptions{"claude-x"});
  EXPECT_TRUE(up.stream);
  EXPECT_TRUE(up.include_usage);
  EXPECT_EQ(up.body,
            R"({"model":"claude-x","system":"Dev rules\n\nSys","messages":[{"role":"user","content":[{"type":"text",)"
            R"("text":"Describe"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":")" +
                kPng +
                R"("}},{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]},)"
                R"({"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"lookup",)"
                R"("input":{"q":"cats"}},)"
                R"({"type":"tool_use","id":"call_2","name":"lookup","input":{"q":"dogs"}}]},{"role":"user","content":[)"
                R"({"type":"tool_result","tool_use_id":"call_1","content":"cats: 3"},{"type":"tool_result",)"
                R"("tool_use_id":"call_2","content":"dogs: 5"}]}],"max_tokens":256,"stop_sequences":["STOP"],)"
                R"("temperature":0.7,"top_p":0.95,"stream":true,"tools":[{"name":"lookup","description":"Look up",)"
                R"("input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],)"
                R"("tool_choice":{"type":"any","disable_parallel_tool_use":true},"metadata":{"user_id":"u-42"}})");
}

TEST(TranslateRequest, AnthropicToOllamaCarriesEveryField) {
  const std::string body = R"({"model":"claude-3-5","max_tokens":1024,
    "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
    "messages":[{"role":"user","content":[{"type":"text","text":"Read it"},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":")" +
                           kPng + R"("}}]},
      {"role":"assistant","content":[{"type":"thinking","thinking":"Use the tool.","signature":"sig"},
        {"type":"text","text":"Reading."},
        {"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"a.txt"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"no such file","is_error":true},
        {"type":"text","text":"Try again"}]}],
    "stop_sequences":["###"],"temperature":0.3,"top_p":0.8,"top_k":20,"stream":true,
    "tools":[{"name":"read_file","description":"Read a file","input_schema":{"type":"object",
      "properties":{"path":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}],
    "tool_choice":{"type":"auto"},"thinking":{"type":"enabled","budget_tokens":2048},
    "metadata":{"user_id":"user_abc"}})";
  UpstreamRequest up = translate_ok(Call::anthropic_messages, Dialect::ollama, body, RequestOptions{"qwen3"});
  EXPECT_EQ(up.path, "/api/chat");
  EXPECT_TRUE(up.stream);
  EXPECT_EQ(up.body,
            R"({"model":"qwen3","messages":[{"role":"system","content":"You are Claude Code."},{"role":"user",)"
            R"("content":"Read it","images":[")" +
                kPng +
                R"("]},{"role":"assistant","content":"Reading.","thinking":"Use the tool.",)"
                R"("tool_calls":[{"id":"toolu_1",)"
                R"("function":{"index":0,"name":"read_file","arguments":{"path":"a.txt"}}}]},{"role":"tool",)"
                R"("content":"Error: no such file","tool_name":"read_file","tool_call_id":"toolu_1"},{"role":"user",)"
                R"("content":"Try again"}],"tools":[{"type":"function","function":{"name":"read_file",)"
                R"("description":"Read a file","parameters":{"type":"object",)"
                R"("properties":{"path":{"type":"string"}}}}}],)"
                R"("stream":true,"think":true,"options":{"temperature":0.3,"top_p":0.8,"top_k":20,"num_predict":1024,)"
                R"("stop":["###"]}})");
}

TEST(TranslateRequest, AnthropicToOllamaNotStreamedAndNoTools) {
  const std::string body = R"({"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
    "tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"none"}})";
  UpstreamRequest up = translate_ok(Call::anthropic_messages, Dialect::ollama, body);
  EXPECT_FALSE(up.stream);
  Json j(up.body);
  EXPECT_FALSE(bool(j["stream"]));                         // Ollama would stream if not told
  EXPECT_EQ(j["tools"].error(), simdjson::NO_SUCH_FIELD);  // "none": no tool is offered
}

TEST(TranslateRequest, AnthropicToOpenAI) {
  const std::string body = R"({"model":"c","max_tokens":100,"system":"S","messages":[{"role":"user","content":"hi"},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_9","name":"calc","input":{"e":"1+1"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":[{"type":"text","text":"2"}]}]}],
    "tools":[{"name":"calc","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"calc"},
    "stream":false})";
  UpstreamRequest up = translate_ok(Call::anthropic_messages, Dialect::openai, body, RequestOptions{"gpt-4o"});
  EXPECT_EQ(up.body,
            R"({"model":"gpt-4o","messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"},)"
            R"({"role":"assistant","content":null,"tool_calls":[{"id":"toolu_9","type":"function","function":)"
            R"({"name":"calc","arguments":"{\"e\":\"1+1\"}"}}]},{"role":"tool","tool_call_id":"toolu_9",)"
            R"("content":"2"}],)"
            R"("stream":false,"max_tokens":100,"tools":[{"type":"function","function":{"name":"calc",)"
            R"("parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"calc"}}})");
}

TEST(TranslateRequest, NullFieldsMeanAbsent) {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi","name":null}],"seed":null,
    "tools":null,"tool_choice":null,"response_format":null,"stop":null,"stream_options":null,"logprobs":null})";
  Json j(translate_ok(Call::openai_chat, Dialect::anthropic, body).body);
  EXPECT_EQ(min(j["messages"]), R"([{"role":"user","content":[{"type":"text","text":"hi"}]}])");
  EXPECT_EQ(j["tools"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(TranslateRequest, ToolResultsFindTheirCallsByName) {
  const std::string body = R"({"messages":[{"role":"user","content":"both"},
    {"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}},
                                                   {"function":{"name":"g","arguments":{}}}]},
    {"role":"tool","content":"G","tool_name":"g"},{"role":"tool","content":"F","tool_name":"f"}]})";
  Json j(translate_ok(Call::ollama_chat, Dialect::openai, body).body);
  EXPECT_EQ(str(j["messages"].at(1)["tool_calls"].at(0)["id"]), "call_1_0");
  EXPECT_EQ(str(j["messages"].at(1)["tool_calls"].at(1)["id"]), "call_1_1");
  EXPECT_EQ(str(j["messages"].at(2)["tool_call_id"]), "call_1_1");
  EXPECT_EQ(str(j["messages"].at(3)["tool_call_id"]), "call_1_0");
  std::string err = translate_err(Call::ollama_chat, Dialect::openai,
                                  R"({"messages":[{"role":"tool",)"
                                  R"("content":"x"}]})");
  EXPECT_NE(err.find("answers no tool call"), std::string::npos) << err;
}

TEST(TranslateRequest, UntranslatableFieldsAreNamed) {
  struct Case {
    Call from;
    Dialect to;
    std::string body, expect;
  };
  const std::string msg = R"("messages":[{"role":"user","content":"hi"}])";
  const Case cases[] = {
      {Call::ollama_chat, Dialect::anthropic, R"({"options":{"seed":1}})",
       "options.seed cannot be expressed for an anthropic backend"},
      {Call::ollama_chat, Dialect::anthropic, R"({"format":"json"})", "format cannot be expressed for an anthropic"},
      {Call::ollama_chat, Dialect::anthropic, R"({"options":{"presence_penalty":1}})", "options.presence_penalty"},
      {Call::ollama_chat, Dialect::anthropic, R"({"options":{"temperature":1.5}})", "options.temperature 1.5"},
      {Call::ollama_chat, Dialect::anthropic, R"({"think":true})", "think cannot be expressed for an anthropic"},
      {Call::ollama_chat, Dialect::openai, R"({"options":{"top_k":40}})",
       "options.top_k cannot be expressed for an openai backend"},
      {Call::ollama_chat, Dialect::openai, R"({"options":{"repeat_penalty":1.1}})", "options.repeat_penalty cannot"},
      {Call::ollama_chat, Dialect::openai, R"({"options":{"mirostat":1}})", "options.mirostat cannot"},
      {Call::ollama_chat, Dialect::openai, R"({"think":true})", "think cannot be expressed for an openai"},
      {Call::ollama_chat, Dialect::openai, R"({"logprobs":true})", "logprobs cannot"},
      {Call::ollama_chat, Dialect::openai, R"({"unknown_field":1})", "unknown_field cannot"},
      {Call::ollama_chat, Dialect::openai, R"({"messages":[{"role":"user","content":"x","extra":1}]})",
       "messages[0].extra cannot"},
      {Call::ollama_generate, Dialect::openai, R"({"prompt":"x","suffix":"y"})", "suffix cannot"},
      {Call::ollama_generate, Dialect::anthropic, R"({"prompt":"x","raw":true})", "raw cannot"},
      {Call::ollama_generate, Dialect::openai, R"({"prompt":"x","template":"{{.Prompt}}"})", "template cannot"},
      {Call::ollama_generate, Dialect::openai, R"({"prompt":"x","context":[1,2]})", "context cannot"},
      {Call::ollama_generate, Dialect::openai, R"({"prompt":""})", "prompt cannot"},
      {Call::openai_chat, Dialect::anthropic, "{" + msg + R"(,"seed":3})",
       "seed cannot be expressed for an anthropic backend"},
      {Call::openai_chat, Dialect::anthropic, "{" + msg + R"(,"response_format":{"type":"json_object"}})",
       "response_format cannot be expressed"},
      {Call::openai_chat, Dialect::anthropic, "{" + msg + R"(,"n":2})", "n cannot"},
      {Call::openai_chat, Dialect::anthropic, "{" + msg + R"(,"logprobs":true})", "logprobs cannot"},
      {Call::openai_chat, Dialect::anthropic, "{" + msg + R"(,"reasoning_effort":"high"})",
       "reasoning_effort cannot be expressed"},
      {Call::openai_chat, Dialect::anthropic, "{" + msg + R"(,"frequency_penalty":0.1})", "frequency_penalty cannot"},
      {Call::openai_chat, Dialect::anthropic,
       R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f",)"
       R"("arguments":"not json"}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
      {Call::openai_chat, Dialect::anthropic,
       R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})", "input_audio"},
      {Call::openai_chat, Dialect::anthropic,
       R"({"tools":[{"type":"function","function":{"name":"f","strict":true}}]})", "tools[0].function.strict"},
      {Call::anthropic_messages, Dialect::ollama, "{" + msg + R"(,"tool_choice":{"type":"any"}})",
       "tool_choice cannot be expressed for an ollama backend"},
      {Call::anthropic_messages, Dialect::ollama,
       "{" + msg + R"(,"tool_choice":{"type":"auto","disable_parallel_tool_use":true}})",
       "tool_choice.disable_parallel_tool_use cannot"},
      {Call::anthropic_messages, Dialect::openai, "{" + msg + R"(,"thinking":{"type":"enabled","budget_tokens":2048}})",
       "thinking cannot be expressed for an openai backend"},
      {Call::anthropic_messages, Dialect::openai,
       "{" + msg +
           R"(,"top_k":5})"
           R"()",
       "top_k cannot be expressed for an openai"},
      {Call::anthropic_messages, Dialect::ollama,
       R"({"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]})", "document"},
      {Call::anthropic_messages, Dialect::ollama, R"({"tools":[{"type":"web_search_20250305","name":"web_search"}]})",
       "web_search_20250305"},
      {Call::anthropic_messages, Dialect::ollama,
       R"({"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]})",
       "image URL cannot be expressed for an ollama backend"},
      {Call::anthropic_messages, Dialect::openai, "{" + msg + R"(,"container":"c1"})", "container cannot"},
      {Call::ollama_chat, Dialect::openai, "{not json", "not valid JSON"},
      {Call::ollama_chat, Dialect::openai, "[1,2]", "not a JSON object"},
  };
  for (const Case& c : cases) {
    std::string err = translate_err(c.from, c.to, c.body);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.body << " -> " << err;
  }
}

TEST(TranslateRequest, SameDialectPairsPassThrough) {
  const std::string body = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"options":{"seed":1}})";
  EXPECT_FALSE(translates(Call::openai_chat, Dialect::ollama));
  EXPECT_FALSE(translates(Call::ollama_chat, Dialect::ollama));
  EXPECT_TRUE(translates(Call::anthropic_messages, Dialect::ollama));
  UpstreamRequest up = translate_ok(Call::openai_chat, Dialect::ollama, body);
  EXPECT_EQ(up.path, "/v1/chat/completions");
  EXPECT_EQ(up.body, body);
  EXPECT_FALSE(up.stream);
  UpstreamRequest ol = translate_ok(Call::ollama_chat, Dialect::ollama, body);
  EXPECT_EQ(ol.path, "/api/chat");
  EXPECT_EQ(ol.body, body);
  EXPECT_TRUE(ol.stream);
}

// Found by fuzz-translate_request: an empty body as a view without storage reached simdjson's copy as a null
// pointer (undefined behaviour); every pair now refuses an empty body as not JSON.
TEST(TranslateRequest, EmptyBodyIsRefusedAsNotJson) {
  for (Call from : {Call::ollama_chat, Call::ollama_generate, Call::openai_chat, Call::anthropic_messages}) {
    for (Dialect to : {Dialect::ollama, Dialect::openai, Dialect::anthropic}) {
      UpstreamRequest out;
      std::string err;
      EXPECT_FALSE(translate_request(from, to, std::string_view{}, RequestOptions{}, out, err));
      EXPECT_EQ(err, "request body is not valid JSON: empty");
    }
  }
}
