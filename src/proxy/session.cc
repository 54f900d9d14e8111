// Client side of a session: reading requests in order, local answers, the
// output queue, timeouts and the connection's lifecycle.
#include "corral/proxy/session.h"

#include "corral/api/errors.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"

namespace corral::proxy {

namespace {
constexpr uint32_t kPendingInMax = 65536;
constexpr uint64_t kRefreshReadTicks = 50;  // worker ticks of 100 ms: every 5 s
constexpr char k100Continue[] = "HTTP/1.1 100 Continue\r\n\r\n";

// out = SEED-WW-NNNNNNNN in lower-case hex (at least 12, 2 and 8 digits), as printf's
// "%012llx-%02x-%08llx" writes it, without printf on the request path.
void assign_request_id(std::string& out, uint64_t seed, unsigned worker, uint64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[40];
  char* p = buf;
  auto hex = [&p](uint64_t v, int min_digits) {
    char tmp[16];
    int k = 0;
    do {
      tmp[k++] = kHex[v & 15];
      v >>= 4;
    } while (v != 0);
    while (k < min_digits) tmp[k++] = '0';
    while (k > 0) *p++ = tmp[--k];
  };
  hex(seed, 12);
  *p++ = '-';
  hex(worker, 2);
  *p++ = '-';
  hex(n, 8);
  out.assign(buf, static_cast<size_t>(p - buf));
}
}  // namespace

Session::Session(WorkerContext& ctx, int fd, std::string_view peer, std::shared_ptr<transport::TlsServerContext> tls)
    : ctx_(ctx) {
  peer.copy(client_ip_, sizeof client_ip_ - 1);
  next = ctx_.sessions;
  if (next) next->prev = this;
  ctx_.sessions = this;
  ++ctx_.session_count;
  metrics::bump(ctx_.metrics->client_connections);
  set_deadline(ctx_.cfg->timeouts.header_ms);
  client_ = tls ? transport::tls_accepted(*ctx_.loop, *ctx_.tls_plain, std::move(tls), fd, this)
                : transport::plain_accepted(*ctx_.loop, fd, this);
}

void Session::set_deadline(uint32_t ms) { deadline_ = ctx_.loop->now_ms() + ms; }

void Session::on_data(core::IoBuf buf) {
  metrics::bump(ctx_.metrics->bytes_received, buf.len);
  if (state_ == State::idle || state_ == State::head || state_ == State::body) {
    consume(buf.data, buf.len);
  } else if (state_ != State::closing) {
    pending_in_.append(buf.data, buf.len);
    if (pending_in_.size() > kPendingInMax && !client_paused_) {
      client_paused_ = true;
      client_->pause();
    }
  }
  buf.release();
}

void Session::consume(const char* p, size_t n) {
  while (state_ == State::idle || state_ == State::head || state_ == State::body) {
    if (state_ == State::idle) {
      if (n == 0) return;
      ex_ = ctx_.exchanges.take(ctx_, *this);
      ex_->begin(core::mono_us(), ctx_.response_sample_bytes);
      state_ = State::head;
      set_deadline(ctx_.cfg->timeouts.header_ms);
    }
    auto r = ex_->req.feed(p, n);
    if (r.status == http::MessageParser::Status::error) {
      reject(ex_->req.error_status(), ex_->req.error_text());
      return;
    }
    if (state_ == State::body && !ex_->denied) ex_->body.append(p, r.used);
    p += r.used;
    n -= r.used;
    if (r.status == http::MessageParser::Status::head) {
      state_ = State::body;
      on_request_head();
      continue;
    }
    if (r.status == http::MessageParser::Status::done) {
      pending_in_.append(p, n);
      on_request_done();
      return;
    }
    if (state_ == State::body) set_deadline(ctx_.cfg->timeouts.body_ms);
    return;
  }
}

void Session::on_request_head() {
  Exchange& x = *ex_;
  const http::Head& h = x.req.head();
  x.endpoint = api::classify(h.path());
  const api::EndpointInfo& info = api::info(x.endpoint);
  x.head_only = h.method() == "HEAD";
  x.keep_alive = x.req.keep_alive();
  x.facts.pull = info.pull_like;
  x.facts.stream = info.stream_default;
  std::string_view id = http::usable_request_id(h);
  if (!id.empty()) {
    x.request_id.assign(id);
  } else {
    assign_request_id(x.request_id, ctx_.id_seed, ctx_.worker_id, ++ctx_.next_request);
  }
  count_started();
  set_deadline(ctx_.cfg->timeouts.body_ms);
  if (ctx_.keys && !authorize()) {
    if (close_after_) {  // a body not worth reading: answer now and close
      client_->pause();
      client_paused_ = true;
      pending_in_.clear();
      respond_local(x.uncommon().refusal, true);
    }
    return;
  }
  if (x.req.chunked()) x.req.set_sink(&x.uncommon().plain_body);  // the plan reads what was sent, not its framing
  std::string_view expect = h.get("expect");
  if (!expect.empty() && http::has_token(expect, "100-continue") && (x.req.content_length() > 0 || x.req.chunked())) {
    interim_sending_ = true;
    client_->send(k100Continue, sizeof k100Continue - 1);
  }
}

void Session::on_request_done() {
  if (!ex_->keep_alive || ctx_.draining) close_after_ = true;
  if (ex_->denied) {
    respond_local(ex_->uncommon().refusal, false);
    return;
  }
  if (misplaced()) return;
  if (api::is_local(ex_->endpoint)) {
    answer_local();
    return;
  }
  plan();
  if (!model_allowed()) return;
  route_request();
}

void Session::reject(int status, std::string_view why) {
  ctx_.metrics->reject(status == 431   ? metrics::kRejectHeaderTooLarge
                       : status == 413 ? metrics::kRejectBodyTooLarge
                       : status == 408 ? metrics::kRejectTimeout
                                       : metrics::kRejectMalformed);
  if (state_ == State::head) {
    ex_->endpoint = api::kOther;
    count_started();
  }
  client_->pause();
  client_paused_ = true;
  pending_in_.clear();
  respond_local(http::json_response(status, api::ollama_error(why)), true);
}

http::LocalResponse Session::error_response(int status, std::string_view why) const {
  return http::json_response(status, api::error_body(api::info(ex_->endpoint).dialect, status, why));
}

void Session::respond_error(int status, std::string_view why) { respond_local(error_response(status, why), false); }

void Session::respond_local(const http::LocalResponse& r, bool close) {
  Exchange& x = *ex_;
  x.status = r.status;
  close_after_ = close_after_ || close;
  x.out_head.clear();
  http::write_response(x.out_head, r, x.request_id, close_after_, x.head_only);
  x.local_body_at = static_cast<uint32_t>(x.out_head.size() - (x.head_only ? 0 : r.body.size()));
  state_ = State::local;
  x.response_done = true;
  x.out.push(x.out_head.data(), static_cast<uint32_t>(x.out_head.size()));
  flush();
}

void Session::flush() { ex_->out.flush(*client_); }

void Session::on_sent(int err) {
  if (err < 0) {
    close();
    return;
  }
  if (interim_sending_) {  // the 100 Continue went out; the queue may have grown meanwhile
    interim_sending_ = false;
    flush();
    return;
  }
  Exchange& x = *ex_;
  uint32_t n = x.out.sent();
  x.bytes_out += n;
  metrics::bump(ctx_.metrics->bytes_sent, n);
  if (upstream_paused_ && x.out.queued_bytes() <= ctx_.cfg->buffer_size * 2) {
    upstream_paused_ = false;
    x.client.resume();
  }
  if (!x.out.empty()) flush();
  else if (x.response_done) finish_request();
}

void Session::finish_request() {
  if (ex_->facts.pull && ex_->status == 200) ctx_.fleet->control->refresh_soon();  // a new model: rediscover now
  count_finished();
  log_access();
  end_exchange();
  if (close_after_ || ctx_.draining) {
    close();
    return;
  }
  state_ = State::idle;
  set_deadline(ctx_.cfg->timeouts.keepalive_ms);
  if (client_paused_) {
    client_paused_ = false;
    client_->resume();
  }
  if (!pending_in_.empty()) {
    std::string in;
    in.swap(pending_in_);
    consume(in.data(), in.size());
  }
}

// The request is over: its backend place and connection are let go, and the
// exchange goes back to the worker's pool.
void Session::end_exchange() {
  if (!ex_) return;
  end_attempt();
  ex_->route.release(ctx_);
  ex_->out.clear();
  upstream_paused_ = false;
  ctx_.exchanges.give(ex_);
  ex_ = nullptr;
}

void Session::on_eof(int) {
  // Client went away: an in-flight upstream request is cancelled by closing it.
  close();
}

void Session::close() {
  if (state_ == State::closing) return;
  if (state_ == State::queued) leave_queue();
  state_ = State::closing;
  if (ex_) {
    end_attempt();
    ex_->route.release(ctx_);
    ex_->fanout.reset();
  }
  client_->close();
}

void Session::on_closed() {
  if (ex_ && ex_->counted) {
    if (!ex_->response_done) ctx_.metrics->error(metrics::kErrClientAbort);
    if (ex_->status == 0) ex_->status = 499;  // client closed before the answer was complete
    count_finished();
  }
  end_exchange();
  if (prev) prev->next = next;
  else ctx_.sessions = next;
  if (next) next->prev = prev;
  --ctx_.session_count;
  delete this;
}

void Session::tick(uint64_t now) {
  if (state_ == State::closing) return;
  if (state_ == State::fanout) ex_->fanout->tick(now);
  // Reading the client: a reset the kernel left unreported is found within some
  // kRefreshReadTicks ticks (core::Loop::refresh_read), sessions spread over them.
  bool reading = state_ == State::idle || state_ == State::head || state_ == State::body;
  if (reading && (ctx_.ticks + (reinterpret_cast<uintptr_t>(this) >> 4)) % kRefreshReadTicks == 0)
    client_->refresh_read();
  if (ctx_.draining && state_ == State::idle) {
    close();
    return;
  }
  if (deadline_ == 0 || now < deadline_) return;
  deadline_ = 0;
  on_deadline();
}

void Session::on_deadline() {
  switch (state_) {
    case State::idle:
      close();
      break;
    case State::head:
      if (!ex_->req.message_begun()) {  // only empty lines (RFC 9112 §2.2): an idle connection, not a request
        close();
        break;
      }
      reject(408, "request header timeout");
      break;
    case State::body:
      reject(408, "request body timeout");
      break;
    case State::queued:
      leave_queue();
      if (!ex_->holding_for().empty()) {  // routing.hold passed and the backend is not up yet
        answer_provisioning(std::string(ex_->holding_for()), {});
        break;
      }
      ctx_.metrics->reject(metrics::kRejectQueueTimeout);
      respond_local(busy_response("server busy: no backend capacity for this request within routing.queue_timeout"),
                    false);
      break;
    case State::upstream:
      ctx_.metrics->error(metrics::kErrTimeout);
      if (ex_->client.connecting()) {
        attempt_failed(504, "backend " + ctx_.backend(ex_->backend).url + " connect timed out", true);
      } else {
        fail_upstream(504, "backend did not respond in time");
      }
      break;
    case State::streaming:
      log::write(log::Level::warn, "stream_idle_timeout", "request_id=" + ex_->request_id);
      ctx_.metrics->error(metrics::kErrTimeout);
      end_stream_with_error("backend " + ctx_.backend(ex_->backend).url + " sent nothing for timeouts.stream_idle");
      break;
    default:
      break;
  }
}

}  // namespace corral::proxy
