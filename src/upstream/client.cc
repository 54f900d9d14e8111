#include "corral/upstream/client.h"

#include "corral/core/clock.h"

namespace corral::upstream {
namespace {
const http::Limits kResponseLimits{65536, 500, ~0ull};
}  // namespace

Client::Client(Pool& pool, ClientUser& user)
    : pool_(pool), user_(&user), parser_(http::MessageParser::Kind::response, kResponseLimits) {}

Client::~Client() { abort(); }

bool Client::start(const Target& t, const Request& r, http::BodySink* sink, int& err) {
  abort();
  slot_ = t.slot;
  head_ = r.head;
  body_ = r.body;
  head_only_ = r.head_only;
  sink_ = sink;
  retried_ = false;
  return connect(&t, err);
}

bool Client::connect(const Target* t, int& err) {
  parser_.reset();
  parser_.set_sink(sink_);
  head_sent_ = body_sent_ = seen_ = head_done_ = paused_ = relayed_between_chunks_ = false;
  relayed_last_body_byte_ = 0;
  connect_us_ = -1;
  connect_start_us_ = core::mono_us();
  conn_ = t ? pool_.acquire(*t, this, false, err) : pool_.acquire(pool_.target(slot_), this, true, err);
  if (!conn_) return false;
  if (conn_->reused()) on_connected(0);
  return true;
}

void Client::on_connected(int err) {
  if (err < 0) {
    std::string detail(conn_->io().error());  // the connection goes before the user hears of it
    fail(Failure::connect, err, detail);
    return;
  }
  if (!conn_->reused()) {
    connect_us_ = core::mono_us() - connect_start_us_;
    user_->on_upstream_connected();
    if (!conn_) return;
  }
  head_sent_ = true;
  conn_->io().send(head_.data(), static_cast<uint32_t>(head_.size()));
}

void Client::on_sent(int err) {
  if (err < 0) {
    stale_or_fail(err);
    return;
  }
  if (!body_sent_ && !body_.empty()) {
    body_sent_ = true;
    conn_->io().send(body_.data(), static_cast<uint32_t>(body_.size()));
  }
}

// A pooled connection the backend closed before reading: once more on a
// fresh one, as long as no response byte came back.
void Client::stale_or_fail(int err) {
  bool stale = conn_->reused() && !retried_ && !seen_;
  drop(false);
  if (!stale) {
    fail(Failure::closed_before_response, err);
    return;
  }
  retried_ = true;
  int e = 0;
  if (!connect(nullptr, e)) fail(Failure::connect, e);
}

void Client::on_data(core::IoBuf buf) {
  seen_ = true;
  size_t off = 0;
  if (!head_done_ && !read_head(buf, off)) return;
  read_body(buf, off);
}

// True once the final head is in and delivered, with off at the first body byte.
bool Client::read_head(core::IoBuf buf, size_t& off) {
  while (!head_done_) {
    auto r = parser_.feed(buf.data + off, buf.len - off);
    off += r.used;
    if (r.status == http::MessageParser::Status::error) {
      buf.release();
      fail(Failure::bad_response, 0);
      return false;
    }
    if (r.status == http::MessageParser::Status::done) {  // an interim 1xx answer ended: not relayed
      parser_.next_message();
      continue;
    }
    if (r.status != http::MessageParser::Status::head) {
      buf.release();
      return false;
    }
    if (parser_.head().status() < 200) continue;  // its end follows
    head_done_ = true;
    relayed_between_chunks_ = parser_.between_chunks();
    if (head_only_) parser_.skip_body();
    Connection* before = conn_;
    if (!user_->on_response_head(parser_.head()) || conn_ != before) {
      buf.release();
      return false;
    }
  }
  return true;
}

void Client::read_body(core::IoBuf buf, size_t off) {
  auto r = parser_.feed(buf.data + off, buf.len - off);
  if (r.status == http::MessageParser::Status::error) {
    buf.release();
    fail(Failure::bad_response, 0);
    return;
  }
  bool done = r.status == http::MessageParser::Status::done;
  bool excess = off + r.used < buf.len;  // bytes past the response: the connection is not trusted
  relayed_between_chunks_ = parser_.between_chunks();
  relayed_last_body_byte_ = parser_.last_body_byte();
  user_->on_response_bytes(buf, static_cast<uint32_t>(off), static_cast<uint32_t>(r.used));
  if (done && conn_) complete(!excess && parser_.keep_alive() && !parser_.framing_suspect());
}

void Client::on_eof(int err) {
  if (!head_done_) {
    stale_or_fail(err);
    return;
  }
  if (parser_.body_until_eof() && parser_.finish().status == http::MessageParser::Status::done) {
    complete(false);
    return;
  }
  fail(Failure::closed_mid_body, err);
}

void Client::complete(bool reusable) {
  drop(reusable);
  user_->on_response_done();
}

void Client::fail(Failure why, int err, std::string_view detail) {
  drop(false);
  user_->on_failure(why, err, detail);
}

void Client::drop(bool reusable) {
  Connection* c = conn_;
  if (!c) return;
  conn_ = nullptr;
  parser_.set_sink(nullptr);
  if (paused_ && reusable) c->io().resume();
  paused_ = false;
  if (reusable) pool_.release(c);
  else pool_.discard(c);
}

void Client::abort() { drop(false); }

void Client::set_sink(http::BodySink* sink) {
  sink_ = sink;
  parser_.set_sink(sink);
}

void Client::pause() {
  if (!conn_ || paused_) return;
  paused_ = true;
  conn_->io().pause();
}

void Client::resume() {
  if (!conn_ || !paused_) return;
  paused_ = false;
  conn_->io().resume();
}

}  // namespace corral::upstream
