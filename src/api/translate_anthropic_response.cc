// Anthropic messages answers: named SSE events — message_start (id, input
// usage), per content block a content_block_start, deltas (text_delta,
// thinking_delta, input_json_delta) and content_block_stop, then message_delta
// (stop_reason, cumulative usage) and message_stop; ping and error may come at
// any time. Or one message object with its content blocks.
#include "corral/api/framer.h"
#include "corral/api/json.h"
#include "translate_codec.h"

namespace corral::api::detail {
namespace {

// Input tokens as the client pays them: fresh + cache writes + cache reads.
int64_t input_tokens(element usage) {
  int64_t total = -1, n;
  for (std::string_view k : {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}) {
    if (usage[k].get(n) == SUCCESS) total = std::max<int64_t>(total, 0) + n;
  }
  return total;
}

class AnthropicDecoder final : public SseDecoder {
 public:
  explicit AnthropicDecoder(Answer& a) : SseDecoder(a) {}

 private:
  enum class Block : uint8_t { none, text, thinking, tool, other };

  void frame(std::string_view data, EventSink& sink) override { event(data, sink); }

  bool parse(std::string_view json, element& root, EventSink& sink) {
    if (!parse_object(json, root, sink)) return false;
    element error;
    if (string_at(root, "type") == "error" && root["error"].get(error) == SUCCESS) {
      fail_reported(sink, string_at(error, "message"), string_at(error, "type"));
      return false;
    }
    return true;
  }

  void read_usage(element usage) {
    int64_t in = input_tokens(usage), out;
    if (in >= 0) a_.usage.prompt_tokens = in;
    if (usage["output_tokens"].get(out) == SUCCESS && out >= 0) a_.usage.completion_tokens = out;  // negative: none
  }

  void start(element message, EventSink& sink) {
    element usage;
    if (message["usage"].get(usage) == SUCCESS) read_usage(usage);
    sink.on_event(text_event(Event::Kind::start, string_at(message, "id")));
  }

  void event(std::string_view data, EventSink& sink) {
    element root, message, block, delta, usage;
    if (!parse(data, root, sink)) return;
    std::string_view type = string_at(root, "type");
    if (type == "message_start") {
      if (root["message"].get(message) == SUCCESS) start(message, sink);
    } else if (type == "content_block_start") {
      if (root["content_block"].get(block) == SUCCESS) open_block(block, sink);
    } else if (type == "content_block_delta") {
      if (root["delta"].get(delta) == SUCCESS) block_delta(delta, sink);
    } else if (type == "content_block_stop") {
      if (block_ == Block::tool) sink.on_event(tool_event(Event::Kind::tool_end, tool_));
      block_ = Block::none;
    } else if (type == "message_delta") {
      if (root["delta"].get(delta) == SUCCESS) {
        std::string_view reason = string_at(delta, "stop_reason");
        if (!reason.empty()) reason_ = anthropic_stop_reason(reason);
      }
      if (root["usage"].get(usage) == SUCCESS) read_usage(usage);
    } else if (type == "message_stop") {
      end(sink);
    }  // ping, and event types added later, carry nothing to translate
  }

  void open_block(element block, EventSink& sink) {
    std::string_view type = string_at(block, "type");
    if (type == "text") {
      block_ = Block::text;
      std::string_view text = string_at(block, "text");
      if (!text.empty()) sink.on_event(text_event(Event::Kind::text, text));
    } else if (type == "thinking") {
      block_ = Block::thinking;
      std::string_view text = string_at(block, "thinking");
      if (!text.empty()) sink.on_event(text_event(Event::Kind::thinking, text));
    } else if (type == "tool_use") {
      block_ = Block::tool;
      tool_ = tools_++;
      Event e = tool_event(Event::Kind::tool_start, tool_);
      e.id = string_at(block, "id");
      e.name = string_at(block, "name");
      sink.on_event(e);
      element input;
      if (block["input"].get(input) == SUCCESS && input.is_object() && as_object(input).size() > 0) {
        std::string json = to_json(input);
        sink.on_event(tool_event(Event::Kind::tool_args, tool_, json));
      }
    } else {
      block_ = Block::other;  // redacted_thinking: nothing another dialect can show
    }
  }

  void block_delta(element delta, EventSink& sink) {
    std::string_view type = string_at(delta, "type");
    if (type == "text_delta" && block_ == Block::text) {
      sink.on_event(text_event(Event::Kind::text, string_at(delta, "text")));
    } else if (type == "thinking_delta" && block_ == Block::thinking) {
      sink.on_event(text_event(Event::Kind::thinking, string_at(delta, "thinking")));
    } else if (type == "input_json_delta" && block_ == Block::tool) {
      std::string_view part = string_at(delta, "partial_json");
      if (!part.empty()) sink.on_event(tool_event(Event::Kind::tool_args, tool_, part));
    }  // signature_delta, citations_delta: Anthropic-only
  }

  void end(EventSink& sink) { end_with(sink, reason_); }

  // A message object: the same events in one go.
  void whole(EventSink& sink) override {
    element root, usage;
    array content;
    if (!parse(body_, root, sink)) return;
    start(root, sink);
    if (root["content"].get(content) == SUCCESS) {
      for (element block : content) {
        open_block(block, sink);
        if (block_ == Block::tool) sink.on_event(tool_event(Event::Kind::tool_end, tool_));
        block_ = Block::none;
      }
    }
    reason_ = anthropic_stop_reason(string_at(root, "stop_reason"));
    end(sink);
  }

  Block block_ = Block::none;
  uint32_t tool_ = 0, tools_ = 0;
  FinishReason reason_ = FinishReason::unknown;
};

class AnthropicEncoder final : public Encoder {
 public:
  explicit AnthropicEncoder(const Answer& a) : a_(a) {}

  std::string_view content_type() const override { return a_.stream ? "text/event-stream" : "application/json"; }

  bool write(const Event& e, std::string& out, std::string& err) override {
    if (!a_.stream) return collect(e, out, err);
    switch (e.kind) {
      case Event::Kind::start:
        message_start(e, out);
        break;
      case Event::Kind::text:
        open(out, Block::text, e);
        delta(out, "text_delta", "text", e.text);
        break;
      case Event::Kind::thinking:
        open(out, Block::thinking, e);
        delta(out, "thinking_delta", "thinking", e.text);
        break;
      case Event::Kind::tool_start:
        open(out, Block::tool, e);
        break;
      case Event::Kind::tool_args:
        delta(out, "input_json_delta", "partial_json", e.text);
        break;
      case Event::Kind::tool_end:
        close(out);
        break;
      case Event::Kind::finish:
        message_end(out, e.reason);
        break;
      case Event::Kind::error:
        error(out, e);
        break;
    }
    return true;
  }

 private:
  enum class Block : uint8_t { none, text, thinking, tool };
  struct Collected {
    Block kind;
    std::string text, id, name;  // text: the text, thinking or tool arguments
  };

  static void sse(std::string& out, std::string_view name) { out.append("event: ").append(name).append("\ndata: "); }

  void message_object_head(JsonWriter& w) {
    w.begin_object().key("id").string(id_).key("type").string("message").key("role").string("assistant");
    w.key("model").string(a_.model);
  }

  void usage(JsonWriter& w) {
    w.key("usage").begin_object().key("input_tokens").number(std::max<int64_t>(a_.usage.prompt_tokens, 0));
    w.key("output_tokens").number(std::max<int64_t>(a_.usage.completion_tokens, 0)).end_object();
  }

  void message_start(const Event& e, std::string& out) {
    id_ = e.text.starts_with("msg_") ? std::string(e.text) : "msg_" + std::string(e.text.empty() ? a_.id_seed : e.text);
    if (!a_.stream) return;
    sse(out, "message_start");
    JsonWriter w(out);
    w.begin_object().key("type").string("message_start").key("message");
    message_object_head(w);
    w.key("content").begin_array().end_array().key("stop_reason").null().key("stop_sequence").null();
    usage(w);
    w.end_object().end_object();
    out.append("\n\n");
  }

  void open(std::string& out, Block kind, const Event& e) {
    if (block_ == kind && kind != Block::tool) return;
    close(out);
    block_ = kind;
    sse(out, "content_block_start");
    JsonWriter w(out);
    w.begin_object().key("type").string("content_block_start").key("index").number(index_);
    w.key("content_block").begin_object();
    if (kind == Block::text) w.key("type").string("text").key("text").string("");
    if (kind == Block::thinking) w.key("type").string("thinking").key("thinking").string("");
    if (kind == Block::tool) {
      w.key("type").string("tool_use").key("id").string(e.id).key("name").string(e.name);
      w.key("input").begin_object().end_object();
    }
    w.end_object().end_object();
    out.append("\n\n");
  }

  void delta(std::string& out, std::string_view type, std::string_view field, std::string_view value) {
    sse(out, "content_block_delta");
    JsonWriter w(out);
    w.begin_object().key("type").string("content_block_delta").key("index").number(index_);
    w.key("delta").begin_object().key("type").string(type).key(field).string(value).end_object().end_object();
    out.append("\n\n");
  }

  void close(std::string& out) {
    if (block_ == Block::none) return;
    sse(out, "content_block_stop");
    JsonWriter(out).begin_object().key("type").string("content_block_stop").key("index").number(index_).end_object();
    out.append("\n\n");
    block_ = Block::none;
    ++index_;
  }

  void message_end(std::string& out, FinishReason reason) {
    close(out);
    sse(out, "message_delta");
    JsonWriter w(out);
    w.begin_object().key("type").string("message_delta").key("delta").begin_object();
    w.key("stop_reason").string(anthropic_stop_name(reason)).key("stop_sequence").null().end_object();
    usage(w);
    w.end_object();
    out.append("\n\n");
    sse(out, "message_stop");
    out.append("{\"type\":\"message_stop\"}\n\n");
  }

  void error(std::string& out, const Event& e) {
    if (a_.stream) sse(out, "error");
    JsonWriter w(out);
    w.begin_object().key("type").string("error").key("error").begin_object();
    w.key("type").string(anthropic_error_name(e.id)).key("message").string(e.text);
    w.end_object().end_object();
    if (a_.stream) out.append("\n\n");
  }

  // Not streamed: blocks gathered, one message object at the finish.
  bool collect(const Event& e, std::string& out, std::string& err) {
    switch (e.kind) {
      case Event::Kind::start:
        message_start(e, out);
        break;
      case Event::Kind::text:
      case Event::Kind::thinking: {
        Block kind = e.kind == Event::Kind::text ? Block::text : Block::thinking;
        if (blocks_.empty() || blocks_.back().kind != kind) blocks_.push_back(Collected{kind, {}, {}, {}});
        blocks_.back().text.append(e.text);
        break;
      }
      case Event::Kind::tool_start:
        blocks_.push_back(Collected{Block::tool, {}, std::string(e.id), std::string(e.name)});
        break;
      case Event::Kind::tool_args:
        if (!blocks_.empty()) blocks_.back().text.append(e.text);
        break;
      case Event::Kind::tool_end:
        break;
      case Event::Kind::finish:
        return message(out, e.reason, err);
      case Event::Kind::error:
        error(out, e);
        break;
    }
    return true;
  }

  bool message(std::string& out, FinishReason reason, std::string& err) {
    for (Collected& b : blocks_) {  // tool input must be one JSON object
      std::string input;
      if (b.kind != Block::tool) continue;
      if (b.text.find_first_not_of(" \t\r\n") == std::string::npos) input = "{}";
      else if (!json_object_text(b.text, input)) {
        err = "the backend's tool arguments are not a JSON object";
        return false;
      }
      b.text = std::move(input);
    }
    JsonWriter w(out);
    message_object_head(w);
    w.key("content").begin_array();
    for (const Collected& b : blocks_) {
      w.begin_object();
      if (b.kind == Block::text) w.key("type").string("text").key("text").string(b.text);
      if (b.kind == Block::thinking) w.key("type").string("thinking").key("thinking").string(b.text);
      if (b.kind == Block::tool) {
        w.key("type").string("tool_use").key("id").string(b.id).key("name").string(b.name).key("input").raw(b.text);
      }
      w.end_object();
    }
    w.end_array().key("stop_reason").string(anthropic_stop_name(reason)).key("stop_sequence").null();
    usage(w);
    w.end_object();
    return true;
  }

  const Answer& a_;
  std::string id_;
  Block block_ = Block::none;
  int64_t index_ = 0;              // the next content block's index
  std::vector<Collected> blocks_;  // not streamed
};

}  // namespace

std::unique_ptr<Decoder> make_anthropic_decoder(Answer& a) { return std::make_unique<AnthropicDecoder>(a); }
std::unique_ptr<Encoder> make_anthropic_encoder(const Answer& a) { return std::make_unique<AnthropicEncoder>(a); }

}  // namespace corral::api::detail
