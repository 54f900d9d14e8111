// Endpoints a session answers itself: /health, /metrics, /status from the
// admin module, /test, and the ones another thread answers on a duplicate of
// the client socket: /analytics queries (the query thread) and /admin/keys
// (the key admin thread).
#include <fcntl.h>
#include <unistd.h>

#include "corral/admin/admin.h"
#include "corral/admin/key_admin.h"
#include "corral/analytics/dashboard.h"
#include "corral/analytics/query.h"
#include "corral/analytics/service.h"
#include "corral/auth/admin_api.h"
#include "corral/core/clock.h"
#include "corral/proxy/session.h"

namespace corral::proxy {

// With metrics.listen set, /metrics, /health, /status and /analytics* are
// served on that port only, and that port serves nothing else.
bool Session::misplaced() {
  api::Endpoint e = ex_->endpoint;
  bool ops = e == api::kHealth || e == api::kMetrics || e == api::kStatus || e == api::kAnalytics;
  const std::string& admin_port = ctx_.cfg->metrics.listen;
  if (local_only_ && !ops) {
    respond_error(404, "this port (metrics.listen) serves /metrics, /health, /status and /analytics only");
    return true;
  }
  if (!local_only_ && ops && !admin_port.empty()) {
    respond_error(404, std::string(api::endpoint_name(e)) + " is served on metrics.listen (" + admin_port + ")");
    return true;
  }
  return false;
}

void Session::answer_local() {
  switch (ex_->endpoint) {
    case api::kAnalytics:
      return answer_analytics();
    case api::kAdmin:
      return answer_admin();
    case api::kTest:
      return answer_test();
    default:
      break;
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
  hand_off("analytics query thread", [&](int fd) { return ctx_.analytics->submit(fd, query, x.request_id); });
}

// /admin/keys: on the key admin thread (SQLite writes never run here).
void Session::answer_admin() {
  Exchange& x = *ex_;
  const http::Head& h = x.req.head();
  if (!ctx_.key_admin) {
    respond_local(error_response(404, "no admin API: auth is off (auth.enabled: true turns it on)"), close_after_);
    return;
  }
  if (!auth::is_keys_path(h.path())) {
    respond_local(error_response(404, "no such admin endpoint: " + std::string(h.path())), close_after_);
    return;
  }
  std::string body = x.sent_body();
  hand_off("key admin thread", [&](int fd) {
    return ctx_.key_admin->submit(fd, std::string(h.method()), std::string(h.path()), std::move(body), x.request_id);
  });
}

// Seed 004's `curl localhost:11434/test`: is the proxy itself up?
void Session::answer_test() {
  http::LocalResponse r;
  r.body = "{\"status\":\"ok\",\"service\":\"corral\",\"version\":\"" CORRAL_VERSION "\"}";
  respond_local(r, close_after_);
}

// Another thread answers on a duplicate of the client socket; this connection is done.
void Session::hand_off(std::string_view who, const std::function<bool(int fd)>& submit) {
  Exchange& x = *ex_;
  int fd = fcntl(client_->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || !submit(fd)) {
    if (fd >= 0) ::close(fd);
    http::LocalResponse busy = error_response(503, std::string(who) + " is busy; try again");
    busy.retry_after = 1;
    respond_local(busy, true);
    return;
  }
  x.status = 200;
  x.response_done = true;
  close_after_ = true;
  finish_request();
}

}  // namespace corral::proxy
