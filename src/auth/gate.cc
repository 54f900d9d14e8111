#include "corral/auth/gate.h"

namespace corral::auth {

std::string_view credential(const http::Head& h) {
  std::string_view a = h.get("authorization");
  if (a.size() > 7 && http::iequals(a.substr(0, 7), "bearer ")) {
    a.remove_prefix(7);
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    return a;
  }
  return h.get("x-api-key");
}

Decision check(const KeyTable& table, const http::Head& h, Access need, int64_t now_unix_ms, int64_t now_us) {
  Decision d;
  std::string_view token = credential(h);
  if (token.empty()) {
    d.denial = Denial::auth;
    d.message = "missing API key: send Authorization: Bearer KEY or x-api-key: KEY";
    return d;
  }
  Lookup l = table.find(token, now_unix_ms);
  if (l.verdict != Verdict::ok) {
    d.denial = Denial::auth;
    d.message = std::string(verdict_message(l.verdict));
    if (l.entry) d.message += " (key " + l.entry->key.name + ")";
    return d;
  }
  d.entry = l.entry;
  if (need == Access::admin && !l.entry->key.admin) {
    d.denial = Denial::forbidden;
    d.message = "key " + l.entry->key.name + " is not an admin key";
    return d;
  }
  Refusal why;
  if (!l.entry->limiter.admit(now_us, d.admission, why)) {
    d.denial = Denial::rate_limit;
    d.message = why.message() + " for key " + l.entry->key.name;
    d.retry_after_s = why.retry_after_s;
  }
  return d;
}

}  // namespace corral::auth
