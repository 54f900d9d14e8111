// Backend side of a session: the exchange with the chosen backend (the
// upstream::Client does the HTTP/1 work), the response head rewritten for the
// client, the body relayed verbatim and zero-copy, backpressure, and errors.
#include <cstring>

#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {
// A first body piece this small rides in the head's send instead of its own.
constexpr uint32_t kCoalesceBytes = 4096;
}  // namespace

void Session::start_upstream(uint8_t slot) {
  Exchange& x = *ex_;
  state_ = State::upstream;
  x.backend = slot;
  x.up_request.clear();
  build_request(slot, x.up_request);
  upstream_paused_ = false;
  http::BodySink* sink = metrics::kEnabled || ctx_.records ? &x.sample : nullptr;
  int err = 0;
  if (!x.client.start(ctx_.target(slot), {x.up_request, x.body, x.head_only}, sink, err)) {
    ctx_.metrics->error(metrics::kErrConnect);
    if (core::local_shortage(-err)) {  // corral's own limit: no backend is to blame, none would do better
      fail_upstream(503, std::string("corral cannot open a backend connection: ") + std::strerror(-err) +
                             " (raise the open-file limit: LimitNOFILE / ulimit -n)");
      return;
    }
    attempt_failed(502, "backend " + ctx_.backend(slot).url + " unreachable: " + std::strerror(-err), true);
    return;
  }
  x.attempt_open = true;
  metrics::bump(ctx_.metrics->backend_started[slot]);
  set_deadline(x.client.connecting() ? ctx_.cfg->timeouts.connect_ms : ctx_.cfg->timeouts.first_byte_ms);
}

void Session::on_upstream_connected() { set_deadline(ctx_.cfg->timeouts.first_byte_ms); }

// This attempt at a backend is over (its connection pooled, or closed when abort).
void Session::end_attempt() {
  Exchange& x = *ex_;
  x.client.abort();
  if (!x.attempt_open) return;
  x.attempt_open = false;
  metrics::bump(ctx_.metrics->backend_finished[x.backend]);
}

bool Session::on_response_head(const http::Head& h) {
  Exchange& x = *ex_;
  if (fail_over_on_status(h.status())) return false;
  const route::RoutingSnapshot& s = ctx_.snapshot();
  if (h.status() != 503) {  // Ollama's 503 is "busy": neither fault nor health
    route::record_outcome(ctx_.backend(x.backend), h.status() < 500, s.routing.circuit_failures,
                          s.routing.circuit_cooldown_ms, static_cast<uint64_t>(core::mono_us() / 1000));
  }
  x.status = h.status();
  state_ = State::streaming;
  set_deadline(ctx_.cfg->timeouts.stream_idle_ms);
  if (x.client.body_until_eof() || ctx_.draining) close_after_ = true;
  x.out_head.clear();
  http::build_client_response(h, x.request_id, close_after_, x.out_head);
  return true;
}

void Session::on_response_bytes(core::IoBuf buf, uint32_t off, uint32_t len) {
  Exchange& x = *ex_;
  if (len > 0 && x.first_byte_us == 0) x.first_byte_us = core::mono_us();
  set_deadline(ctx_.cfg->timeouts.stream_idle_ms);
  if (!x.head_queued) {
    x.head_queued = true;
    if (len <= kCoalesceBytes) {
      x.out_head.append(buf.data + off, len);
      buf.release();
      x.out.push(x.out_head.data(), static_cast<uint32_t>(x.out_head.size()));
    } else {
      x.out.push(x.out_head.data(), static_cast<uint32_t>(x.out_head.size()));
      x.out.push(buf.data + off, len, &buf);
    }
  } else if (len == 0) {
    buf.release();
  } else {
    x.out.push(buf.data + off, len, &buf);
  }
  watch_backpressure();
  flush();
}

// The client is slower than the backend: stop reading the backend instead of
// buffering without bound (resumed in on_sent).
void Session::watch_backpressure() {
  if (upstream_paused_ || ex_->out.queued_bytes() <= ctx_.cfg->buffer_size * 8) return;
  upstream_paused_ = true;
  metrics::bump(ctx_.metrics->backpressure_pauses);
  ex_->client.pause();
}

void Session::on_response_done() {
  Exchange& x = *ex_;
  end_attempt();
  upstream_paused_ = false;
  x.response_done = true;
  if (x.out.empty() && !client_->send_busy()) finish_request();
}

void Session::on_failure(upstream::Failure why, int err) {
  Exchange& x = *ex_;
  std::string url = ctx_.backend(x.backend).url;
  std::string detail = err < 0 ? std::string(": ") + std::strerror(-err) : std::string();
  switch (why) {
    case upstream::Failure::connect: {
      ctx_.metrics->error(metrics::kErrConnect);
      std::string_view tls = x.client.transport_error();
      attempt_failed(502, "backend " + url + " unreachable" + (tls.empty() ? detail : ": " + std::string(tls)), true);
      return;
    }
    case upstream::Failure::closed_before_response:
      ctx_.metrics->error(metrics::kErrClosedEarly);
      attempt_failed(502, "backend " + url + " closed the connection before responding" + detail, true);
      return;
    case upstream::Failure::bad_response:
      ctx_.metrics->error(metrics::kErrBadResponse);
      if (state_ == State::upstream || !x.head_queued) {  // no byte of the answer has reached the client yet
        fail_upstream(502, "invalid response from backend: " + x.client.parse_error());
        return;
      }
      log::write(log::Level::warn, "upstream_error", "request_id=" + x.request_id + " error=bad_response_framing");
      close();
      return;
    case upstream::Failure::closed_mid_body:
      // Backend died mid-stream: the client sees a truncated response and a close.
      ctx_.metrics->error(metrics::kErrClosedEarly);
      log::write(log::Level::warn, "upstream_error", "request_id=" + x.request_id + " error=closed_mid_response");
      close();
      return;
  }
}

void Session::fail_upstream(int status, std::string why) {
  end_attempt();
  ex_->route.release(ctx_);
  log::write(log::Level::warn, "upstream_error", "request_id=" + ex_->request_id + " status=" + std::to_string(status) +
                                                     " error=" + log::quote(why));
  respond_error(status, why);
}

}  // namespace corral::proxy
