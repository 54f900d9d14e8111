// Backend side of a session: the exchange with the chosen backend (the
// upstream::Client does the HTTP/1 work), the response head rewritten for the
// client, the body relayed verbatim and zero-copy, backpressure, and errors.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "corral/api/alias.h"
#include "corral/api/errors.h"

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
  if (!prepare_attempt(slot)) return;
  x.up_request.clear();
  build_request(slot, x.up_request);
  upstream_paused_ = false;
  http::BodySink* sink = metrics::kEnabled || ctx_.records || x.admission ? &x.sample : nullptr;
  std::string_view body = x.plan.rewritten ? std::string_view(x.uncommon().attempt_body) : std::string_view(x.body);
  int err = 0;
  if (!x.client.start(ctx_.target(slot), {x.up_request, body, x.head_only}, sink, err)) {
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
  x.route.weigh(ctx_, ctx_.backend(slot).name, x.facts.model, x.facts.complexity_score);
  const route::RoutingSnapshot& s = ctx_.snapshot();
  if (!s.lifecycles.empty()) {  // a ready on-demand backend's requests keep its idle clock at zero
    const route::LifecycleView* l = s.lifecycle(ctx_.backend(slot).name);
    if (l && l->on_demand) l->demand->note(ctx_.worker_id);
  }
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
  if (h.status() != 503 && h.status() != 429) {  // busy or rate-limited: neither fault nor health
    route::record_outcome(ctx_.backend(x.backend), h.status() < 500, s.routing.circuit_failures,
                          s.routing.circuit_cooldown_ms, static_cast<uint64_t>(core::mono_us() / 1000));
  }
  x.status = h.status();
  state_ = State::streaming;
  set_deadline(ctx_.cfg->timeouts.stream_idle_ms);
  if (x.client.body_until_eof() || ctx_.draining) close_after_ = true;
  x.out_head.clear();
  if (x.plan.translate || x.plan.rename) return transform_head(h);
  http::build_client_response(h, x.request_id, close_after_, x.out_head);
  return true;
}

// The answer changes on its way (plan.translate or plan.rename): a 2xx body
// goes through the translator, re-framed as chunks; a translated request's
// error is kept whole and put in the client's shape when it ends.
bool Session::transform_head(const http::Head& h) {
  Exchange& x = *ex_;
  std::string_view model = x.alias().empty() ? std::string_view(x.facts.model) : x.alias();
  if (h.status() >= 300) {
    if (x.plan.translate) x.client.set_sink(&x.uncommon().error_body);
    else http::build_client_response(h, x.request_id, close_after_, x.out_head);  // a renamed pass-through's error
    return true;
  }
  std::unique_ptr<api::ResponseTranslator> t =
      x.plan.translate ? api::make_response_translator(x.plan.call, x.plan.backend, x.plan.stream, model,
                                                       api::system_clock(), x.plan.include_usage)
                       : api::make_model_renamer(x.facts.model, x.alias(), h.get("content-type"));
  std::string ct(t->content_type());
  AnswerTransform& transform = x.uncommon().transform;
  transform.start(std::move(t), x.out, x.sample.sample);
  x.client.set_sink(&transform);
  x.out_head.append("HTTP/1.1 ").append(std::to_string(h.status())).append(" ").append(http::reason_phrase(h.status()));
  x.out_head.append("\r\nContent-Type: ").append(ct).append("\r\nTransfer-Encoding: chunked\r\nX-Request-Id: ");
  x.out_head.append(x.request_id).append(close_after_ ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  x.head_queued = true;  // before the body the transform makes from this very read
  x.out.push(x.out_head.data(), static_cast<uint32_t>(x.out_head.size()));
  return true;
}

void Session::on_response_bytes(core::IoBuf buf, uint32_t off, uint32_t len) {
  Exchange& x = *ex_;
  set_deadline(ctx_.cfg->timeouts.stream_idle_ms);
  AnswerTransform* transform = x.transform();
  if (x.plan.translate || transform) {
    // The client gets what the transform made of these bytes (or the error at the end), not them.
    if (transform && transform->produced() && x.first_byte_us == 0) x.first_byte_us = core::mono_us();
    buf.release();
    watch_backpressure();
    flush();
    return;
  }
  if (len > 0 && x.first_byte_us == 0) x.first_byte_us = core::mono_us();
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
  if (len > 0) x.relayed_line_end = buf.data[off + len - 1] == '\n';
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
  AnswerTransform* transform = x.transform();
  if (x.plan.translate && !transform) {  // the backend's error, in the client's shape
    answer_translated_error();
    return;
  }
  if (transform) {
    transform->finish();
    if (transform->produced() && x.first_byte_us == 0) x.first_byte_us = core::mono_us();
    flush();
  }
  x.response_done = true;
  if (x.out.empty() && !client_->send_busy()) finish_request();
}

void Session::answer_translated_error() {
  Exchange& x = *ex_;
  const http::Head& h = x.client.response_head();
  http::LocalResponse r;
  r.status = x.status;
  r.body = api::translate_error(x.plan.backend, x.plan.call, x.status, x.uncommon().error_body.text);
  std::string_view retry = h.get("retry-after");
  if (!retry.empty()) r.retry_after = std::atoi(std::string(retry).c_str());
  respond_local(r, false);
}

void Session::on_failure(upstream::Failure why, int err, std::string_view transport) {
  Exchange& x = *ex_;
  std::string url = ctx_.backend(x.backend).url;
  std::string detail = err < 0 ? std::string(": ") + std::strerror(-err) : std::string();
  switch (why) {
    case upstream::Failure::connect: {
      ctx_.metrics->error(metrics::kErrConnect);
      attempt_failed(
          502, "backend " + url + " unreachable" + (transport.empty() ? detail : ": " + std::string(transport)), true);
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
      end_stream_with_error("invalid response from backend " + url + ": " + x.client.parse_error());
      return;
    case upstream::Failure::closed_mid_body:
      ctx_.metrics->error(metrics::kErrClosedEarly);
      log::write(log::Level::warn, "upstream_error", "request_id=" + x.request_id + " error=closed_mid_response");
      end_stream_with_error("backend " + url + " closed the connection mid-stream");
      return;
  }
}

// The backend died mid-answer. The client must be able to tell: its answer ends
// without the terminating zero-length chunk, and a streamed NDJSON or SSE answer
// first gets a last error object in its API's shape (Ollama {"error":"…"}), as
// Ollama itself ends a failed stream, so official clients raise instead of
// returning a short answer. A relayed stream gets it only where its chunks
// leave room for one of corral's own (between two chunks), on a line of its
// own (after a line cut short); otherwise the truncated framing alone tells.
void Session::end_stream_with_error(std::string_view why) {
  Exchange& x = *ex_;
  end_attempt();
  close_after_ = true;
  if (AnswerTransform* transform = x.transform()) {
    transform->abort();
  } else if (x.head_queued && x.client.between_chunks() && x.relayed_line_end) {
    std::string_view type = x.client.response_head().get("content-type");
    bool sse = type.find("text/event-stream") != std::string_view::npos;
    if (sse || type.find("ndjson") != std::string_view::npos) {
      api::Dialect d = api::info(x.endpoint).dialect;
      char last = x.client.last_body_byte();
      std::string event = sse ? (last == '\n' ? "\n" : "\n\n") : (last == '\n' || last == 0 ? "" : "\n");
      event.append(sse ? (d == api::Dialect::anthropic ? "event: error\ndata: " : "data: ") : "");
      event.append(api::error_body(sse ? d : api::Dialect::ollama, 502, why)).append(sse ? "\n\n" : "\n");
      char len[20];
      int k = std::snprintf(len, sizeof len, "%zx\r\n", event.size());
      x.out.push_owned(std::string(len, static_cast<size_t>(k)) + event + "\r\n");
    }
  }
  x.response_done = true;
  if (!x.out.empty()) flush();
  else if (!client_->send_busy()) finish_request();
}

void Session::fail_upstream(int status, std::string why) {
  end_attempt();
  ex_->route.release(ctx_);
  log::write(log::Level::warn, "upstream_error",
             "request_id=" + ex_->request_id + " status=" + std::to_string(status) + " error=" + log::quote(why));
  respond_error(status, why);
}

}  // namespace corral::proxy
