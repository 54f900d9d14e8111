// The response pipeline: backend bytes → decoder → Events → encoder → client
// bytes. Between the two it makes sure an answer starts once and ends once,
// stamps the first token and the end on the clock, turns "stop" into
// "tool_calls" when tools were called, and remembers a failure.
#include <time.h>

#include <cstdio>

#include "translate_codec.h"

namespace corral::api {
namespace detail {

FinishReason openai_finish_reason(std::string_view s) {
  if (s == "stop") return FinishReason::stop;
  if (s == "length") return FinishReason::length;
  if (s == "tool_calls" || s == "function_call") return FinishReason::tool_calls;
  if (s == "content_filter") return FinishReason::content_filter;
  return FinishReason::unknown;
}

FinishReason anthropic_stop_reason(std::string_view s) {
  if (s == "end_turn" || s == "pause_turn") return FinishReason::stop;
  if (s == "max_tokens" || s == "model_context_window_exceeded") return FinishReason::length;
  if (s == "tool_use") return FinishReason::tool_calls;
  if (s == "stop_sequence") return FinishReason::stop_sequence;
  if (s == "refusal") return FinishReason::content_filter;
  return FinishReason::unknown;
}

FinishReason ollama_done_reason(std::string_view s) {
  if (s == "stop") return FinishReason::stop;
  if (s == "length") return FinishReason::length;
  return FinishReason::unknown;
}

std::string_view openai_finish_name(FinishReason r) {
  switch (r) {
    case FinishReason::length:
      return "length";
    case FinishReason::tool_calls:
      return "tool_calls";
    case FinishReason::content_filter:
      return "content_filter";
    default:
      return "stop";
  }
}

std::string_view anthropic_stop_name(FinishReason r) {
  switch (r) {
    case FinishReason::length:
      return "max_tokens";
    case FinishReason::tool_calls:
      return "tool_use";
    case FinishReason::stop_sequence:
      return "stop_sequence";
    case FinishReason::content_filter:
      return "refusal";
    default:
      return "end_turn";
  }
}

std::string_view ollama_done_name(FinishReason r) { return r == FinishReason::length ? "length" : "stop"; }

void SseDecoder::feed(std::string_view bytes, EventSink& sink) {
  if (!a_.stream) {
    if (body_.size() + bytes.size() > kMaxBufferedBody) return fail(sink, "the backend's answer is too large");
    body_.append(bytes);
    return;
  }
  sse_.push(bytes);
  SseEvent ev;
  while (!done_ && sse_.next(ev)) frame(ev.data, sink);
  if (!done_ && sse_.overflowed()) fail(sink, "the backend sent an event longer than the limit");
}

void SseDecoder::finish(EventSink& sink) {
  if (!a_.stream) return whole(sink);
  SseEvent ev;
  while (!done_ && sse_.take_rest(ev)) frame(ev.data, sink);
  if (!done_) ended(sink);
}

void SseDecoder::fail(EventSink& sink, std::string_view why, std::string_view type) {
  done_ = true;
  sink.on_event(error_event(why, type));
}

bool SseDecoder::parse_object(std::string_view json, element& root, EventSink& sink) {
  if (json_parser().parse(json.data(), json.size()).get(root) == SUCCESS && root.is_object()) return true;
  fail(sink, "the backend sent invalid JSON");
  return false;
}

void SseDecoder::fail_reported(EventSink& sink, std::string_view message, std::string_view type) {
  fail(sink, message.empty() ? std::string_view("the backend reported an error") : message, type);
}

void SseDecoder::end_with(EventSink& sink, FinishReason reason) {
  done_ = true;
  Event f;
  f.kind = Event::Kind::finish;
  f.reason = reason;
  sink.on_event(f);
}

namespace {

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

class Pipeline final : public ResponseTranslator, private EventSink {
 public:
  Pipeline(Call client, Dialect backend, bool stream, std::string_view model, Clock& clock, bool include_usage)
      : start_ns_(clock.mono_ns()) {
    int64_t wall = clock.wall_ns();
    answer_.clock = &clock;
    answer_.model.assign(model);
    answer_.id_seed = hex(static_cast<uint64_t>(wall));
    answer_.created_s = wall / 1000000000;
    answer_.stream = stream;
    answer_.include_usage = include_usage;
    switch (backend) {
      case Dialect::ollama:
        decoder_ = make_ollama_decoder(answer_);
        break;
      case Dialect::openai:
        decoder_ = make_openai_decoder(answer_);
        break;
      case Dialect::anthropic:
        decoder_ = make_anthropic_decoder(answer_);
        break;
    }
    switch (client) {
      case Call::ollama_chat:
        encoder_ = make_ollama_encoder(answer_, false);
        break;
      case Call::ollama_generate:
        encoder_ = make_ollama_encoder(answer_, true);
        break;
      case Call::openai_chat:
        encoder_ = make_openai_encoder(answer_);
        break;
      case Call::anthropic_messages:
        encoder_ = make_anthropic_encoder(answer_);
        break;
    }
  }

  void feed(std::string_view bytes, std::string& out) override {
    if (ended_) return;
    out_ = &out;
    decoder_->feed(bytes, *this);
  }

  void finish(std::string& out) override {
    if (ended_) return;
    out_ = &out;
    decoder_->finish(*this);
    if (!ended_) on_event(error_event("the backend's answer ended before it was complete"));
  }

  const Usage& usage() const override { return answer_.usage; }
  std::string_view content_type() const override { return encoder_->content_type(); }
  bool failed() const override { return failed_; }
  std::string_view error() const override { return error_; }

 private:
  void on_event(const Event& e) override {
    if (ended_) return;  // e.g. bytes after [DONE]
    if (!started_ && e.kind != Event::Kind::start && e.kind != Event::Kind::error) {
      Event start;
      start.kind = Event::Kind::start;
      pass(start);
      if (ended_) return;
    }
    switch (e.kind) {
      case Event::Kind::start:
        if (started_) return;
        started_ = true;
        break;
      case Event::Kind::text:
      case Event::Kind::thinking:
      case Event::Kind::tool_start:
        if (first_ns_ < 0) first_ns_ = answer_.clock->mono_ns();
        tools_called_ |= e.kind == Event::Kind::tool_start;
        break;
      case Event::Kind::finish: {
        Event f = e;
        if (tools_called_ && (f.reason == FinishReason::stop || f.reason == FinishReason::unknown)) {
          f.reason = FinishReason::tool_calls;
        }
        if (f.reason == FinishReason::unknown) f.reason = FinishReason::stop;
        stamp(f.reason);
        ended_ = true;
        pass(f);
        return;
      }
      case Event::Kind::error:
        failed_ = ended_ = true;
        error_.assign(e.text);
        pass(e);
        return;
      default:
        break;
    }
    pass(e);
  }

  void pass(const Event& e) {
    if (e.kind == Event::Kind::start) started_ = true;
    std::string why;
    if (encoder_->write(e, *out_, why)) return;
    failed_ = ended_ = true;
    error_ = why;
    std::string ignored;
    encoder_->write(error_event(error_), *out_, ignored);
  }

  // Durations the backend did not report: creation → first token → finish.
  void stamp(FinishReason r) {
    Usage& u = answer_.usage;
    u.done_reason.assign(finish_reason_name(r));
    if (u.total_duration_ns >= 0) return;
    int64_t now = answer_.clock->mono_ns();
    int64_t first = first_ns_ >= 0 ? first_ns_ : now;
    u.total_duration_ns = now - start_ns_;
    u.load_duration_ns = 0;
    u.prompt_eval_duration_ns = first - start_ns_;
    u.eval_duration_ns = now - first;
  }

  Answer answer_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<Encoder> encoder_;
  std::string* out_ = nullptr;
  std::string error_;
  int64_t start_ns_;
  int64_t first_ns_ = -1;
  bool started_ = false, ended_ = false, failed_ = false, tools_called_ = false;
};

struct SystemClock final : Clock {
  int64_t mono_ns() override { return now(CLOCK_MONOTONIC); }
  int64_t wall_ns() override { return now(CLOCK_REALTIME); }
  static int64_t now(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
};

}  // namespace
}  // namespace detail

StreamStats stats_of(const Usage& u) {
  StreamStats st;
  st.found = u.prompt_tokens >= 0 || u.completion_tokens >= 0;
  st.prompt_tokens = u.prompt_tokens;
  st.completion_tokens = u.completion_tokens;
  st.total_duration_ns = u.total_duration_ns;
  st.load_duration_ns = u.load_duration_ns;
  st.prompt_eval_duration_ns = u.prompt_eval_duration_ns;
  st.eval_duration_ns = u.eval_duration_ns;
  return st;
}

Usage usage_of(const StreamStats& st) {
  Usage u;
  u.prompt_tokens = st.prompt_tokens;
  u.completion_tokens = st.completion_tokens;
  u.total_duration_ns = st.total_duration_ns;
  u.load_duration_ns = st.load_duration_ns;
  u.prompt_eval_duration_ns = st.prompt_eval_duration_ns;
  u.eval_duration_ns = st.eval_duration_ns;
  return u;
}

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::stop:
      return "stop";
    case FinishReason::length:
      return "length";
    case FinishReason::tool_calls:
      return "tool_calls";
    case FinishReason::stop_sequence:
      return "stop_sequence";
    case FinishReason::content_filter:
      return "content_filter";
    case FinishReason::unknown:
      break;
  }
  return "";
}

Clock& system_clock() {
  static detail::SystemClock clock;
  return clock;
}

std::unique_ptr<ResponseTranslator> make_response_translator(Call client, Dialect backend, bool stream,
                                                             std::string_view client_model, Clock& clock,
                                                             bool include_usage) {
  return std::make_unique<detail::Pipeline>(client, backend, stream, client_model, clock, include_usage);
}

}  // namespace corral::api
