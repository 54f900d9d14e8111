// Translation between the Ollama, OpenAI and Anthropic chat APIs, as pure code
// (no I/O): a client's request body becomes the backend's, and the backend's
// answer — streamed chunk by chunk, never buffered whole — becomes the one the
// client expects. Pairs: ollama_chat/ollama_generate → openai, anthropic;
// openai_chat → anthropic; anthropic_messages → ollama (/api/chat), openai.
// Same-dialect pairs and openai_chat → ollama (Ollama serves
// /v1/chat/completions itself) need no translation (translates() is false).
//
// Every client field either reaches the backend in the backend's terms or
// translate_request fails naming it (the caller answers 400): seed, format,
// presence/frequency penalties or think to anthropic, top_k to openai,
// tool_choice required/named to ollama, sampling options the target lacks
// (options.min_p, repeat_penalty, mirostat …), generate's suffix/template/
// context/raw, n > 1, logprobs, unknown fields. Deliberate exceptions:
//  - kOllamaRuntimeOptions (translate_request.cc): settings that describe the
//    local Ollama server's resources — keep_alive, truncate, shift, options.num_ctx, num_batch,
//    num_gpu, main_gpu, num_thread, use_mmap, use_mlock, low_vram, f16_kv,
//    numa, vocab_only, logits_all, draft_num_predict — are not sent to hosted
//    backends (a hosted model has its own context and hardware).
//  - Hints that do not change the answer: Anthropic cache_control (on blocks,
//    system blocks and tools), OpenAI image_url.detail, and the end-user id
//    (OpenAI `user`, Anthropic metadata.user_id) when the target has no such
//    field (Ollama).
//  - Anthropic has one system prompt: system messages anywhere in an Ollama or
//    OpenAI conversation are joined into it (blank line between), in order.
//  - An assistant turn's past reasoning (Ollama `thinking`, Anthropic thinking
//    blocks) is not replayed to openai/anthropic backends: neither accepts
//    foreign reasoning as input (Anthropic requires its own signatures).
//  - A failed tool result (Anthropic is_error) reaches backends without that
//    flag as content prefixed "Error: ".
//  - Anthropic thinking {type: enabled, budget_tokens} becomes Ollama's
//    think: true (Ollama has no budget); tool_choice none to Ollama offers no tools.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "corral/api/endpoint.h"  // Dialect
#include "corral/api/final_stats.h"

namespace corral::api {

enum class Call : uint8_t { ollama_chat, ollama_generate, openai_chat, anthropic_messages };  // what the client called

std::string_view dialect_name(Dialect d);
std::string_view call_name(Call c);
Dialect dialect_of(Call c);
// False for pairs whose bodies pass through untouched.
bool translates(Call from, Dialect to);

// What an answer cost, for metrics, limits and analytics. Tokens as the backend
// reported them (-1 when it did not; Anthropic's input counts cache reads and
// writes). Durations are the backend's when it is Ollama, else measured on the
// translator's clock: creation → first token → finish (load_duration 0).
struct Usage {
  int64_t prompt_tokens = -1, completion_tokens = -1, total_duration_ns = -1, load_duration_ns = -1,
          prompt_eval_duration_ns = -1, eval_duration_ns = -1;
  std::string done_reason;  // finish_reason_name(): stop, length, tool_calls, stop_sequence, content_filter
};
// The same counts as the final-stats scan gives them (found when any token count is known), and back.
StreamStats stats_of(const Usage& u);
Usage usage_of(const StreamStats& st);

// Injectable time source; tests fix it.
struct Clock {
  virtual int64_t mono_ns() = 0;
  virtual int64_t wall_ns() = 0;  // Unix time

 protected:
  ~Clock() = default;
};
Clock& system_clock();

struct RequestOptions {
  std::string_view upstream_model;     // the real model name after alias resolution
  uint32_t default_max_tokens = 4096;  // Anthropic requires max_tokens; used when the client set none
  // OpenAI targets: send max_completion_tokens instead of max_tokens (api.openai.com's
  // reasoning models reject max_tokens; most OpenAI-compatible servers know only max_tokens).
  bool max_completion_tokens = false;
};

struct UpstreamRequest {
  std::string path;  // /v1/chat/completions, /v1/messages, /api/chat
  std::string body;
  bool stream = false;         // the upstream answer will be a stream
  bool include_usage = false;  // an OpenAI client asked for the usage chunk (stream_options.include_usage)
};

// Translates a complete client request body. False with `err` naming the field
// that cannot be expressed for the target (answer 400 with it) or the JSON problem.
// A pair that translates() nothing comes back as it was, on the client's own path.
bool translate_request(Call from, Dialect to, std::string_view body, const RequestOptions& opts, UpstreamRequest& out,
                       std::string& err);

// One per request, created when a 2xx response head arrives.
class ResponseTranslator {
 public:
  virtual ~ResponseTranslator() = default;
  // Backend body bytes (de-chunked), split anywhere; appends the client's body bytes.
  virtual void feed(std::string_view upstream_body_bytes, std::string& out) = 0;
  // The backend body is complete: the final done object / message_stop / [DONE]. A
  // backend that stopped before its answer ended makes this an error (failed()).
  virtual void finish(std::string& out) = 0;
  virtual const Usage& usage() const = 0;             // complete after finish()
  virtual std::string_view content_type() const = 0;  // application/x-ndjson, text/event-stream, application/json
  // The backend sent an error mid-answer or something unparseable; the client got its
  // error form (Ollama: a final {"error":"…"} line) and later input is ignored.
  virtual bool failed() const = 0;
  virtual std::string_view error() const = 0;
};

// `stream`: UpstreamRequest::stream. `client_model`: the name the client asked for;
// answers carry it. `include_usage`: UpstreamRequest::include_usage of the same request.
std::unique_ptr<ResponseTranslator> make_response_translator(Call client, Dialect backend, bool stream,
                                                             std::string_view client_model, Clock& clock,
                                                             bool include_usage = false);

// A backend's non-2xx answer in the client's error shape: Ollama {"error":"…"},
// OpenAI {"error":{"message","type","param","code"}}, Anthropic
// {"type":"error","error":{"type","message"}}. The status stays the backend's.
std::string translate_error(Dialect backend, Call client, int status, std::string_view body);

// A hosted backend's GET /v1/models body (OpenAI {"object":"list","data":[…]} or
// Anthropic {"data":[…],"has_more":…}) as an Ollama /api/tags body {"models":[…]}
// or an OpenAI list {"object":"list","data":[…]}, ready for the fan-out merge.
// False with `err` when the body is not such a list.
bool models_to_ollama_tags(Dialect backend, std::string_view body, std::string& out, std::string& err);
bool models_to_openai_list(Dialect backend, std::string_view body, std::string& out, std::string& err);

}  // namespace corral::api
