// Text generation: /api/generate, /api/chat, /v1/chat/completions, /v1/completions.
#include <algorithm>
#include <random>

#include "sim_api.h"
#include "sim_json.h"
#include "sim_paced.h"
#include "sim_timers.h"

namespace sim {

std::string token_text(int i, int pad) {
  std::string t = "token" + std::to_string(i);
  t.append(static_cast<size_t>(pad), '.');
  t += ' ';
  return t;
}

namespace {

constexpr int64_t kMs = 1000000;

// What one generation looks like, shared by the streamed and whole replies.
struct Gen {
  std::string model;  // as the client named it
  bool chat = false;
  int tokens = 0;
  int pad = 0;
  int ttft_ms = 0, delay_ms = 0;
  int64_t prompt_count = 1;
  std::string done_reason = "stop";
  std::string context;                       // generate only: the "context" array
  std::shared_ptr<const Measured> measured;  // resource model: what it took

  // Ollama's final statistics: what the resource model measured, else
  // deterministic from the configured delays.
  void stats(Json& j) const {
    if (measured) {
      j.num("total_duration", measured->total_ns).num("load_duration", measured->load_ns);
      j.num("prompt_eval_count", measured->prompt_eval_count).num("prompt_eval_duration", measured->prompt_eval_ns);
      j.num("eval_count", tokens).num("eval_duration", measured->eval_ns);
      return;
    }
    int64_t load = kMs;
    int64_t prompt_eval = ttft_ms > 0 ? ttft_ms * kMs : kMs;
    int64_t eval = static_cast<int64_t>(tokens) * (delay_ms > 0 ? delay_ms * kMs : kMs);
    j.num("total_duration", load + prompt_eval + eval).num("load_duration", load);
    j.num("prompt_eval_count", prompt_count).num("prompt_eval_duration", prompt_eval);
    j.num("eval_count", tokens).num("eval_duration", eval);
  }
  void piece(Json& j, std::string_view text) const {
    if (chat) j.key("message").begin_object().str("role", "assistant").str("content", text).end_object();
    else j.str("response", text);
  }
  std::string line(std::string_view text) const {
    Json j;
    j.begin_object().str("model", model).str("created_at", rfc3339_now());
    piece(j, text);
    j.boolean("done", false).end_object();
    return j.take() + "\n";
  }
  std::string final_object(std::string_view text) const {
    Json j;
    j.begin_object().str("model", model).str("created_at", rfc3339_now());
    piece(j, text);
    j.boolean("done", true).str("done_reason", done_reason);
    if (!chat) j.raw("context", context);
    stats(j);
    return j.end_object().take();
  }
};

class OllamaStream final : public Producer {
 public:
  explicit OllamaStream(Gen g) : g_(std::move(g)) {}
  int64_t next_delay_ns() override {
    if (i_ < g_.tokens) return (i_ == 0 ? g_.ttft_ms : g_.delay_ms) * kMs;
    if (done_) return kDone;
    return g_.tokens == 0 ? g_.ttft_ms * kMs : 0;
  }
  void next(Chunk& c) override {
    if (i_ < g_.tokens) {
      c.token = true;
      c.data = g_.line(token_text(i_++, g_.pad));
      return;
    }
    done_ = true;
    c.token = false;
    c.data = g_.final_object("") + "\n";
  }

 private:
  Gen g_;
  int i_ = 0;
  bool done_ = false;
};

std::string context_array(std::string_view prompt, int tokens) {
  Json j;
  j.begin_array();
  size_t count = 0;
  for (size_t i = 0; i < prompt.size() && count < 2048;) {
    while (i < prompt.size() && prompt[i] == ' ') ++i;
    size_t s = i;
    while (i < prompt.size() && prompt[i] != ' ') ++i;
    if (i > s) {
      j.num(static_cast<int64_t>(fnv1a(prompt.substr(s, i - s)) % 128000));
      ++count;
    }
  }
  for (int t = 0; t < tokens && count < 4096; ++t, ++count) j.num(128000 + t);
  return j.end_array().take();
}

bool keep_alive_zero(const Body& body) {
  if (!body.has("keep_alive")) return false;
  if (body.integer("keep_alive", -1) == 0) return true;
  std::string s = body.str("keep_alive");
  return s == "0" || s == "0s" || s == "0m" || s == "0h";
}

std::string reply_text(int tokens, int pad) {
  std::string text;
  for (int i = 0; i < tokens; ++i) text += token_text(i, pad);
  return text;
}

// Under the resource model: `p` (a stream, or a whole body) played on the
// scheduler's times; Ollama's 503 when its queue is full.
Reply paced_reply(Ctx& ctx, Job job, std::unique_ptr<Producer> p, int tokens, const Knobs& k, bool stream,
                  const char* content_type, std::shared_ptr<Measured> measured, bool openai) {
  std::unique_ptr<Producer> s =
      paced(*ctx.res, std::move(job), std::move(p), tokens, k.token_delay_ms, std::move(measured));
  if (!s) return openai ? openai_error(503, kServerBusy) : error_reply(503, kServerBusy);
  Reply r;
  r.content_type = content_type;
  r.stream = std::move(s);
  r.buffered = !stream;
  return r;
}

}  // namespace

Reply ollama_generate(const Request& req, const Body& body, const std::string& model_name, bool chat, Ctx& ctx) {
  const Knobs& k = req.knobs;
  std::string prompt = chat ? "" : body.str("system") + " " + body.str("prompt");
  bool empty = chat ? !body.has_messages() : body.str("prompt").empty();
  Model m;
  ctx.state.find(model_name, &m);
  if (empty) {  // Ollama: an empty prompt only loads (or, with keep_alive 0, unloads) the model
    bool unload = keep_alive_zero(body);
    Json j;
    j.begin_object().str("model", model_name).str("created_at", rfc3339_now());
    if (chat) j.key("message").begin_object().str("role", "assistant").str("content", "").end_object();
    else j.str("response", "");
    j.boolean("done", true).str("done_reason", unload ? "unload" : "load").end_object();
    std::string answer = j.take();
    if (ctx.res && !unload) {  // answered once the model is in VRAM
      return paced_reply(ctx, make_job(body, chat, m, k, 0, ctx.opt.res), whole_body(0, [answer] { return answer; }), 0,
                         k, false, kJson, std::make_shared<Measured>(), false);
    }
    if (ctx.res) ctx.res->unload(m.name, now_ns());
    else ctx.state.set_loaded(model_name, !unload);
    return json_reply(200, answer);
  }
  Gen g;
  g.model = model_name;
  g.chat = chat;
  g.tokens = k.tokens;
  g.pad = k.token_pad;
  g.ttft_ms = k.ttft_ms;
  g.delay_ms = k.token_delay_ms;
  int64_t limit = body.integer("options", "num_predict", -1);
  if (limit >= 0 && limit < g.tokens) {
    g.tokens = static_cast<int>(limit);
    g.done_reason = "length";
  }
  g.prompt_count = std::max<int64_t>(1, chat ? body.message_words() : count_words(prompt));
  if (!chat) g.context = context_array(prompt, g.tokens);

  bool stream = body.flag("stream", true);
  if (ctx.res) {
    auto measured = std::make_shared<Measured>();
    g.measured = measured;
    Job job = make_job(body, chat, m, k, g.tokens, ctx.opt.res);
    std::unique_ptr<Producer> p;
    if (stream) p = std::make_unique<OllamaStream>(g);
    else p = whole_body(g.tokens, [g] { return g.final_object(reply_text(g.tokens, g.pad)); });
    return paced_reply(ctx, std::move(job), std::move(p), g.tokens, k, stream, stream ? kNdjson : kJson, measured,
                       false);
  }
  if (stream) {
    Reply r;
    r.content_type = kNdjson;
    r.stream = std::make_unique<OllamaStream>(std::move(g));
    return r;
  }
  Reply r = json_reply(200, g.final_object(reply_text(g.tokens, g.pad)));
  r.delay_ms = g.ttft_ms + g.tokens * g.delay_ms;
  r.tokens = g.tokens;
  return r;
}

namespace {

struct OaiGen {
  bool chat = true;
  std::string id, model, finish = "stop";
  int64_t created = 0;
  int tokens = 0, pad = 0, ttft_ms = 0, delay_ms = 0;
  int64_t prompt_tokens = 1;

  void head(Json& j, bool chunk) const {
    j.begin_object().str("id", id);
    j.str("object", !chat ? "text_completion" : chunk ? "chat.completion.chunk" : "chat.completion");
    j.num("created", created).str("model", model).str("system_fingerprint", "fp_ollama");
  }
  void usage(Json& j) const {
    j.key("usage").begin_object().num("prompt_tokens", prompt_tokens).num("completion_tokens", tokens);
    j.num("total_tokens", prompt_tokens + tokens).end_object();
  }
  void choice(Json& j, std::string_view text, bool delta, const char* finish_reason) const {
    j.begin_object();
    if (chat) {
      j.num("index", 0)
          .key(delta ? "delta" : "message")
          .begin_object()
          .str("role", "assistant")
          .str("content", text)
          .end_object();
    } else {
      j.str("text", text).num("index", 0);
    }
    j.key("finish_reason");
    if (finish_reason) j.str(finish_reason);
    else j.null();
    j.end_object();
  }
  std::string event(std::string_view text, const char* finish_reason) const {
    Json j;
    head(j, true);
    j.key("choices").begin_array();
    choice(j, text, true, finish_reason);
    j.end_array().end_object();
    return "data: " + j.take() + "\n\n";
  }
  std::string usage_event() const {
    Json j;
    head(j, true);
    j.key("choices").begin_array().end_array();
    usage(j);
    j.end_object();
    return "data: " + j.take() + "\n\n";
  }
};

class OpenAIStream final : public Producer {
 public:
  OpenAIStream(OaiGen g, bool include_usage) : g_(std::move(g)), usage_(include_usage) {}
  int64_t next_delay_ns() override {
    if (i_ < g_.tokens) return (i_ == 0 ? g_.ttft_ms : g_.delay_ms) * kMs;
    if (phase_ == 1 && !usage_) phase_ = 2;
    if (phase_ > 2) return kDone;
    return phase_ == 0 && g_.tokens == 0 ? g_.ttft_ms * kMs : 0;
  }
  void next(Chunk& c) override {
    c.token = i_ < g_.tokens;
    if (c.token) {
      c.data = g_.event(token_text(i_++, g_.pad), nullptr);
      return;
    }
    switch (phase_++) {
      case 0:
        c.data = g_.event("", g_.finish.c_str());
        break;  // finish_reason
      case 1:
        c.data = g_.usage_event();
        break;  // stream_options.include_usage
      default:
        c.data = "data: [DONE]\n\n";
    }
  }

 private:
  OaiGen g_;
  bool usage_;
  int i_ = 0, phase_ = 0;
};

}  // namespace

Reply openai_generate(const Request& req, const Body& body, const std::string& model_name, bool chat, Ctx& ctx) {
  const Knobs& k = req.knobs;
  thread_local std::minstd_rand rng(std::random_device{}());
  OaiGen g;
  g.chat = chat;
  g.id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(rng() % 1000);
  g.model = model_name;
  g.created = unix_now();
  g.tokens = k.tokens;
  g.pad = k.token_pad;
  g.ttft_ms = k.ttft_ms;
  g.delay_ms = k.token_delay_ms;
  int64_t limit = body.integer("max_tokens", body.integer("max_completion_tokens", -1));
  if (limit >= 0 && limit < g.tokens) {
    g.tokens = static_cast<int>(limit);
    g.finish = "length";
  }
  int64_t words = 0;
  if (chat) {
    words = body.message_words();
  } else {
    for (const std::string& p : body.strings("prompt")) words += count_words(p);
  }
  g.prompt_tokens = std::max<int64_t>(1, words);

  bool stream = body.flag("stream", false);
  bool usage = body.object_flag("stream_options", "include_usage", false);
  auto whole = [g] {
    Json j;
    g.head(j, false);
    j.key("choices").begin_array();
    g.choice(j, reply_text(g.tokens, g.pad), false, g.finish.c_str());
    j.end_array();
    g.usage(j);
    j.end_object();
    return j.take();
  };
  if (ctx.res) {
    Model m;
    ctx.state.find(model_name, &m);
    Job job = make_job(body, chat, m, k, g.tokens, ctx.opt.res);
    std::unique_ptr<Producer> p;
    if (stream) p = std::make_unique<OpenAIStream>(g, usage);
    else p = whole_body(g.tokens, whole);
    return paced_reply(ctx, std::move(job), std::move(p), g.tokens, k, stream, stream ? kSse : kJson,
                       std::make_shared<Measured>(), true);
  }
  if (stream) {
    Reply r;
    r.content_type = kSse;
    r.stream = std::make_unique<OpenAIStream>(std::move(g), usage);
    return r;
  }
  Reply r = json_reply(200, whole());
  r.delay_ms = g.ttft_ms + g.tokens * g.delay_ms;
  r.tokens = g.tokens;
  return r;
}

}  // namespace sim
