#include "corral/route/probe.h"

#include <cstring>

#include "corral/api/provider.h"
#include "corral/core/clock.h"
#include "corral/route/discovery.h"

namespace corral::route {
namespace {
constexpr size_t kMaxBody = 16u << 20;

const char* path_of(int step) {
  static const char* const kPaths[] = {"/api/version", "/api/ps", "/api/tags", "/v1/models"};
  return kPaths[step];
}
}  // namespace

MemberProbe::MemberProbe(upstream::Pool& pool, std::function<void()> done)
    : client_(pool, *this), done_(std::move(done)) {}

void MemberProbe::start(const upstream::Target& t, bool discover, uint32_t timeout_ms, MemberView seed) {
  target_ = t;
  host_.assign(t.host_header);
  target_.host_header = host_;
  discover_ = discover;
  timeout_ms_ = timeout_ms;
  view_ = std::move(seed);
  err_.clear();
  result_ = ProbeResult::pending;
  api::Dialect d = dialect_of(view_.cfg);
  if (d == api::Dialect::ollama) {
    send(Step::version);
    return;
  }
  if (!discover) {  // passive between discovery rounds: as it was last seen
    result_ = view_.healthy || view_.last_seen_unix == 0 ? ProbeResult::ok : ProbeResult::failed;
    if (result_ == ProbeResult::failed) err_ = view_.last_error;
    if (done_) done_();
    return;
  }
  headers_ = api::provider_headers(d, view_.cfg.api_key);
  send(Step::models);
}

void MemberProbe::send(Step s) {
  step_ = s;
  status_ = 0;
  body_.clear();
  request_ = std::string("GET ") + path_of(static_cast<int>(s)) + " HTTP/1.1\r\nHost: " + host_ +
             "\r\nUser-Agent: corral-health\r\n" + headers_ + "\r\n";
  deadline_ms_ = static_cast<uint64_t>(core::mono_us() / 1000) + timeout_ms_;
  sent_us_ = core::mono_us();
  int err = 0;
  if (client_.start(target_, {request_, {}, false}, this, err)) return;
  err_ = std::string("corral could not open a socket: ") + std::strerror(-err);
  finish(core::local_shortage(-err) ? ProbeResult::local_shortage : ProbeResult::failed);
}

void MemberProbe::tick(uint64_t now_ms) {
  if (result_ != ProbeResult::pending || now_ms < deadline_ms_) return;
  err_ = client_.connecting() ? "connect timed out" : "no response in time";
  client_.abort();
  step_done(0);
}

bool MemberProbe::on_response_head(const http::Head& head) {
  status_ = head.status();
  return true;
}

void MemberProbe::on_body(const char* p, size_t n) {
  if (body_.size() + n <= kMaxBody) body_.append(p, n);
}

void MemberProbe::on_response_done() { step_done(status_); }

void MemberProbe::on_failure(upstream::Failure why, int err, std::string_view detail) {
  if (!detail.empty()) err_.assign(detail);
  else if (why == upstream::Failure::bad_response) err_ = "no HTTP response";
  else err_ = err < 0 ? std::strerror(-err) : "closed before responding";
  step_done(0);
}

// One request answered (status 0: not answered); the next one, or the verdict.
void MemberProbe::step_done(int status) {
  if (result_ != ProbeResult::pending) return;
  switch (step_) {
    case Step::version:
      if (status == 0 || status >= 500) {
        if (status >= 500) err_ = "GET /api/version: status " + std::to_string(status);
        finish(ProbeResult::failed);
        return;
      }
      view_.latency_ms = double(core::mono_us() - sent_us_) / 1000.0;
      if (status == 200) parse_version(body_, view_.version);
      send(Step::ps);
      return;
    case Step::ps:
      if (status != 200 || !parse_ps(body_, view_.loaded)) view_.loaded.clear();
      if (!discover_) {
        finish(ProbeResult::ok);
        return;
      }
      send(Step::tags);
      return;
    case Step::tags: {
      std::vector<ModelInfo> models;
      if (status == 200 && parse_tags(body_, models)) {
        view_.models = std::move(models);  // a failed listing keeps the last one known
        view_.models_known = true;
      }
      finish(ProbeResult::ok);
      return;
    }
    case Step::models:
      hosted_answer(status);
      return;
  }
}

// A hosted member's GET /v1/models: reachable and the key accepted is healthy;
// its list is the models unless the config names them.
void MemberProbe::hosted_answer(int status) {
  if (status == 401 || status == 403) {
    err_ = "GET /v1/models: status " + std::to_string(status) + " (the provider refused the key in " +
           view_.cfg.api_key_env + ")";
    finish(ProbeResult::failed);
    return;
  }
  if (status == 0 || status >= 500) {
    if (status >= 500) err_ = "GET /v1/models: status " + std::to_string(status);
    finish(ProbeResult::failed);
    return;
  }
  std::vector<ModelInfo> models;
  if (view_.cfg.models.empty() && status == 200 && parse_model_list(body_, models)) {
    view_.models = std::move(models);
    view_.models_known = true;
  }
  finish(ProbeResult::ok);
}

void MemberProbe::finish(ProbeResult r) {
  if (r == ProbeResult::ok) err_.clear();
  result_ = r;
  if (done_) done_();
}

}  // namespace corral::route
