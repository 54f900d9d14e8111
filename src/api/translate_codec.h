// Inside the translator: one request parser and emitter per dialect around the
// ChatRequest pivot, one response decoder and encoder per dialect around the
// Event stream, and the helpers they share. Not part of the api interface.
#pragma once
#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>

#include "corral/api/chat_ir.h"
#include "corral/api/framer.h"
#include "corral/api/json.h"
#include "corral/api/translate.h"

namespace corral::api::detail {

using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// The worker thread's DOM parser (bodies and stream frames are parsed one at a
// time; strings read from a document die at the next parse).
simdjson::dom::parser& json_parser();
// A second parser for JSON text found inside a document still in use (tool
// arguments are JSON in a string): true with `minified` when `text` is an object.
bool json_object_text(std::string_view text, std::string& minified);

// "<field> cannot be expressed for an <dialect> backend" (+ ": why").
std::string not_expressible(std::string_view field, Dialect target, std::string_view why = {});
// Minified JSON text of an element.
std::string to_json(element e);
// e as an object or array; the caller has checked which it is.
inline object as_object(element e) { return e.get_object().value_unsafe(); }
inline array as_array(element e) { return e.get_array().value_unsafe(); }
inline size_t array_size(element e) {
  array a;
  return e.get(a) == SUCCESS ? a.size() : 0;
}
// The string value of e[key], or "" when absent or not a string.
std::string_view string_at(element obj, std::string_view key);

// Images: media type from the decoded bytes' magic (png, jpeg, gif, webp); empty
// when unknown or not base64. Data URLs split into media type and base64 data.
std::string_view sniff_image_type(std::string_view base64);
bool parse_data_url(std::string_view url, Image& img);
std::string data_url(const Image& img);

// Request side. Parsers reject what no ChatRequest field can hold; emitters
// reject what the target cannot express.
bool parse_ollama_chat(element root, ChatRequest& req, std::string& err);
bool parse_ollama_generate(element root, ChatRequest& req, std::string& err);
bool parse_openai_chat(element root, ChatRequest& req, std::string& err);
bool parse_anthropic_messages(element root, ChatRequest& req, std::string& err);
// What the parsers' errors say: "what[i]" names an element, and a field no
// ChatRequest can hold "<field> cannot be translated <from>" (+ ": why"); false.
std::string at(std::string_view what, size_t i);
bool untranslatable(std::string_view field, std::string_view from, std::string& err, std::string_view why);
// The role of message m (named `where`): system, user, assistant or tool (and OpenAI's
// developer, as system, when developer_is_system); false, untranslatable `from`, when m
// is not an object or has any other role.
bool parse_message_role(element m, const std::string& where, std::string_view from, bool developer_is_system, Role& r,
                        std::string& err);
// An OpenAI-shaped function tool, {"type":"function","function":{name, description,
// parameters}} (Ollama took the shape over); false when t is not one.
bool parse_function_tool(element t, ToolDef& def);
// "tools": the definitions in that shape, for the OpenAI and Ollama emitters.
void write_function_tools(JsonWriter& w, const std::vector<ToolDef>& tools);
// Ollama parsers run only for hosted targets: runtime settings (translate.h) are skipped.
bool parse_ollama_options(element opts, ChatRequest& req, std::string& err);
bool is_ollama_runtime_setting(std::string_view key);  // a top-level field or an options key

// Gives every tool call an id and every tool result the id of the call it answers
// (Ollama history has neither); OpenAI and Anthropic require both.
bool assign_tool_ids(ChatRequest& req, std::string& err);
// A message's text parts joined by "\n"; a failed tool result (is_error) prefixed "Error: ".
std::string joined_text(const Message& m);
bool has_images(const Message& m);
bool emit_openai_chat(const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err);
bool emit_anthropic_messages(const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err);
bool emit_ollama_chat(const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err);

// Response side. A decoder turns the backend's body into Events; an encoder turns
// Events into the client's body. The pipeline between them (translate_response.cc)
// stamps times, fixes the finish reason and remembers failures.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void feed(std::string_view bytes, EventSink& sink) = 0;
  virtual void finish(EventSink& sink) = 0;  // the body ended
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  // False with `err` when the event cannot be said in the client's dialect (the
  // pipeline then writes an error event instead).
  virtual bool write(const Event& e, std::string& out, std::string& err) = 0;
  virtual std::string_view content_type() const = 0;
};

// What decoders and encoders of one answer share.
struct Answer {
  Clock* clock = nullptr;
  Usage usage;
  std::string model;      // the client's model name
  std::string id_seed;    // unique per answer (hex wall clock); synthesized ids derive from it
  int64_t created_s = 0;  // OpenAI `created`
  bool stream = false;
  bool include_usage = false;
};

inline constexpr size_t kMaxBufferedBody = size_t(64) << 20;  // a non-streamed answer kept whole

// What the SSE providers' decoders share: a non-streamed answer kept whole
// (bounded) for whole(), a streamed one handed to frame() event by event; the
// first failure ends the answer with an error event.
class SseDecoder : public Decoder {
 public:
  explicit SseDecoder(Answer& a) : a_(a) {}
  void feed(std::string_view bytes, EventSink& sink) final;
  void finish(EventSink& sink) final;

 protected:
  virtual void frame(std::string_view data, EventSink& sink) = 0;  // one event's data
  virtual void whole(EventSink& sink) = 0;                         // the answer in body_
  virtual void ended(EventSink&) {}                                // the stream ended without the provider's end marker
  void fail(EventSink& sink, std::string_view why, std::string_view type = {});
  // root: the JSON object `json` (a frame, or the whole answer); false, the answer failed, when it is none.
  bool parse_object(std::string_view json, element& root, EventSink& sink);
  // Fails the answer with the error the provider sent (its words, when it gave some).
  void fail_reported(EventSink& sink, std::string_view message, std::string_view type);
  // The answer's last event.
  void end_with(EventSink& sink, FinishReason reason);

  Answer& a_;
  std::string body_;
  bool done_ = false;

 private:
  SseFramer sse_;
};

std::unique_ptr<Decoder> make_ollama_decoder(Answer& a);
std::unique_ptr<Decoder> make_openai_decoder(Answer& a);
std::unique_ptr<Decoder> make_anthropic_decoder(Answer& a);
std::unique_ptr<Encoder> make_ollama_encoder(const Answer& a, bool generate);
std::unique_ptr<Encoder> make_openai_encoder(const Answer& a);
std::unique_ptr<Encoder> make_anthropic_encoder(const Answer& a);

// Event constructors for decoders.
inline Event text_event(Event::Kind k, std::string_view text) {
  Event e;
  e.kind = k;
  e.text = text;
  return e;
}
inline Event tool_event(Event::Kind k, uint32_t tool, std::string_view text = {}) {
  Event e;
  e.kind = k;
  e.tool = tool;
  e.text = text;
  return e;
}
inline Event error_event(std::string_view message, std::string_view type = {}) {
  Event e;
  e.kind = Event::Kind::error;
  e.text = message;
  e.id = type;
  return e;
}

// Finish reasons in each dialect's words.
FinishReason openai_finish_reason(std::string_view s);
FinishReason anthropic_stop_reason(std::string_view s);
FinishReason ollama_done_reason(std::string_view s);
std::string_view openai_finish_name(FinishReason r);
std::string_view anthropic_stop_name(FinishReason r);
std::string_view ollama_done_name(FinishReason r);

// `type` when it is one of Anthropic's error types, else api_error.
std::string_view anthropic_error_name(std::string_view type);

}  // namespace corral::api::detail
