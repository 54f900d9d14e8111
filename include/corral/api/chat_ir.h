// The pivot between API dialects. Every request parser (Ollama chat and
// generate, OpenAI chat completions, Anthropic messages) fills one ChatRequest
// and every request emitter reads it; every response decoder produces one
// stream of Events and every response encoder consumes it. One parser and one
// emitter per dialect instead of a converter per pair.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corral::api {

enum class Role : uint8_t { system, user, assistant, tool };

struct Image {
  std::string media_type;  // image/png, image/jpeg, image/gif or image/webp (from the bytes' magic)
  std::string data;        // base64, without a data: prefix
  std::string url;         // instead of data: an http(s) URL (OpenAI image_url, Anthropic url source)
};

struct Part {
  enum class Kind : uint8_t { text, image };
  Kind kind = Kind::text;
  std::string text;
  Image image;
};

struct ToolCall {
  std::string id;  // empty when the client gave none (Ollama); assign_tool_ids fills it
  std::string name;
  std::string arguments;  // a JSON object, minified
};

struct Message {
  Role role = Role::user;
  std::vector<Part> parts;              // in the client's order
  std::string thinking;                 // an assistant turn's reasoning (Ollama `thinking`)
  std::vector<ToolCall> tool_calls;     // assistant turns
  std::string tool_call_id, tool_name;  // tool results
  bool tool_error = false;              // Anthropic tool_result is_error
};

struct ToolDef {
  std::string name, description;
  std::string parameters;  // JSON schema object; empty when the client gave none
};

// A client parameter: `field` is its name as the client spelled it (errors name
// it), `json` its value as JSON text. Unset while field is empty.
struct Param {
  std::string_view field;
  std::string json;
  bool set() const { return !field.empty(); }
};

enum class ToolChoice : uint8_t { unset, automatic, none, required, named };
enum class Format : uint8_t { text, json, schema };

struct ChatRequest {
  std::string model;  // as the client named it (RequestOptions::upstream_model replaces it)
  bool stream = false;
  std::vector<Message> messages;  // system prompts are messages with Role::system
  std::vector<ToolDef> tools;
  ToolChoice tool_choice = ToolChoice::unset;
  std::string tool_choice_name;  // ToolChoice::named
  Param parallel_tool_calls;     // set (to false) only when the client forbids parallel calls
  Param temperature, top_p, top_k, seed, presence_penalty, frequency_penalty;
  Param max_tokens;  // a positive integer; "no limit" (Ollama's -1, -2) leaves it unset
  Param stop;        // a JSON array of strings
  Format format = Format::text;
  std::string_view format_field;  // "format" or "response_format"
  std::string format_schema;      // Format::schema: the JSON schema
  std::string format_name;        // OpenAI json_schema.name
  Param keep_alive;               // Ollama only
  Param think;                    // true, false, or a level string ("low", "medium", "high")
  Param user;                     // end-user id: OpenAI `user`, Anthropic metadata.user_id
  bool include_usage = false;     // OpenAI stream_options.include_usage
};

// Why an answer ended, in the terms of all three dialects.
enum class FinishReason : uint8_t { unknown, stop, length, tool_calls, stop_sequence, content_filter };
std::string_view finish_reason_name(FinishReason r);  // "stop", "length", "tool_calls", …

// One step of an answer, produced by a decoder from the backend's bytes. Views
// are valid only during the call that delivers the event.
struct Event {
  enum class Kind : uint8_t { start, text, thinking, tool_start, tool_args, tool_end, finish, error };
  Kind kind = Kind::text;
  std::string_view text;  // text/thinking delta, tool argument fragment, error message; start: upstream id
  std::string_view id;    // tool_start: call id; error: the provider's error type
  std::string_view name;  // tool_start: function name
  uint32_t tool = 0;      // tool_*: the call's ordinal in this answer (0, 1, …)
  FinishReason reason = FinishReason::unknown;  // finish
};

class EventSink {
 public:
  virtual void on_event(const Event& e) = 0;

 protected:
  ~EventSink() = default;
};

}  // namespace corral::api
