// Client side of a session: request parsing, local answers, lifecycle.
#include "corral/proxy/session.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "corral/admin/admin.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/http/rewrite.h"

namespace corral::proxy {
namespace {
constexpr uint32_t kPendingInMax = 65536;
constexpr char k100Continue[] = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr uint64_t kTrimAfterMs = 1000;  // a connection idle this long gives its buffers back
}  // namespace

Session::Session(WorkerContext& ctx, int fd) : ctx_(ctx), req_(http::MessageParser::Kind::request, ctx.limits) {
  ctx_.loop->attach(client_, fd, this);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, client_ip_, sizeof client_ip_);
    else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, client_ip_, sizeof client_ip_);
  }
  next = ctx_.sessions;
  if (next) next->prev = this;
  ctx_.sessions = this;
  ++ctx_.session_count;
  metrics::bump(ctx_.metrics->client_connections);
  set_deadline(ctx_.cfg->timeouts.header_ms);
  ctx_.loop->start_read(client_);
}

void Session::set_deadline(uint32_t ms) { deadline_ = ctx_.loop->now_ms() + ms; }

void Session::on_data(core::Socket&, core::IoBuf buf) {
  metrics::bump(ctx_.metrics->bytes_received, buf.len);
  if (state_ == State::head || state_ == State::body) {
    consume(buf.data, buf.len);
  } else if (state_ != State::closing) {
    pending_in_.append(buf.data, buf.len);
    if (pending_in_.size() > kPendingInMax && !client_paused_) {
      client_paused_ = true;
      ctx_.loop->stop_read(client_);
    }
  }
  ctx_.loop->release(buf.id);
}

void Session::consume(const char* p, size_t n) {
  while (state_ == State::head || state_ == State::body) {
    if (state_ == State::head && !request_started_) {
      if (n == 0) return;
      request_started_ = true;
      trimmed_ = false;
      start_us_ = core::mono_us();
      set_deadline(ctx_.cfg->timeouts.header_ms);
    }
    auto r = req_.feed(p, n);
    if (r.status == http::MessageParser::Status::error) {
      reject(req_.error_status(), req_.error_text());
      return;
    }
    if (state_ == State::body) body_.append(p, r.used);
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
  const http::Head& h = req_.head();
  endpoint_ = classify(h.path());
  head_only_ = h.method() == "HEAD";
  reset_request_facts();
  client_keep_alive_ = req_.keep_alive();
  std::string_view id = http::usable_request_id(h);
  if (!id.empty()) {
    request_id_.assign(id);
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%012llx-%02x-%08llx", static_cast<unsigned long long>(ctx_.id_seed),
                  ctx_.worker_id, static_cast<unsigned long long>(++ctx_.next_request));
    request_id_.assign(buf);
  }
  count_started();
  std::string_view expect = h.get("expect");
  if (!expect.empty() && http::has_token(expect, "100-continue") && (req_.content_length() > 0 || req_.chunked())) {
    interim_sending_ = true;
    ctx_.loop->send(client_, k100Continue, sizeof k100Continue - 1);
  }
  set_deadline(ctx_.cfg->timeouts.body_ms);
}

void Session::on_request_done() {
  if (!client_keep_alive_ || ctx_.draining) close_after_ = true;
  if (is_local(endpoint_) && endpoint_ != kAnalytics) {
    respond_local(admin::respond(ctx_, req_.head(), endpoint_), close_after_);
    return;
  }
  if (endpoint_ == kAnalytics) {
    answer_analytics();
    return;
  }
  read_request_body();
  route_request();
}

// What routing, metrics and affinity need from the body; the bytes stay as they are.
void Session::read_request_body() {
  std::string_view path = req_.head().path();
  if (endpoint_ == kOaiModels && path.starts_with("/v1/models/")) model_.assign(path.substr(11));
  if (body_.empty() || req_.chunked()) return;
  analysis::RequestInfo info = analysis::analyze_request(body_, ctx_.prompt_preview_bytes);
  if (!info.json) return;
  if (info.has_stream) stream_ = info.stream;
  prompt_preview_ = std::move(info.prompt_preview);
  model_ = std::move(info.model);
  source_ = std::move(info.source);
  affinity_ = info.prefix_hash;
  prompt_chars_ = static_cast<uint32_t>(info.prompt_chars);
  if (info.prompt_chars > 0) {
    category_ = info.category;
    complexity_score_ = info.complexity.score;
    complexity_ = info.complexity.cls;
  }
}

void Session::reject(int status, std::string_view why) {
  ctx_.metrics->reject(status == 431   ? metrics::kRejectHeaderTooLarge
                       : status == 413 ? metrics::kRejectBodyTooLarge
                       : status == 408 ? metrics::kRejectTimeout
                                       : metrics::kRejectMalformed);
  if (state_ == State::head) {
    endpoint_ = kOther;
    reset_request_facts();
    if (!request_started_) start_us_ = core::mono_us();
    request_started_ = true;
    count_started();
  }
  ctx_.loop->stop_read(client_);
  client_paused_ = true;
  pending_in_.clear();
  respond_local(http::json_error(status, why), true);
}

// What the metrics learn about one request, cleared before the next.
void Session::reset_request_facts() {
  model_.clear();
  source_.clear();
  affinity_ = 0;
  pull_ = endpoint_ == kPull || endpoint_ == kCreate;
  category_ = metrics::kCategoryNone;
  complexity_score_ = -1;
  prompt_chars_ = 0;
  backend_ = metrics::kBackendNone;
  first_byte_us_ = 0;
  connect_us_ = -1;
  stream_ = endpoint_ == kGenerate || endpoint_ == kChat ? 1 : endpoint_ == kOaiChat || endpoint_ == kOaiCompletions ? 0 : -1;
  prompt_preview_.clear();
  sample_.clear(ctx_.response_sample_bytes);
}

// An idle keep-alive connection keeps only the Session itself: 10,000 idle
// clients should cost what their sockets cost, not their last request's buffers.
void Session::release_idle_memory() {
  trimmed_ = true;
  for (std::string* s : {&request_id_, &up_request_, &body_, &out_head_, &model_, &source_, &fail_why_, &prompt_preview_}) {
    std::string().swap(*s);
  }
  if (pending_in_.empty()) std::string().swap(pending_in_);
  if (out_.empty()) std::vector<Segment>().swap(out_);
  sample_.release_memory();
  req_.release_memory();
}

void Session::count_started() {
  counted_ = true;
  metrics::bump(ctx_.metrics->requests_started);
}

void Session::count_finished() {
  if (!counted_) return;
  counted_ = false;
  StreamStats st;
  if ((metrics::kEnabled || ctx_.records) && backend_ != metrics::kBackendNone && status_ == 200) {
    st = extract_final_stats(sample_.tail());
  }
  record_metrics(st);
  if (ctx_.records && !is_local(endpoint_)) record_analytics(st);
  metrics::bump(ctx_.metrics->requests_finished);
}

void Session::respond_local(const http::LocalResponse& r, bool close) {
  status_ = r.status;
  close_after_ = close_after_ || close;
  out_head_.clear();
  http::write_response(out_head_, r, request_id_, close_after_, head_only_);
  local_body_at_ = static_cast<uint32_t>(out_head_.size() - (head_only_ ? 0 : r.body.size()));
  state_ = State::local;
  response_done_ = true;
  queue(out_head_.data(), static_cast<uint32_t>(out_head_.size()), -1);
  flush();
}

void Session::queue(const char* p, uint32_t n, int32_t buf) {
  out_.push_back({p, n, buf});
  queued_bytes_ += n;
}

void Session::flush() {
  if (client_.send_busy() || out_pos_ >= out_.size() || !client_.is_open()) return;
  const Segment& s = out_[out_pos_];
  ctx_.loop->send(client_, s.p, s.n);
}

void Session::on_sent(core::Socket&, int err) {
  if (err < 0) {
    close();
    return;
  }
  if (interim_sending_) {  // the 100 Continue went out; the queue may have grown meanwhile
    interim_sending_ = false;
    flush();
    return;
  }
  Segment s = out_[out_pos_++];
  queued_bytes_ -= s.n;
  bytes_out_ += s.n;
  metrics::bump(ctx_.metrics->bytes_sent, s.n);
  if (s.buf >= 0) ctx_.loop->release(static_cast<uint16_t>(s.buf));
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  if (upstream_paused_ && up_ && queued_bytes_ <= ctx_.cfg->buffer_size * 2) {
    upstream_paused_ = false;
    ctx_.loop->start_read(up_->sock);
  }
  if (!out_.empty()) {
    flush();
  } else if (response_done_) {
    finish_request();
  }
}

void Session::finish_request() {
  if (pull_ && status_ == 200) ctx_.fleet->control->refresh_soon();  // a new model: rediscover now
  count_finished();
  if (ctx_.cfg->access_log && log::enabled(log::Level::info)) {
    const http::Head& h = req_.head();
    std::string f;
    f.reserve(200);
    f.append("method=").append(h.method()).append(" path=").append(log::quote(h.path()));
    f.append(" status=").append(std::to_string(status_)).append(" ms=").append(std::to_string((core::mono_us() - start_us_) / 1000));
    if (!model_.empty()) f.append(" model=").append(log::quote(model_));
    f.append(" bytes_out=").append(std::to_string(bytes_out_)).append(" client=").append(client_ip_);
    f.append(" request_id=").append(request_id_);
    if (backend_ != metrics::kBackendNone) f.append(" backend=").append(ctx_.backend(backend_).url);
    log::write(log::Level::info, "access", f);
  }
  if (up_) drop_upstream(upstream_reusable_ && up_->parser.keep_alive());
  release_admission();
  fanout_.reset();
  if (close_after_ || ctx_.draining) {
    close();
    return;
  }
  state_ = State::head;
  req_.next_message();
  request_started_ = response_seen_ = response_done_ = head_only_ = head_queued_ = false;
  status_ = 0;
  bytes_out_ = 0;
  body_.clear();
  if (body_.capacity() > 65536) body_.shrink_to_fit();
  set_deadline(ctx_.cfg->timeouts.keepalive_ms);
  if (client_paused_) {
    client_paused_ = false;
    ctx_.loop->start_read(client_);
  }
  if (!pending_in_.empty()) {
    std::string in;
    in.swap(pending_in_);
    consume(in.data(), in.size());
  }
}

void Session::on_eof(core::Socket&, int) {
  // Client went away: an in-flight upstream request is cancelled by closing it.
  close();
}

void Session::close() {
  if (state_ == State::closing) return;
  if (state_ == State::queued) leave_queue();
  state_ = State::closing;
  if (up_) drop_upstream(false);
  release_admission();
  fanout_.reset();
  ctx_.loop->close(client_);
}

void Session::on_closed(core::Socket&) {
  for (size_t i = out_pos_; i < out_.size(); ++i) {
    if (out_[i].buf >= 0) ctx_.loop->release(static_cast<uint16_t>(out_[i].buf));
  }
  if (counted_) {
    if (!response_done_) ctx_.metrics->error(metrics::kErrClientAbort);
    if (status_ == 0) status_ = 499;  // client closed before the answer was complete
    count_finished();
  }
  if (prev) prev->next = next;
  else ctx_.sessions = next;
  if (next) next->prev = prev;
  --ctx_.session_count;
  delete this;
}

void Session::tick(uint64_t now) {
  if (state_ == State::closing) return;
  if (state_ == State::fanout) fanout_->tick(now);
  if (ctx_.draining && state_ == State::head && !request_started_) {
    close();
    return;
  }
  if (state_ == State::head && !request_started_ && !trimmed_ && deadline_ != 0 &&
      now + ctx_.cfg->timeouts.keepalive_ms >= deadline_ + kTrimAfterMs) {
    release_idle_memory();
  }
  if (deadline_ == 0 || now < deadline_) return;
  deadline_ = 0;
  switch (state_) {
    case State::head:
      if (!request_started_) close();
      else reject(408, "request header timeout");
      break;
    case State::body:
      reject(408, "request body timeout");
      break;
    case State::queued:
      leave_queue();
      ctx_.metrics->reject(metrics::kRejectQueueTimeout);
      respond_local(busy_response("server busy: no backend capacity for this request within routing.queue_timeout"), false);
      break;
    case State::upstream:
      ctx_.metrics->error(metrics::kErrTimeout);
      if (up_ && up_->sock.connecting) attempt_failed(504, "backend " + ctx_.backend(backend_).url + " connect timed out", true);
      else fail_upstream(504, "backend did not respond in time");
      break;
    case State::streaming:
      log::write(log::Level::warn, "stream_idle_timeout", "request_id=" + request_id_);
      ctx_.metrics->error(metrics::kErrTimeout);
      close();
      break;
    default:
      break;
  }
}

}  // namespace corral::proxy
