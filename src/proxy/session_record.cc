// What a finished request tells the metrics shard and the analytics ring, and
// /analytics requests (the page from here, queries handed to the query thread).
#include <fcntl.h>
#include <unistd.h>

#include "corral/analytics/dashboard.h"
#include "corral/analytics/query.h"
#include "corral/analytics/service.h"
#include "corral/core/clock.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {

bool is_generation(Endpoint e) { return e == kGenerate || e == kChat || e == kOaiChat || e == kOaiCompletions; }

}  // namespace

void Session::record_metrics(const StreamStats& st) {
  if constexpr (!metrics::kEnabled) return;
  metrics::RequestRecord r;
  int64_t now = core::mono_us();
  r.endpoint = endpoint_;
  r.model = model_;
  if (!model_.empty()) {  // label values come from discovery: a name no backend lists is "other"
    const route::RoutingSnapshot& s = ctx_.snapshot();
    r.model_unknown = !s.route(model_) && s.unknown_lists.empty();
  }
  r.backend = backend_;
  r.status = status_;
  r.category = category_;
  r.complexity_score = complexity_score_;
  r.complexity = complexity_;
  r.duration_s = double(now - start_us_) / 1e6;
  if (is_generation(endpoint_) && first_byte_us_ > 0) r.ttft_s = double(first_byte_us_ - start_us_) / 1e6;
  if (connect_us_ >= 0) r.connect_s = double(connect_us_) / 1e6;
  if (st.found) {
    r.prompt_tokens = st.prompt_tokens;
    r.completion_tokens = st.completion_tokens;
    r.eval_duration_ns = st.eval_duration_ns;
    r.load_duration_ns = st.load_duration_ns;
  }
  ctx_.metrics->record(r);
}

// Fills this thread's scratch record and copies what it uses into the worker's
// ring; a full ring drops the record (counted), never waits.
void Session::record_analytics(const StreamStats& st) {
  thread_local analytics::Record scratch;
  analytics::Record* rec = &scratch;
  rec->reset();
  int64_t now = core::mono_us();
  analytics::RecordNumbers& n = rec->n;
  n.time_us = core::wall_us() - (now - start_us_);
  n.duration_us = now - start_us_;
  if (is_generation(endpoint_) && first_byte_us_ > 0) n.ttft_us = first_byte_us_ - start_us_;
  if (st.found) {
    n.prompt_tokens = st.prompt_tokens;
    n.completion_tokens = st.completion_tokens;
    n.eval_duration_ns = st.eval_duration_ns;
    n.load_duration_ns = st.load_duration_ns;
  }
  n.bytes_in = body_.size();
  n.bytes_out = bytes_out_;
  n.prompt_chars = static_cast<uint32_t>(prompt_chars_);
  n.status = static_cast<int16_t>(status_);
  n.stream = stream_;
  n.complexity = static_cast<int8_t>(complexity_score_);
  n.endpoint = endpoint_;
  n.category = category_;
  const http::Head& h = req_.head();
  rec->set(analytics::kRequestId, request_id_);
  rec->set(analytics::kClientIp, client_ip_);
  rec->set(analytics::kUserAgent, h.get("user-agent"));
  rec->set(analytics::kMethod, h.method());
  rec->set(analytics::kPath, h.path());
  rec->set(analytics::kModel, model_);
  if (backend_ != metrics::kBackendNone) rec->set(analytics::kBackend, ctx_.backend(backend_).name);
  if (status_ == 499) rec->set(analytics::kError, "client closed the connection before the answer was complete");
  rec->set(analytics::kPromptPreview, prompt_preview_);
  bool local = state_ == State::local && local_body_at_ <= out_head_.size();
  rec->set(analytics::kResponseHead, local ? std::string_view(out_head_).substr(local_body_at_) : sample_.head());
  if (!ctx_.records->push(*rec)) metrics::bump(ctx_.metrics->analytics_dropped);
}

// GET /analytics is the page itself; stats, search and export go to the query
// thread with a duplicate of the client socket, and this connection is done.
void Session::answer_analytics() {
  const http::Head& h = req_.head();
  if (h.method() != "GET" && h.method() != "HEAD") {
    respond_local(http::json_error(405, "method not allowed on " + std::string(h.path())), close_after_);
    return;
  }
  if (!ctx_.analytics) {
    respond_local(http::json_error(404, "analytics are off (analytics.backend: none)"), close_after_);
    return;
  }
  std::string_view url = h.url();
  size_t q = url.find('?');
  analytics::Query query;
  std::string err;
  int64_t now_ms = core::wall_us() / 1000;
  if (!analytics::parse_query(h.path(), q == std::string_view::npos ? "" : url.substr(q + 1), now_ms, query, err)) {
    respond_local(http::json_error(400, err), close_after_);
    return;
  }
  query.head_only = head_only_;
  if (query.kind == analytics::QueryKind::dashboard) {
    http::LocalResponse page;
    page.content_type = "text/html; charset=utf-8";
    page.body.assign(analytics::dashboard_html());
    respond_local(page, close_after_);
    return;
  }
  if (!ctx_.analytics->queryable()) {
    respond_local(http::json_error(501, "analytics queries need analytics.backend sqlite; records are going to " +
                                            ctx_.analytics->config().backend + ":" + ctx_.analytics->config().path),
                  close_after_);
    return;
  }
  int fd = fcntl(client_.fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || !ctx_.analytics->submit(fd, query, request_id_)) {
    if (fd >= 0) ::close(fd);
    http::LocalResponse busy = http::json_error(503, "analytics query thread is busy; try again");
    busy.retry_after = 1;
    respond_local(busy, true);
    return;
  }
  status_ = 200;  // the query thread writes the answer on its copy of the socket
  response_done_ = true;
  close_after_ = true;
  finish_request();
}

}  // namespace corral::proxy
