// One request and its answer: everything a Session knows about the request in
// flight, reset in one place (begin()) and given back to the worker's pool
// when the request ends, so an idle connection holds none of it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "corral/api/endpoint.h"
#include "corral/api/final_stats.h"
#include "corral/api/prompt.h"
#include "corral/auth/gate.h"
#include "corral/http/parser.h"
#include "corral/http/response.h"
#include "corral/metrics/registry.h"
#include "corral/proxy/output.h"
#include "corral/proxy/route_attempt.h"
#include "corral/proxy/transform.h"
#include "corral/upstream/client.h"

namespace corral::proxy {

class Fanout;

// De-chunked bytes of a body, for the stages that read what was sent rather
// than how it was framed.
class BodyCopy final : public http::BodySink {
 public:
  void on_body(const char* p, size_t n) override { text.append(p, n); }
  std::string text;
};

// Keeps the response's final-stats tail and analytics preview.
class ResponseSample final : public http::BodySink {
 public:
  void on_body(const char* p, size_t n) override { sample.add(p, n); }
  api::BodySample sample;
};

// What the request body says (the bytes stay as they are).
struct RequestFacts {
  std::string model;  // the real name (an alias resolved; the alias itself is in Uncommon)
  std::string prompt_preview;
  uint64_t affinity = 0;
  int complexity_score = -1;
  api::ComplexityClass complexity = api::kLow;
  uint32_t prompt_chars = 0;
  bool pull = false;
  uint8_t category = metrics::kCategoryNone;
  int8_t stream = -1;  // the stream flag (or its endpoint's default), -1: none
};

// What few requests need, kept out of line so that an ordinary exchange (and so
// every held stream) does not carry it: made on first use, then kept with the
// pooled exchange (BodySink pointers to it stay valid) and cleared by begin().
struct Uncommon {
  http::LocalResponse refusal;  // refused on its head: sent once the body is read and dropped
  BodyCopy plain_body;          // the request body de-chunked, when it came chunked
  ErrorBody error_body;         // a translated request's error answer, put in the client's shape
  std::string holding_for;      // waiting (on_demand.hold) for this on-demand backend to come up
  std::string alias;            // the model name the client asked for, when it was an alias
  std::string copy_source;      // /api/copy's source model
  std::string attempt_path;     // the backend's path and body when the attempt's plan is `rewritten`
  std::string attempt_body;
  AnswerTransform transform;  // joins the answer when the plan translates or renames it
  void clear();
};

struct Exchange {
  Exchange(const http::Limits& limits, upstream::Pool& pool, upstream::ClientUser& user);
  ~Exchange();
  // A new request begins (its first byte arrived at start_us).
  void begin(int64_t start_us, uint32_t response_sample_bytes);
  // Gives back buffers grown past what an ordinary request needs.
  void trim();

  http::MessageParser req;
  api::Endpoint endpoint = api::kOther;
  bool head_only = false;
  bool keep_alive = true;
  bool counted = false;
  bool denied = false;  // refused on its head: the body is read and dropped, then uncommon().refusal sent
  bool attempt_open = false;
  bool response_done = false;
  bool head_queued = false;
  std::string request_id;
  RequestFacts facts;
  std::string body;        // raw request body bytes, forwarded verbatim
  std::string up_request;  // rewritten head for the backend

  // Who is asking (auth on): the key, its table (kept alive for the request) and its concurrency slot.
  std::shared_ptr<const auth::KeyTable> keys;
  const auth::KeyEntry* key = nullptr;
  auth::Admission admission;

  // The answer.
  ClientOutput out;
  RouteAttempt route;
  upstream::Client client;
  std::unique_ptr<Fanout> fanout;
  ResponseSample sample;  // response body: final stats (tail), analytics preview (head)
  AttemptPlan plan;       // how this attempt's request and answer differ from the client's and the backend's
  uint8_t backend = metrics::kBackendNone;
  int status = 0;
  uint32_t local_body_at = 0;    // where a local answer's body starts in out_head
  bool relayed_line_end = true;  // the last byte relayed verbatim ended a line (or none was)
  std::string out_head;          // response head (and a small first body piece)
  int64_t start_us = 0;
  int64_t first_byte_us = 0;
  uint64_t bytes_out = 0;

  Uncommon& uncommon() {
    if (!uncommon_) uncommon_ = std::make_unique<Uncommon>();
    return *uncommon_;
  }
  // The request body as sent, whatever its framing.
  std::string& sent_body() { return req.chunked() ? uncommon().plain_body.text : body; }
  std::string_view holding_for() const { return uncommon_ ? std::string_view(uncommon_->holding_for) : ""; }
  std::string_view alias() const { return uncommon_ ? std::string_view(uncommon_->alias) : ""; }
  std::string_view copy_source() const { return uncommon_ ? std::string_view(uncommon_->copy_source) : ""; }
  // The response transform, when one joined this answer; else null.
  AnswerTransform* transform() { return uncommon_ && uncommon_->transform.active() ? &uncommon_->transform : nullptr; }
  // What the pool does as it takes the exchange back: the request's backend
  // connection, fan-out, transform and key hold nothing past the request.
  void release();

 private:
  std::unique_ptr<Uncommon> uncommon_;
};

}  // namespace corral::proxy
