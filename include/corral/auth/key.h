// An API key as corral stores it: who it is for, what it may do, its limits.
// The token itself is never kept, only its digest.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corral/auth/token.h"

namespace corral::auth {

enum class Priority : uint8_t { high, normal, low };  // order out of a full backend's queue
enum class KeyState : uint8_t { active, revoked };

std::string_view priority_name(Priority p);
bool parse_priority(std::string_view s, Priority& out);
std::string_view state_name(KeyState s);
bool parse_state(std::string_view s, KeyState& out);

// 0 = no limit.
struct KeyLimits {
  uint32_t rpm = 0;          // requests in any 60 s
  uint64_t tpm = 0;          // prompt + completion tokens in the last 60 s
  uint32_t concurrency = 0;  // requests in flight, streams included
  bool operator==(const KeyLimits&) const = default;
};

struct Key {
  std::string name;
  Digest digest{};
  bool admin = false;               // may use /admin/*, /status and /analytics* when auth is on
  std::vector<std::string> models;  // allow-list; empty = every model
  KeyLimits limits;
  Priority priority = Priority::normal;
  int64_t created_ms = 0;    // Unix ms
  int64_t expires_ms = 0;    // Unix ms; 0 = never
  int64_t last_used_ms = 0;  // Unix ms; 0 = never (written every few seconds, not per request)
  KeyState state = KeyState::active;
  std::string note;

  // An allow-list entry matches the model exactly, "name" and "name:latest" are the
  // same model (as Ollama treats them), and "prefix*" matches every model starting so.
  bool allows_model(std::string_view model) const;
  bool expired_at(int64_t now_ms) const { return expires_ms != 0 && now_ms >= expires_ms; }
};

}  // namespace corral::auth
