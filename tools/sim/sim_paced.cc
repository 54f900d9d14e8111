#include "sim_paced.h"

#include <algorithm>

#include "sim_timers.h"

namespace sim {

const char* const kServerBusy = "server busy, please try again.  maximum pending requests exceeded";

namespace {

uint64_t message_hash(uint64_t prev, const std::string& role, const std::string& text) {
  return fnv1a(text, fnv1a(role, prev));
}

void add_prefix(Job& j, uint64_t hash, int64_t words) {
  j.prefix_hash.push_back(hash);
  j.prefix_tokens.push_back((j.prefix_tokens.empty() ? 0 : j.prefix_tokens.back()) + words);
}

int64_t keep_alive_ms(const Body& body, const ResourceOptions& o) {
  if (!body.has("keep_alive")) return o.keep_alive_ms;
  int64_t ms = 0;
  std::string s = body.str("keep_alive");
  if (!s.empty()) return parse_keep_alive(s, ms) ? ms : o.keep_alive_ms;
  int64_t seconds = body.integer("keep_alive", 0);
  return seconds < 0 ? -1 : seconds * 1000;
}

class PacedStream final : public Producer {
 public:
  PacedStream(Resources& res, Job job, std::unique_ptr<Producer> inner, int tokens, int delay_ms,
              std::shared_ptr<Measured> measured)
      : res_(res),
        ticket_(res, std::move(job)),
        inner_(std::move(inner)),
        tokens_(tokens),
        delay_ms_(delay_ms),
        measured_(std::move(measured)) {}
  ~PacedStream() override { res_.release(ticket_, now_ns()); }
  bool admit() { return res_.admit(ticket_, now_ns()); }

  int64_t next_delay_ns() override {
    int64_t structure = inner_->next_delay_ns();
    if (structure < 0) return structure;
    if (ticket_.state() != Ticket::State::running) return kWait;
    if (chunk_ >= tokens_) return chunk_ == 0 ? std::max<int64_t>(0, ticket_.first_token_at() - now_ns()) : 0;
    int64_t token = res_.token_ns(ticket_, delay_ms_);
    measured_->eval_ns += res_.to_model(token);
    // The first token comes after the load and the prompt evaluation.
    return chunk_ == 0 ? std::max<int64_t>(0, ticket_.first_token_at() - now_ns()) + token : token;
  }
  void next(Chunk& c) override {
    if (chunk_ == 0) {
      measured_->load_ns = ticket_.load_ns;
      measured_->prompt_eval_ns = ticket_.prompt_eval_ns;
      measured_->prompt_eval_count = ticket_.prompt_eval_count;
    }
    if (chunk_ >= tokens_) measured_->total_ns = res_.to_model(now_ns() - ticket_.admitted_at);
    ++chunk_;
    inner_->next(c);
  }
  void park(std::function<void()> wake) override { ticket_.on_start(std::move(wake)); }

 private:
  Resources& res_;
  Ticket ticket_;
  std::unique_ptr<Producer> inner_;
  int tokens_, delay_ms_;
  int chunk_ = 0;
  std::shared_ptr<Measured> measured_;
};

class WholeBody final : public Producer {
 public:
  WholeBody(int tokens, std::function<std::string()> body) : tokens_(tokens), body_(std::move(body)) {}
  int64_t next_delay_ns() override { return i_ > tokens_ ? kDone : 0; }
  void next(Chunk& c) override {
    c.token = i_ < tokens_;
    c.data = c.token ? std::string() : body_();
    ++i_;
  }

 private:
  int tokens_;
  int i_ = 0;
  std::function<std::string()> body_;
};

}  // namespace

Job make_job(const Body& body, bool chat, const Model& m, const Knobs& k, int tokens, const ResourceOptions& o) {
  Job j;
  j.model = m.name;
  j.size = m.size;
  j.tokens = tokens;
  j.fixed_ms = k.ttft_ms;
  j.keep_alive_ms = keep_alive_ms(body, o);
  if (chat) {
    uint64_t h = 0;
    for (const Body::Message& msg : body.messages()) {
      h = message_hash(h, msg.role, msg.text);
      add_prefix(j, h, count_words(msg.text));
    }
    return j;
  }
  std::string prompt = body.str("system");
  for (const std::string& p : body.strings("prompt")) prompt += "\n" + p;  // a string, or a list (OpenAI completions)
  if (count_words(prompt) > 0) add_prefix(j, message_hash(0, "prompt", prompt), count_words(prompt));
  return j;
}

std::unique_ptr<Producer> paced(Resources& res, Job job, std::unique_ptr<Producer> inner, int tokens,
                                int token_delay_ms, std::shared_ptr<Measured> measured) {
  auto p =
      std::make_unique<PacedStream>(res, std::move(job), std::move(inner), tokens, token_delay_ms, std::move(measured));
  if (!p->admit()) return nullptr;
  return p;
}

std::unique_ptr<Producer> whole_body(int tokens, std::function<std::string()> body) {
  return std::make_unique<WholeBody>(tokens, std::move(body));
}

}  // namespace sim
