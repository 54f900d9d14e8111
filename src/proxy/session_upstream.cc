// Backend side of a session: connect or reuse, send the request, relay the
// response head (rewritten) and body (verbatim, zero-copy), retry and errors.
#include <cstring>

#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {
// A first body piece this small rides in the head's send instead of its own.
constexpr size_t kCoalesceBytes = 4096;
}  // namespace

void Session::start_upstream(uint8_t slot) {
  state_ = State::upstream;
  route::Backend& be = ctx_.backend(slot);
  up_request_.clear();
  http::ForwardInfo fi;
  fi.path_prefix_strip = endpoint_ != kOther && req_.head().path().starts_with(kProxyPrefix) ? kProxyPrefix : "";
  fi.upstream_host = be.host_header;
  fi.client_ip = client_ip_;
  fi.request_id = request_id_;
  http::build_upstream_request(req_.head(), fi, up_request_);
  body_sent_ = false;
  response_seen_ = false;
  upstream_reusable_ = true;
  backend_ = slot;
  up_ = ctx_.pool->acquire(slot, this, /*fresh=*/retried_);
  if (!up_) {
    int e = errno;
    ctx_.metrics->error(metrics::kErrConnect);
    if (core::local_shortage(e)) {  // corral's own limit: no backend is to blame, none would do better
      fail_upstream(503, std::string("corral cannot open a backend connection: ") + std::strerror(e) +
                             " (raise the open-file limit: LimitNOFILE / ulimit -n)");
      return;
    }
    attempt_failed(502, "backend " + be.url + " unreachable: " + std::strerror(e), true);
    return;
  }
  metrics::bump(ctx_.metrics->backend_started[slot]);
  if (metrics::kEnabled || ctx_.records) up_->parser.set_sink(&sample_);
  connect_start_us_ = core::mono_us();
  if (up_->reused) {
    up_connected(0);
  } else {
    set_deadline(ctx_.cfg->timeouts.connect_ms);
  }
}

void Session::up_connected(int err) {
  if (!up_->reused && err == 0) connect_us_ = core::mono_us() - connect_start_us_;
  if (err < 0) {
    ctx_.metrics->error(metrics::kErrConnect);
    attempt_failed(502, "backend " + ctx_.backend(backend_).url + " unreachable: " + std::strerror(-err), true);
    return;
  }
  set_deadline(ctx_.cfg->timeouts.first_byte_ms);
  ctx_.loop->send(up_->sock, up_request_.data(), static_cast<uint32_t>(up_request_.size()));
}

void Session::up_sent(int err) {
  if (err < 0) {
    retry_or_fail(err);
    return;
  }
  if (!body_sent_ && !body_.empty()) {
    body_sent_ = true;
    ctx_.loop->send(up_->sock, body_.data(), static_cast<uint32_t>(body_.size()));
  }
}

// A pooled connection the backend closed before reading: one fresh retry,
// as long as no response byte came back.
void Session::retry_or_fail(int err) {
  bool can_retry = up_ && up_->reused && !retried_ && !response_seen_;
  drop_upstream(false);
  if (can_retry) {
    retried_ = true;
    start_upstream(backend_);
    return;
  }
  ctx_.metrics->error(metrics::kErrClosedEarly);
  attempt_failed(502, "backend " + ctx_.backend(backend_).url + " closed the connection before responding" +
                          (err < 0 ? std::string(": ") + std::strerror(-err) : std::string()),
                 true);
}

void Session::fail_upstream(int status, std::string why) {
  if (up_) drop_upstream(false);
  release_admission();
  log::write(log::Level::warn, "upstream_error", "request_id=" + request_id_ + " status=" + std::to_string(status) +
                                                     " error=" + log::quote(why));
  respond_local(http::json_error(status, why), false);
}

void Session::drop_upstream(bool reusable) {
  UpstreamConn* c = up_;
  up_ = nullptr;
  c->parser.set_sink(nullptr);
  metrics::bump(ctx_.metrics->backend_finished[c->backend]);
  if (upstream_paused_) {
    upstream_paused_ = false;
    if (reusable) ctx_.loop->start_read(c->sock);
  }
  if (reusable) ctx_.pool->release(c);
  else ctx_.pool->discard(c);
}

void Session::up_data(core::IoBuf buf) {
  if (state_ != State::upstream && state_ != State::streaming) {
    ctx_.loop->release(buf.id);
    return;
  }
  response_seen_ = true;
  set_deadline(state_ == State::upstream ? ctx_.cfg->timeouts.first_byte_ms : ctx_.cfg->timeouts.stream_idle_ms);
  size_t off = 0;
  while (state_ == State::upstream) {
    auto r = up_->parser.feed(buf.data + off, buf.len - off);
    off += r.used;
    if (r.status == http::MessageParser::Status::error) {
      ctx_.loop->release(buf.id);
      ctx_.metrics->error(metrics::kErrBadResponse);
      fail_upstream(502, "invalid response from backend: " + up_->parser.error_text());
      return;
    }
    if (r.status != http::MessageParser::Status::head) {
      ctx_.loop->release(buf.id);
      return;
    }
    if (up_->parser.head().status() < 200) {
      up_->parser.next_message();  // interim 1xx from the backend: not relayed
      continue;
    }
    if (!on_response_head()) {  // failed over to another backend
      ctx_.loop->release(buf.id);
      return;
    }
  }
  forward_body(buf, off);
}

bool Session::on_response_head() {
  const http::Head& h = up_->parser.head();
  if (fail_over_on_status(h.status())) return false;
  const route::RoutingSnapshot& s = ctx_.snapshot();
  if (h.status() != 503) {  // Ollama's 503 is "busy": neither fault nor health
    route::record_outcome(ctx_.backend(backend_), h.status() < 500, s.routing.circuit_failures,
                          s.routing.circuit_cooldown_ms, static_cast<uint64_t>(core::mono_us() / 1000));
  }
  status_ = h.status();
  if (head_only_) up_->parser.skip_body();
  state_ = State::streaming;
  set_deadline(ctx_.cfg->timeouts.stream_idle_ms);
  if (up_->parser.body_until_eof()) close_after_ = true;
  if (ctx_.draining) close_after_ = true;
  out_head_.clear();
  http::build_client_response(h, request_id_, close_after_, out_head_);
  return true;
}

void Session::forward_body(core::IoBuf buf, size_t off) {
  auto r = up_->parser.feed(buf.data + off, buf.len - off);
  if (r.used > 0 && first_byte_us_ == 0) first_byte_us_ = core::mono_us();
  if (r.status == http::MessageParser::Status::error) {
    ctx_.metrics->error(metrics::kErrBadResponse);
    ctx_.loop->release(buf.id);
    log::write(log::Level::warn, "upstream_error", "request_id=" + request_id_ + " error=bad_response_framing");
    close();
    return;
  }
  if (!head_queued_) {
    head_queued_ = true;
    if (r.used <= kCoalesceBytes) {
      out_head_.append(buf.data + off, r.used);
      queue(out_head_.data(), static_cast<uint32_t>(out_head_.size()), -1);
      ctx_.loop->release(buf.id);
    } else {
      queue(out_head_.data(), static_cast<uint32_t>(out_head_.size()), -1);
      queue(buf.data + off, static_cast<uint32_t>(r.used), buf.id);
    }
  } else if (r.used == 0) {
    ctx_.loop->release(buf.id);
  } else {
    queue(buf.data + off, static_cast<uint32_t>(r.used), buf.id);
  }
  if (r.status == http::MessageParser::Status::done) {
    response_done_ = true;
    if (off + r.used < buf.len) upstream_reusable_ = false;  // bytes past the response: not trusted
  }
  if (!upstream_paused_ && !response_done_ && queued_bytes_ > ctx_.cfg->buffer_size * 8) {
    upstream_paused_ = true;
    metrics::bump(ctx_.metrics->backpressure_pauses);
    ctx_.loop->stop_read(up_->sock);
  }
  flush();
  if (response_done_ && out_.empty() && !client_.send_busy()) finish_request();
}

void Session::up_eof(int err) {
  if (state_ == State::upstream) {
    retry_or_fail(err);
    return;
  }
  if (state_ != State::streaming) return;
  if (!response_done_ && up_->parser.body_until_eof()) {
    auto r = up_->parser.finish();
    if (r.status == http::MessageParser::Status::done) {
      response_done_ = true;
      close_after_ = true;
      upstream_reusable_ = false;
      if (out_.empty()) finish_request();
      return;
    }
  }
  if (response_done_) {
    upstream_reusable_ = false;
    return;
  }
  // Backend died mid-stream: the client sees a truncated response and a close.
  ctx_.metrics->error(metrics::kErrClosedEarly);
  log::write(log::Level::warn, "upstream_error", "request_id=" + request_id_ + " error=closed_mid_response");
  close();
}

}  // namespace corral::proxy
