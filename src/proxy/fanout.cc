#include "corral/proxy/fanout.h"

#include <cstring>

namespace corral::proxy {
namespace {
constexpr size_t kMaxLegBody = 16u << 20;
}  // namespace

struct Fanout::Leg final : UpstreamUser, http::BodySink {
  Fanout& f;
  LegResult& out;
  std::string request;
  UpstreamConn* up = nullptr;
  bool retried = false, seen = false, finished = false;

  Leg(Fanout& fan, LegResult& r, std::string req) : f(fan), out(r), request(std::move(req)) {}

  void start(bool fresh) {
    up = f.ctx_.pool->acquire(out.slot, this, fresh);
    if (!up) return fail(std::string("connect: ") + std::strerror(errno));
    up->parser.set_sink(this);
    if (up->reused) up_connected(0);
  }

  void on_body(const char* p, size_t n) override {
    if (out.body.size() + n <= kMaxLegBody) out.body.append(p, n);
  }

  void up_connected(int err) override {
    if (err < 0) return fail(std::string("connect: ") + std::strerror(-err));
    f.ctx_.loop->send(up->sock, request.data(), static_cast<uint32_t>(request.size()));
  }
  void up_sent(int err) override {
    if (err < 0) up_eof(err);
  }

  void up_data(core::IoBuf buf) override {
    seen = true;
    auto r = up->parser.feed(buf.data, buf.len);
    size_t off = r.used;
    while (r.status == http::MessageParser::Status::head) {  // paused after a head: go on with the body
      if (up->parser.head().status() < 200) up->parser.next_message();  // interim 1xx
      r = up->parser.feed(buf.data + off, buf.len - off);
      off += r.used;
    }
    f.ctx_.loop->release(buf.id);
    if (r.status == http::MessageParser::Status::error) return fail("invalid response: " + up->parser.error_text());
    if (r.status == http::MessageParser::Status::done) {
      out.status = up->parser.head().status();
      finish(up->parser.keep_alive() && off == buf.len);
    }
  }

  void up_eof(int err) override {
    if (!seen && up->reused && !retried) {  // a stale pooled connection: once more on a fresh one
      retried = true;
      drop(false);
      return start(true);
    }
    if (seen && up->parser.body_until_eof() && up->parser.finish().status == http::MessageParser::Status::done) {
      out.status = up->parser.head().status();
      return finish(false);
    }
    fail(err < 0 ? std::string("connection lost: ") + std::strerror(-err) : "closed before responding");
  }

  void fail(std::string why) {
    out.status = 0;
    out.error = std::move(why);
    out.body.clear();
    finish(false);
  }

  void drop(bool reusable) {
    if (!up) return;
    up->parser.set_sink(nullptr);
    if (reusable) f.ctx_.pool->release(up);
    else f.ctx_.pool->discard(up);
    up = nullptr;
  }

  void finish(bool reusable) {
    drop(reusable);
    if (finished) return;
    finished = true;
    f.leg_done();
  }
};

Fanout::Fanout(WorkerContext& ctx, FanoutUser& user, const std::vector<uint8_t>& slots, std::vector<std::string> requests,
               uint64_t deadline_ms)
    : ctx_(ctx), user_(user), results_(slots.size()), deadline_ms_(deadline_ms) {
  for (size_t i = 0; i < slots.size(); ++i) {
    results_[i].slot = slots[i];
    legs_.push_back(std::make_unique<Leg>(*this, results_[i], std::move(requests[i])));
  }
}

Fanout::~Fanout() {
  for (auto& l : legs_) l->drop(false);
}

void Fanout::start() {
  pending_ = legs_.size();
  if (pending_ == 0) {
    user_.fanout_done();
    return;
  }
  for (size_t i = 0; i < legs_.size() && pending_ > 0; ++i) legs_[i]->start(false);
}

void Fanout::tick(uint64_t now_ms) {
  if (pending_ == 0 || now_ms < deadline_ms_) return;
  for (auto& l : legs_) {
    if (!l->finished) l->fail("timed out");
  }
}

void Fanout::leg_done() {
  if (--pending_ == 0) user_.fanout_done();
}

}  // namespace corral::proxy
