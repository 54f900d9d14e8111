// The authorize stage of a session (auth on): the key is checked on the
// request's head, before a large body is buffered; the model it may use once
// the body says which. A refused request's body is read and dropped so the
// client reads the answer on a connection that stays usable.
#include "corral/api/errors.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {
constexpr uint64_t kDrainLimit = 1u << 20;  // a refused body larger than this is not read: answer and close
constexpr std::string_view kBearerChallenge = "WWW-Authenticate: Bearer\r\n";
}  // namespace

auth::Access Session::access_needed() const {
  switch (ex_->endpoint) {
    case api::kHealth:
    case api::kTest:
      return auth::Access::open;
    case api::kMetrics:
      return ctx_.cfg->auth.metrics ? auth::Access::key : auth::Access::open;
    case api::kStatus:
    case api::kAnalytics:
    case api::kAdmin:
      return auth::Access::admin;  // prompts and fleet internals
    default:
      return auth::Access::key;
  }
}

// False when the request is refused; the answer goes out once its body is in.
bool Session::authorize() {
  Exchange& x = *ex_;
  auth::Access need = access_needed();
  if (need == auth::Access::open) return true;
  ctx_.keys->refresh(ctx_.key_table);
  x.keys = ctx_.key_table;
  auth::Decision d = auth::check(*x.keys, x.req.head(), need, core::wall_us() / 1000, core::mono_us());
  x.key = d.entry;
  if (d.denial == auth::Denial::none) {
    x.admission = std::move(d.admission);
    return true;
  }
  switch (d.denial) {
    case auth::Denial::auth:
      ctx_.metrics->reject(metrics::kRejectAuth);
      refuse(401, d.message, kBearerChallenge);
      break;
    case auth::Denial::forbidden:
      ctx_.metrics->reject(metrics::kRejectForbidden);
      refuse(403, d.message);
      break;
    default:
      ctx_.metrics->reject(metrics::kRejectRateLimit);
      refuse(429, d.message);
      x.uncommon().refusal.retry_after = static_cast<int>(d.retry_after_s);
      break;
  }
  log::write(log::Level::info, "request_refused",
             "request_id=" + x.request_id + " status=" + std::to_string(x.uncommon().refusal.status) +
                 " reason=" + log::quote(d.message) + " client=" + client_ip_);
  return false;
}

// The answer a refused request gets, in its endpoint's dialect.
void Session::refuse(int status, std::string_view why, std::string_view extra_headers) {
  ex_->denied = true;
  ex_->uncommon().refusal = error_response(status, why);
  ex_->uncommon().refusal.extra_headers = extra_headers;
  uint64_t length = ex_->req.content_length();
  if (length > kDrainLimit || !ex_->req.head().get("expect").empty()) close_after_ = true;
}

// Once the body says which model: may this key use it?
bool Session::model_allowed() {
  const Exchange& x = *ex_;
  if (!x.key || x.facts.model.empty() || x.key->key.allows_model(x.facts.model)) return true;
  ctx_.metrics->reject(metrics::kRejectForbidden);
  respond_error(403, "model \"" + x.facts.model + "\" is not allowed for key " + x.key->key.name);
  return false;
}

}  // namespace corral::proxy
