// The response transform stage: joins an exchange when the response head
// arrives, only when the plan says the answer must change (another API's
// answer translated, or an alias's answers renamed). It takes the backend's
// de-chunked body bytes in any split, queues the client's body as HTTP chunks,
// and reports usage for metrics, limits and analytics. Otherwise bytes pass
// untouched, zero copy.
#pragma once
#include <memory>
#include <string>

#include "corral/api/final_stats.h"
#include "corral/api/translate.h"
#include "corral/http/parser.h"
#include "corral/proxy/output.h"

namespace corral::proxy {

// How one attempt at one backend differs from what the client sent.
struct AttemptPlan {
  api::Dialect backend = api::Dialect::ollama;
  bool translate = false;  // the backend speaks another API: call → backend
  api::Call call = api::Call::ollama_chat;
  bool rename = false;  // an alias passed through: answers get the client's name back
  bool stream = false;
  bool include_usage = false;
  bool rewritten = false;  // the backend gets Uncommon's attempt_path and attempt_body
  void reset() { *this = AttemptPlan(); }
};

class AnswerTransform final : public http::BodySink {
 public:
  // sample: also gets the client's bytes (the analytics preview shows what the client got).
  void start(std::unique_ptr<api::ResponseTranslator> t, ClientOutput& out, api::BodySample& sample);
  void on_body(const char* p, size_t n) override;
  void finish();  // the backend's body ended: the last bytes and the terminating chunk
  // The backend went away mid-answer: the client's error form (the translator's
  // end of an incomplete answer) and no terminating chunk.
  void abort();
  bool active() const { return t_ != nullptr; }
  bool produced() const { return produced_; }  // a client byte came out
  bool failed() const { return t_ && t_->failed(); }
  const api::Usage& usage() const { return t_->usage(); }
  std::string_view content_type() const { return t_->content_type(); }
  void reset();

 private:
  void emit();
  std::unique_ptr<api::ResponseTranslator> t_;
  ClientOutput* out_ = nullptr;
  api::BodySample* sample_ = nullptr;
  std::string scratch_;
  bool produced_ = false;
};

// A backend's error answer, kept whole (bounded) to be put in the client's shape.
class ErrorBody final : public http::BodySink {
 public:
  static constexpr size_t kMax = 65536;
  void on_body(const char* p, size_t n) override;
  std::string text;
};

}  // namespace corral::proxy
