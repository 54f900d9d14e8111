// Endpoints a session answers itself: /health, /metrics, /status from the
// admin module, and /analytics (the page from here, queries handed to the
// query thread with a duplicate of the client socket).
#include <fcntl.h>
#include <unistd.h>

#include "corral/admin/admin.h"
#include "corral/analytics/dashboard.h"
#include "corral/analytics/query.h"
#include "corral/analytics/service.h"
#include "corral/core/clock.h"
#include "corral/proxy/session.h"

namespace corral::proxy {

void Session::answer_local() {
  if (ex_->endpoint == api::kAnalytics) {
    answer_analytics();
    return;
  }
  admin::Sources src{ctx_.snapshot(), *ctx_.fleet->table, *ctx_.cfg, *ctx_.registry, ctx_.analytics, ctx_.io_name};
  respond_local(admin::respond(src, ex_->req.head(), ex_->endpoint), close_after_);
}

void Session::answer_analytics() {
  Exchange& x = *ex_;
  const http::Head& h = x.req.head();
  if (h.method() != "GET" && h.method() != "HEAD") {
    respond_local(error_response(405, "method not allowed on " + std::string(h.path())), close_after_);
    return;
  }
  if (!ctx_.analytics) {
    respond_local(error_response(404, "analytics are off (analytics.backend: none)"), close_after_);
    return;
  }
  std::string_view url = h.url();
  size_t q = url.find('?');
  analytics::Query query;
  std::string err;
  int64_t now_ms = core::wall_us() / 1000;
  if (!analytics::parse_query(h.path(), q == std::string_view::npos ? "" : url.substr(q + 1), now_ms, query, err)) {
    respond_local(error_response(400, err), close_after_);
    return;
  }
  query.head_only = x.head_only;
  if (query.kind == analytics::QueryKind::dashboard) {
    http::LocalResponse page;
    page.content_type = "text/html; charset=utf-8";
    page.body.assign(analytics::dashboard_html());
    respond_local(page, close_after_);
    return;
  }
  if (!ctx_.analytics->queryable()) {
    respond_local(error_response(501, "analytics queries need analytics.backend sqlite; records are going to " +
                                          ctx_.analytics->config().backend + ":" + ctx_.analytics->config().path),
                  close_after_);
    return;
  }
  int fd = fcntl(client_->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || !ctx_.analytics->submit(fd, query, x.request_id)) {
    if (fd >= 0) ::close(fd);
    http::LocalResponse busy = error_response(503, "analytics query thread is busy; try again");
    busy.retry_after = 1;
    respond_local(busy, true);
    return;
  }
  x.status = 200;  // the query thread writes the answer on its copy of the socket
  x.response_done = true;
  close_after_ = true;
  finish_request();
}

}  // namespace corral::proxy
