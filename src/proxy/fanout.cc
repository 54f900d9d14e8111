#include "corral/proxy/fanout.h"

#include <cstring>

#include "corral/proxy/context.h"

namespace corral::proxy {
namespace {
constexpr size_t kMaxLegBody = 16u << 20;

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(-err); }
}  // namespace

struct Fanout::Leg final : upstream::ClientUser, http::BodySink {
  Fanout& f;
  LegResult& out;
  std::string request;
  upstream::Client client;
  bool finished = false;

  Leg(Fanout& fan, LegResult& r, std::string req)
      : f(fan), out(r), request(std::move(req)), client(*fan.ctx_.pool, *this) {}

  void start() {
    int err = 0;
    if (!client.start(f.ctx_.target(out.slot), {request, {}, false}, this, err))
      finish_failed(errno_text("connect", err));
  }

  void on_body(const char* p, size_t n) override {
    if (out.body.size() + n <= kMaxLegBody) out.body.append(p, n);
  }
  bool on_response_head(const http::Head& h) override {
    out.status = h.status();
    return true;
  }
  void on_response_bytes(core::IoBuf buf, uint32_t, uint32_t) override { buf.release(); }
  void on_response_done() override { finish(); }
  void on_failure(upstream::Failure why, int err, std::string_view) override {
    switch (why) {
      case upstream::Failure::connect:
        return finish_failed(errno_text("connect", err));
      case upstream::Failure::bad_response:
        return finish_failed("invalid response: " + client.parse_error());
      case upstream::Failure::closed_before_response:
        return finish_failed("closed before responding");
      case upstream::Failure::closed_mid_body:
        return finish_failed(err < 0 ? errno_text("connection lost", err) : "connection lost");
    }
  }
  void finish_failed(std::string why) {
    out.status = 0;
    out.error = std::move(why);
    out.body.clear();
    finish();
  }
  void finish() {
    if (finished) return;
    finished = true;
    f.leg_done();
  }
};

Fanout::Fanout(WorkerContext& ctx, FanoutUser& user, const std::vector<uint8_t>& slots,
               std::vector<std::string> requests, uint64_t deadline_ms)
    : ctx_(ctx), user_(user), results_(slots.size()), deadline_ms_(deadline_ms) {
  for (size_t i = 0; i < slots.size(); ++i) {
    results_[i].slot = slots[i];
    legs_.push_back(std::make_unique<Leg>(*this, results_[i], std::move(requests[i])));
  }
}

Fanout::~Fanout() = default;

void Fanout::start() {
  pending_ = legs_.size();
  if (pending_ == 0) {
    user_.fanout_done();
    return;
  }
  for (size_t i = 0; i < legs_.size() && pending_ > 0; ++i) legs_[i]->start();
}

void Fanout::tick(uint64_t now_ms) {
  if (pending_ == 0 || now_ms < deadline_ms_) return;
  for (auto& l : legs_) {
    if (l->finished) continue;
    l->client.abort();
    l->finish_failed("timed out");
  }
}

void Fanout::leg_done() {
  if (--pending_ == 0) user_.fanout_done();
}

std::vector<api::LegAnswer> Fanout::answers() const {
  std::vector<api::LegAnswer> out;
  out.reserve(results_.size());
  for (const LegResult& r : results_) out.push_back({r.status, r.body, r.error});
  return out;
}

}  // namespace corral::proxy
