// What `corral keys` and the admin API do to the store, in one place, and the
// one JSON form of a key both print. A token is returned to be shown once and
// is never stored or logged.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/auth/activity.h"
#include "corral/auth/key_spec.h"
#include "corral/auth/store.h"

namespace corral::auth {

// Each: StoreStatus::ok with out the key as stored, not_found / exists, or error with err.
StoreStatus create_key(KeyStore& store, std::string_view name, const KeySpec& spec, int64_t now_ms, Key& out,
                       std::string& token, std::string& err);
// A new token replaces the old one at once; a revoked key becomes active again with it.
StoreStatus rotate_key(KeyStore& store, std::string_view name, Key& out, std::string& token, std::string& err);
StoreStatus revoke_key(KeyStore& store, std::string_view name, Key& out, std::string& err);
// The fields spec names; with new_token, also a rotation in the same transaction.
StoreStatus change_key(KeyStore& store, std::string_view name, const KeySpec& spec, int64_t now_ms, Key& out,
                       std::string& err, std::string* new_token = nullptr);

// "active", "revoked" or "expired" (an active key past its expiry).
std::string_view shown_state(const Key& k, int64_t now_ms);

// {"name":…,"state":…,"admin":…,"models":[…],"rpm":…,"tpm":…,"concurrency":…,"priority":…,
//  "created":ISO,"expires":ISO|null,"last_used":ISO|null,"note":…,"requests_24h":N|null,"tokens_24h":N|null}
// without the closing brace when open is true (so a caller can add "token").
void append_key_json(std::string& out, const Key& k, int64_t now_ms, const KeyActivity* last_24h, bool open = false);

}  // namespace corral::auth
