// The key check on a request's head, before its body is read: which
// credential it carries, whether the key may do what the endpoint needs, and
// its limits. No lock, no I/O: the key table is an immutable snapshot and the
// limit counters are atomics.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "corral/auth/table.h"
#include "corral/http/head.h"

namespace corral::auth {

enum class Access : uint8_t { open, key, admin };  // what an endpoint needs

enum class Denial : uint8_t { none, auth, forbidden, rate_limit };

// The token of `Authorization: Bearer TOKEN` (ollama and OpenAI clients) or
// `x-api-key: TOKEN` (Anthropic clients); empty when the request has neither.
std::string_view credential(const http::Head& h);

struct Decision {
  Denial denial = Denial::none;
  std::string message;         // why, naming the key or the limit, never the token
  uint32_t retry_after_s = 0;  // rate_limit: when trying again can succeed
  const KeyEntry* entry = nullptr;
  Admission admission;  // the request's concurrency slot, held until it ends
};

// Checks the head against the table (time: Unix ms for expiry, monotonic µs for limits).
Decision check(const KeyTable& table, const http::Head& h, Access need, int64_t now_unix_ms, int64_t now_us);

}  // namespace corral::auth
