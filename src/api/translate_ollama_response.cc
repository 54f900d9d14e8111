// Ollama answers: NDJSON chunks ending in a done:true object with the
// generation's counts and durations (or that one object when not streamed).
// The decoder reads /api/chat answers; the encoder writes /api/chat or
// /api/generate ones. Ollama sends tool calls whole, so the encoder gathers a
// call's argument fragments and writes it when the call ends.
#include "corral/api/framer.h"
#include "corral/api/json.h"
#include "corral/core/clock.h"
#include "translate_codec.h"

namespace corral::api::detail {
namespace {

int64_t int_at(element obj, std::string_view key) {
  int64_t v;
  return obj[key].get(v) == SUCCESS && v >= 0 ? v : -1;  // a negative count is no count
}

class OllamaDecoder final : public Decoder {
 public:
  explicit OllamaDecoder(Answer& a) : a_(a) {}

  void feed(std::string_view bytes, EventSink& sink) override {
    if (!a_.stream) {
      if (body_.size() + bytes.size() > kMaxBufferedBody) return fail(sink, "the backend's answer is too large");
      body_.append(bytes);
      return;
    }
    lines_.push(bytes);
    std::string_view line;
    while (!done_ && lines_.next(line)) handle(line, sink);
    if (lines_.overflowed()) fail(sink, "the backend sent a line longer than the limit");
  }

  void finish(EventSink& sink) override {
    std::string_view line;
    if (!a_.stream) handle(body_, sink);
    else if (!done_ && lines_.take_rest(line)) handle(line, sink);
  }

 private:
  void fail(EventSink& sink, std::string_view why) {
    done_ = true;
    sink.on_event(error_event(why));
  }

  void handle(std::string_view line, EventSink& sink) {
    if (done_ || line.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
    element obj;
    if (json_parser().parse(line.data(), line.size()).get(obj) != SUCCESS || !obj.is_object()) {
      return fail(sink, "the backend sent invalid JSON");
    }
    std::string_view error;
    if (obj["error"].get(error) == SUCCESS) return fail(sink, error);
    element msg;
    if (obj["message"].get(msg) == SUCCESS) message(msg, sink);
    std::string_view response = string_at(obj, "response");  // an /api/generate answer
    if (!response.empty()) sink.on_event(text_event(Event::Kind::text, response));
    bool done = false;
    if (obj["done"].get(done) != SUCCESS || !done) return;
    read_ollama_final(a_.usage, [obj](std::string_view key) { return int_at(obj, key); });
    done_ = true;
    Event f;
    f.kind = Event::Kind::finish;
    f.reason = ollama_done_reason(string_at(obj, "done_reason"));
    sink.on_event(f);
  }

  void message(element msg, EventSink& sink) {
    std::string_view thinking = string_at(msg, "thinking"), content = string_at(msg, "content");
    if (!thinking.empty()) sink.on_event(text_event(Event::Kind::thinking, thinking));
    if (!content.empty()) sink.on_event(text_event(Event::Kind::text, content));
    array calls;
    if (msg["tool_calls"].get(calls) != SUCCESS) return;
    for (element c : calls) {
      element fn, args;
      if (c["function"].get(fn) != SUCCESS) continue;  // nothing to call
      uint32_t ordinal = tools_++;
      std::string_view id = string_at(c, "id");
      std::string made = id.empty() ? "call_" + a_.id_seed + "_" + std::to_string(ordinal) : std::string();
      std::string_view text;
      std::string json = fn["arguments"].get(args) != SUCCESS ? "{}"
                         : args.get(text) == SUCCESS          ? std::string(text)
                                                              : to_json(args);
      Event start = tool_event(Event::Kind::tool_start, ordinal);
      start.id = id.empty() ? std::string_view(made) : id;
      start.name = string_at(fn, "name");
      sink.on_event(start);
      sink.on_event(tool_event(Event::Kind::tool_args, ordinal, json));
      sink.on_event(tool_event(Event::Kind::tool_end, ordinal));
    }
  }

  Answer& a_;
  LineFramer lines_;
  std::string body_;
  uint32_t tools_ = 0;
  bool done_ = false;
};

class OllamaEncoder final : public Encoder {
 public:
  OllamaEncoder(const Answer& a, bool generate) : a_(a), generate_(generate) {}

  std::string_view content_type() const override { return a_.stream ? "application/x-ndjson" : "application/json"; }

  bool write(const Event& e, std::string& out, std::string& err) override {
    switch (e.kind) {
      case Event::Kind::start:
        return true;
      case Event::Kind::text:
        if (a_.stream) chunk(out, e.text, {});
        else text_.append(e.text);
        return true;
      case Event::Kind::thinking:
        if (a_.stream) chunk(out, {}, e.text);
        else thinking_.append(e.text);
        return true;
      case Event::Kind::tool_start:
        if (generate_) return refuse(err, "a tool call cannot be expressed in an /api/generate answer");
        calls_.push_back(Call{std::string(e.id), std::string(e.name), {}, e.tool});
        return true;
      case Event::Kind::tool_args:
        if (!calls_.empty()) calls_.back().args.append(e.text);
        return true;
      case Event::Kind::tool_end:
        return end_call(out, err);
      case Event::Kind::finish:
        return final_object(out, e.reason);
      case Event::Kind::error: {
        JsonWriter w(out);
        w.begin_object().key("error").string(e.text).end_object();
        if (a_.stream) out.push_back('\n');
        return true;
      }
    }
    return true;
  }

 private:
  struct Call {
    std::string id, name, args;
    uint32_t ordinal = 0;
  };

  static bool refuse(std::string& err, std::string_view why) {
    err.assign(why);
    return false;
  }

  void head(JsonWriter& w) {
    int64_t ms = a_.clock->wall_ns() / 1000000;
    if (ms != created_ms_) {  // formatting the time costs more than the rest of a chunk
      created_ms_ = ms;
      created_at_ = core::iso_time(ms);
    }
    w.begin_object().key("model").string(a_.model).key("created_at").string(created_at_);
  }

  void message(JsonWriter& w, std::string_view text, std::string_view thinking, size_t first_call) {
    if (generate_) {
      w.key("response").string(text);
      if (!thinking.empty()) w.key("thinking").string(thinking);
      return;
    }
    w.key("message").begin_object().key("role").string("assistant").key("content").string(text);
    if (!thinking.empty()) w.key("thinking").string(thinking);
    if (first_call < calls_.size()) {
      w.key("tool_calls").begin_array();
      for (size_t i = first_call; i < calls_.size(); ++i) {
        const Call& c = calls_[i];
        w.begin_object();
        if (!c.id.empty()) w.key("id").string(c.id);
        w.key("function").begin_object().key("index").number(c.ordinal).key("name").string(c.name);
        w.key("arguments").raw(c.args).end_object().end_object();
      }
      w.end_array();
    }
    w.end_object();
  }

  void chunk(std::string& out, std::string_view text, std::string_view thinking, size_t first_call = SIZE_MAX) {
    JsonWriter w(out);
    head(w);
    message(w, text, thinking, first_call);
    w.key("done").boolean(false).end_object();
    out.push_back('\n');
  }

  // Ollama's arguments are an object: the fragments must add up to one.
  bool end_call(std::string& out, std::string& err) {
    if (calls_.empty()) return true;
    Call& c = calls_.back();
    std::string minified;
    if (c.args.find_first_not_of(" \t\r\n") == std::string::npos) {
      minified = "{}";
    } else if (!json_object_text(c.args, minified)) {
      return refuse(err, "the backend's tool arguments are not a JSON object");
    }
    c.args = std::move(minified);
    if (a_.stream) chunk(out, {}, {}, calls_.size() - 1);
    return true;
  }

  bool final_object(std::string& out, FinishReason reason) {
    const Usage& u = a_.usage;
    JsonWriter w(out);
    head(w);
    if (a_.stream) message(w, {}, {}, SIZE_MAX);
    else message(w, text_, thinking_, 0);
    w.key("done").boolean(true).key("done_reason").string(ollama_done_name(reason));
    w.key("total_duration").number(u.total_duration_ns);
    w.key("load_duration").number(std::max<int64_t>(u.load_duration_ns, 0));
    if (u.prompt_tokens >= 0) w.key("prompt_eval_count").number(u.prompt_tokens);
    w.key("prompt_eval_duration").number(std::max<int64_t>(u.prompt_eval_duration_ns, 0));
    if (u.completion_tokens >= 0) w.key("eval_count").number(u.completion_tokens);
    w.key("eval_duration").number(std::max<int64_t>(u.eval_duration_ns, 0)).end_object();
    if (a_.stream) out.push_back('\n');
    return true;
  }

  const Answer& a_;
  bool generate_;
  int64_t created_ms_ = -1;
  std::string created_at_;
  std::string text_, thinking_;  // not streamed: the whole answer
  std::vector<Call> calls_;
};

}  // namespace

std::unique_ptr<Decoder> make_ollama_decoder(Answer& a) { return std::make_unique<OllamaDecoder>(a); }
std::unique_ptr<Encoder> make_ollama_encoder(const Answer& a, bool generate) {
  return std::make_unique<OllamaEncoder>(a, generate);
}

}  // namespace corral::api::detail
