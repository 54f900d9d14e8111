// One member's health check and discovery, asynchronous on the control
// thread's loop with the same HTTP/1 client the workers use. An Ollama member:
// GET /api/version (health + version), then /api/ps (loaded models and VRAM),
// then, when discovering, /api/tags (models and sizes), one after the other on
// one kept-alive connection. An OpenAI-compatible or Anthropic member: only
// GET /v1/models with its key, at discovery time — nothing that spends tokens;
// between those its health is the circuit breaker's. Never on a worker.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "corral/route/snapshot.h"
#include "corral/upstream/client.h"

namespace corral::route {

enum class ProbeResult : uint8_t {
  pending,
  ok,
  failed,
  local_shortage,  // corral could not open a socket: says nothing about the member
};

class MemberProbe final : upstream::ClientUser, http::BodySink {
 public:
  // done: called once the verdict is in (from the loop, or from start()).
  MemberProbe(upstream::Pool& pool, std::function<void()> done);
  // seed: what is known of the member; the probe fills in what it learns.
  void start(const upstream::Target& t, bool discover, uint32_t timeout_ms, MemberView seed);
  void tick(uint64_t now_ms);  // a step past its timeout fails
  ProbeResult result() const { return result_; }
  const std::string& error() const { return err_; }
  MemberView& view() { return view_; }

 private:
  enum class Step : uint8_t { version, ps, tags, models };
  void send(Step s);
  void step_done(int status);
  void hosted_answer(int status);
  void finish(ProbeResult r);
  bool on_response_head(const http::Head& head) override;
  void on_response_bytes(core::IoBuf buf, uint32_t, uint32_t) override { buf.release(); }
  void on_response_done() override;
  void on_failure(upstream::Failure why, int err, std::string_view detail) override;
  void on_body(const char* p, size_t n) override;

  upstream::Client client_;
  std::function<void()> done_;
  upstream::Target target_;
  std::string host_;
  std::string headers_;  // a hosted member's key
  std::string request_;
  std::string body_;
  MemberView view_;
  std::string err_;
  Step step_ = Step::version;
  ProbeResult result_ = ProbeResult::pending;
  int status_ = 0;
  bool discover_ = false;
  uint32_t timeout_ms_ = 0;
  uint64_t deadline_ms_ = 0;
  int64_t sent_us_ = 0;
};

}  // namespace corral::route
