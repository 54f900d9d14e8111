#include "corral/auth/manage.h"

#include "corral/api/json.h"
#include "corral/core/clock.h"

namespace corral::auth {

namespace {

bool new_token_for(std::string& token, Digest& digest, std::string& err) {
  if (!make_token(token, err)) return false;
  if (digest_of(token, digest)) return true;
  err = "libcrypto has no SHA-256";
  return false;
}

}  // namespace

StoreStatus create_key(KeyStore& store, std::string_view name, const KeySpec& spec, int64_t now_ms, Key& out,
                       std::string& token, std::string& err) {
  Key k;
  if (!new_token_for(token, k.digest, err)) return StoreStatus::error;
  k.name = std::string(name);
  k.created_ms = now_ms;
  apply(spec, k, now_ms);
  StoreStatus st = store.insert(k, err);
  if (st == StoreStatus::ok) out = std::move(k);
  else token.clear();
  return st;
}

StoreStatus rotate_key(KeyStore& store, std::string_view name, Key& out, std::string& token, std::string& err) {
  return change_key(store, name, KeySpec{}, 0, out, err, &token);
}

StoreStatus revoke_key(KeyStore& store, std::string_view name, Key& out, std::string& err) {
  return store.modify(
      name, [](Key& k) { k.state = KeyState::revoked; }, out, err);
}

StoreStatus change_key(KeyStore& store, std::string_view name, const KeySpec& spec, int64_t now_ms, Key& out,
                       std::string& err, std::string* new_token) {
  Digest d;
  if (new_token && !new_token_for(*new_token, d, err)) return StoreStatus::error;
  auto change = [&](Key& k) {
    apply(spec, k, now_ms);
    if (!new_token) return;
    k.digest = d;
    k.state = KeyState::active;
  };
  StoreStatus st = store.modify(name, change, out, err);
  if (st != StoreStatus::ok && new_token) new_token->clear();
  return st;
}

std::string_view shown_state(const Key& k, int64_t now_ms) {
  if (k.state == KeyState::revoked) return "revoked";
  return k.expired_at(now_ms) ? "expired" : "active";
}

namespace {

void str(std::string& out, std::string_view name, std::string_view v) {
  out.append(",\"").append(name).append("\":\"");
  api::json_escape(out, v);
  out += '"';
}

void time_or_null(std::string& out, std::string_view name, int64_t ms) {
  if (ms == 0) out.append(",\"").append(name).append("\":null");
  else str(out, name, core::iso_time(ms));
}

void num(std::string& out, std::string_view name, uint64_t v) {
  out.append(",\"").append(name).append("\":").append(std::to_string(v));
}

}  // namespace

void append_key_json(std::string& out, const Key& k, int64_t now_ms, const KeyActivity* last_24h, bool open) {
  out += "{\"name\":\"";
  api::json_escape(out, k.name);
  out += '"';
  str(out, "state", shown_state(k, now_ms));
  out.append(",\"admin\":").append(k.admin ? "true" : "false").append(",\"models\":[");
  for (size_t i = 0; i < k.models.size(); ++i) {
    out.append(i ? ",\"" : "\"");
    api::json_escape(out, k.models[i]);
    out += '"';
  }
  out += ']';
  num(out, "rpm", k.limits.rpm);
  num(out, "tpm", k.limits.tpm);
  num(out, "concurrency", k.limits.concurrency);
  str(out, "priority", priority_name(k.priority));
  time_or_null(out, "created", k.created_ms);
  time_or_null(out, "expires", k.expires_ms);
  time_or_null(out, "last_used", k.last_used_ms);
  str(out, "note", k.note);
  if (last_24h) {
    num(out, "requests_24h", static_cast<uint64_t>(last_24h->requests));
    num(out, "tokens_24h", static_cast<uint64_t>(last_24h->tokens));
  } else {
    out += ",\"requests_24h\":null,\"tokens_24h\":null";
  }
  if (!open) out += '}';
}

}  // namespace corral::auth
