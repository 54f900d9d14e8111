// OpenAI chat completions answers: SSE `data:` chunks of chat.completion.chunk
// objects, the finish_reason in a late chunk, the usage in one after it
// (stream_options.include_usage), then `data: [DONE]`; or one chat.completion
// object. Tool calls stream as fragments keyed by index: the first names the
// call, later ones carry pieces of its JSON arguments string.
#include "corral/api/framer.h"
#include "corral/api/json.h"
#include "translate_codec.h"

namespace corral::api::detail {
namespace {

class OpenAiDecoder final : public SseDecoder {
 public:
  explicit OpenAiDecoder(Answer& a) : SseDecoder(a) {}

 private:
  void frame(std::string_view data, EventSink& sink) override { chunk(data, sink); }
  void ended(EventSink& sink) override {
    if (finished_) end(sink);  // a server that omits [DONE]
  }

  struct Tool {
    int64_t index = 0;  // the backend's
    uint32_t ordinal = 0;
    std::string id, name;
    bool started = false, closed = false;
  };

  bool parse(std::string_view json, element& root, EventSink& sink) {
    if (!parse_object(json, root, sink)) return false;
    element error;
    if (root["error"].get(error) == SUCCESS && !error.is_null()) {
      fail_reported(sink, error.is_string() ? string_at(root, "error") : string_at(error, "message"),
                    string_at(error, "type"));
      return false;
    }
    if (!started_) {
      started_ = true;
      sink.on_event(text_event(Event::Kind::start, string_at(root, "id")));
    }
    return true;
  }

  void chunk(std::string_view data, EventSink& sink) {
    if (data == "[DONE]") return end(sink);
    element root, choice, delta, usage;
    if (!parse(data, root, sink)) return;
    if (root["usage"].get(usage) == SUCCESS && usage.is_object()) read_usage(usage);
    array choices;
    if (root["choices"].get(choices) != SUCCESS || choices.size() == 0) return;
    choice = choices.at(0).value_unsafe();
    if (choice["delta"].get(delta) == SUCCESS) {
      reasoning(delta, sink);
      std::string_view content = string_at(delta, "content");
      if (!content.empty()) text(Event::Kind::text, content, sink);
      std::string_view refusal = string_at(delta, "refusal");
      if (!refusal.empty()) text(Event::Kind::text, refusal, sink);
      array calls;
      if (delta["tool_calls"].get(calls) == SUCCESS) {
        for (element c : calls) {
          if (!tool_fragment(c, sink)) return;
        }
      }
    }
    std::string_view reason = string_at(choice, "finish_reason");
    if (!reason.empty()) {
      finished_ = true;
      reason_ = openai_finish_reason(reason);
      close_open(sink);
    }
  }

  // DeepSeek-style reasoning_content, or vLLM's/OpenRouter's reasoning.
  void reasoning(element obj, EventSink& sink) {
    std::string_view r = string_at(obj, "reasoning_content");
    if (r.empty()) r = string_at(obj, "reasoning");
    if (!r.empty()) text(Event::Kind::thinking, r, sink);
  }

  void text(Event::Kind k, std::string_view s, EventSink& sink) {
    close_open(sink);
    sink.on_event(text_event(k, s));
  }

  bool tool_fragment(element c, EventSink& sink) {
    int64_t index;
    if (c["index"].get(index) != SUCCESS) {  // servers that omit the index: a new id starts a new call
      std::string_view id = string_at(c, "id");
      bool same = open_ >= 0 && (id.empty() || id == tools_[open_].id);
      index = same ? tools_[open_].index : -1 - static_cast<int64_t>(tools_.size());
    }
    int slot = find(index);
    if (slot < 0) {
      close_open(sink);
      Tool t;
      t.index = index;
      t.ordinal = static_cast<uint32_t>(tools_.size());
      tools_.push_back(std::move(t));
      slot = static_cast<int>(tools_.size()) - 1;
    } else if (tools_[slot].closed) {
      fail(sink, "the backend interleaved two tool calls' fragments");
      return false;
    }
    open_ = slot;
    Tool& t = tools_[slot];
    element fn;
    if (t.id.empty()) t.id.assign(string_at(c, "id"));
    if (c["function"].get(fn) != SUCCESS) return true;
    if (!t.started) t.name.append(string_at(fn, "name"));
    std::string_view args = string_at(fn, "arguments");
    if (args.empty()) return true;
    start(t, sink);
    sink.on_event(tool_event(Event::Kind::tool_args, t.ordinal, args));
    return true;
  }

  int find(int64_t index) const {
    for (size_t i = 0; i < tools_.size(); ++i) {
      if (tools_[i].index == index) return static_cast<int>(i);
    }
    return -1;
  }

  void start(Tool& t, EventSink& sink) {
    if (t.started) return;
    t.started = true;
    if (t.id.empty()) t.id = "call_" + a_.id_seed + "_" + std::to_string(t.ordinal);
    Event e = tool_event(Event::Kind::tool_start, t.ordinal);
    e.id = t.id;
    e.name = t.name;
    sink.on_event(e);
  }

  void close_open(EventSink& sink) {
    if (open_ < 0) return;
    Tool& t = tools_[open_];
    open_ = -1;
    start(t, sink);
    t.closed = true;
    sink.on_event(tool_event(Event::Kind::tool_end, t.ordinal));
  }

  void read_usage(element usage) {
    int64_t n;
    if (usage["prompt_tokens"].get(n) == SUCCESS && n >= 0) a_.usage.prompt_tokens = n;  // negative: no count
    if (usage["completion_tokens"].get(n) == SUCCESS && n >= 0) a_.usage.completion_tokens = n;
  }

  void end(EventSink& sink) {
    close_open(sink);
    end_with(sink, reason_);
  }

  // A chat.completion object: the same events in one go.
  void whole(EventSink& sink) override {
    element root, message, usage;
    array choices;
    if (!parse(body_, root, sink)) return;
    if (root["usage"].get(usage) == SUCCESS && usage.is_object()) read_usage(usage);
    if (root["choices"].get(choices) != SUCCESS || choices.size() == 0) {
      return fail(sink, "the backend's answer has no choices");
    }
    element choice = choices.at(0).value_unsafe();
    if (choice["message"].get(message) == SUCCESS) {
      reasoning(message, sink);
      std::string_view content = string_at(message, "content");
      if (!content.empty()) sink.on_event(text_event(Event::Kind::text, content));
      array calls;
      if (message["tool_calls"].get(calls) == SUCCESS) {
        for (element c : calls) {
          if (!tool_fragment(c, sink)) return;
          close_open(sink);
        }
      }
    }
    reason_ = openai_finish_reason(string_at(choice, "finish_reason"));
    end(sink);
  }

  std::vector<Tool> tools_;
  int open_ = -1;  // the tool call receiving fragments
  FinishReason reason_ = FinishReason::unknown;
  bool started_ = false, finished_ = false;
};

class OpenAiEncoder final : public Encoder {
 public:
  explicit OpenAiEncoder(const Answer& a) : a_(a) {}

  std::string_view content_type() const override { return a_.stream ? "text/event-stream" : "application/json"; }

  bool write(const Event& e, std::string& out, std::string&) override {
    switch (e.kind) {
      case Event::Kind::start:
        start(e, out);
        break;
      case Event::Kind::text:
        if (!a_.stream) text_.append(e.text);
        else close_delta(out, delta(out).key("content").string(e.text));
        break;
      case Event::Kind::thinking:
        if (!a_.stream) thinking_.append(e.text);
        else close_delta(out, delta(out).key("reasoning_content").string(e.text));
        break;
      case Event::Kind::tool_start:
        if (!a_.stream) calls_.push_back(Call{std::string(e.id), std::string(e.name), {}});
        else tool_start(e, out);
        break;
      case Event::Kind::tool_args:
        if (!a_.stream && !calls_.empty()) calls_.back().args.append(e.text);
        if (a_.stream) tool_args(e, out);
        break;
      case Event::Kind::tool_end:
        break;
      case Event::Kind::finish:
        if (a_.stream) stream_end(out, e.reason);
        else whole(out, e.reason);
        break;
      case Event::Kind::error:
        error(e, out);
        break;
    }
    return true;
  }

 private:
  struct Call {
    std::string id, name, args;
  };

  void start(const Event& e, std::string& out) {
    id_ = "chatcmpl-";
    id_.append(e.text.empty() ? std::string_view(a_.id_seed) : e.text);
    head_.clear();
    JsonWriter w(head_);
    w.begin_object().key("id").string(id_).key("object").string("chat.completion.chunk");
    w.key("created").number(a_.created_s).key("model").string(a_.model).key("choices").begin_array();
    w.begin_object().key("index").number(0).key("delta");
    if (a_.stream) close_delta(out, delta(out).key("role").string("assistant").key("content").string(""));
  }

  // data: {…"choices":[{"index":0,"delta":{   — the caller writes the delta's fields
  JsonWriter delta(std::string& out) {
    out.append("data: ").append(head_).push_back('{');
    return JsonWriter(out);
  }

  void tool_start(const Event& e, std::string& out) {
    JsonWriter w = delta(out);
    w.key("tool_calls").begin_array().begin_object().key("index").number(e.tool).key("id").string(e.id);
    w.key("type").string("function").key("function").begin_object().key("name").string(e.name);
    w.key("arguments").string("").end_object().end_object().end_array();
    close_delta(out, w);
  }

  void tool_args(const Event& e, std::string& out) {
    JsonWriter w = delta(out);
    w.key("tool_calls").begin_array().begin_object().key("index").number(e.tool);
    w.key("function").begin_object().key("arguments").string(e.text).end_object().end_object().end_array();
    close_delta(out, w);
  }

  // Closes the delta and the chunk.
  static void close_delta(std::string& out, JsonWriter& w, std::string_view finish = {}) {
    w.end_object().key("logprobs").null().key("finish_reason");
    if (finish.empty()) w.null();
    else w.string(finish);
    w.end_object().end_array().end_object();
    out.append("\n\n");
  }

  void usage_fields(JsonWriter& w) {
    int64_t in = std::max<int64_t>(a_.usage.prompt_tokens, 0), outn = std::max<int64_t>(a_.usage.completion_tokens, 0);
    w.key("usage").begin_object().key("prompt_tokens").number(in).key("completion_tokens").number(outn);
    w.key("total_tokens").number(in + outn).end_object();
  }

  void stream_end(std::string& out, FinishReason reason) {
    JsonWriter d = delta(out);
    close_delta(out, d, openai_finish_name(reason));
    if (a_.include_usage) {
      out.append("data: ");
      JsonWriter w(out);
      w.begin_object().key("id").string(id_).key("object").string("chat.completion.chunk");
      w.key("created").number(a_.created_s).key("model").string(a_.model).key("choices").begin_array().end_array();
      usage_fields(w);
      w.end_object();
      out.append("\n\n");
    }
    out.append("data: [DONE]\n\n");
  }

  void whole(std::string& out, FinishReason reason) {
    JsonWriter w(out);
    w.begin_object().key("id").string(id_).key("object").string("chat.completion");
    w.key("created").number(a_.created_s).key("model").string(a_.model).key("choices").begin_array();
    w.begin_object().key("index").number(0).key("message").begin_object().key("role").string("assistant");
    if (text_.empty() && !calls_.empty()) w.key("content").null();
    else w.key("content").string(text_);
    if (!thinking_.empty()) w.key("reasoning_content").string(thinking_);
    if (!calls_.empty()) {
      w.key("tool_calls").begin_array();
      for (const Call& c : calls_) {
        w.begin_object().key("id").string(c.id).key("type").string("function").key("function").begin_object();
        w.key("name").string(c.name).key("arguments").string(c.args.empty() ? std::string_view("{}") : c.args);
        w.end_object().end_object();
      }
      w.end_array();
    }
    w.key("refusal").null().end_object();
    w.key("logprobs").null().key("finish_reason").string(openai_finish_name(reason)).end_object().end_array();
    usage_fields(w);
    w.end_object();
  }

  void error(const Event& e, std::string& out) {
    if (a_.stream) out.append("data: ");
    JsonWriter w(out);
    w.begin_object().key("error").begin_object().key("message").string(e.text);
    w.key("type").string(e.id.empty() ? std::string_view("server_error") : e.id);
    w.key("param").null().key("code").null().end_object().end_object();
    if (a_.stream) out.append("\n\n");
  }

  const Answer& a_;
  std::string id_;
  std::string head_;             // a chunk's opening up to "delta":
  std::string text_, thinking_;  // not streamed: the whole answer
  std::vector<Call> calls_;
};

}  // namespace

std::unique_ptr<Decoder> make_openai_decoder(Answer& a) { return std::make_unique<OpenAiDecoder>(a); }
std::unique_ptr<Encoder> make_openai_encoder(const Answer& a) { return std::make_unique<OpenAiEncoder>(a); }

}  // namespace corral::api::detail
