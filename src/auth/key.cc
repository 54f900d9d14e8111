#include "corral/auth/key.h"

namespace corral::auth {

std::string_view priority_name(Priority p) {
  switch (p) {
    case Priority::high:
      return "high";
    case Priority::low:
      return "low";
    case Priority::normal:
      break;
  }
  return "normal";
}

bool parse_priority(std::string_view s, Priority& out) {
  if (s == "high") out = Priority::high;
  else if (s == "normal") out = Priority::normal;
  else if (s == "low") out = Priority::low;
  else return false;
  return true;
}

std::string_view state_name(KeyState s) { return s == KeyState::revoked ? "revoked" : "active"; }

bool parse_state(std::string_view s, KeyState& out) {
  if (s == "active") out = KeyState::active;
  else if (s == "revoked") out = KeyState::revoked;
  else return false;
  return true;
}

namespace {

std::string_view without_latest(std::string_view m) { return m.ends_with(":latest") ? m.substr(0, m.size() - 7) : m; }

}  // namespace

bool Key::allows_model(std::string_view model) const {
  if (models.empty()) return true;
  std::string_view want = without_latest(model);
  for (std::string_view m : models) {
    if (m.ends_with('*') ? model.starts_with(m.substr(0, m.size() - 1)) : without_latest(m) == want) return true;
  }
  return false;
}

}  // namespace corral::auth
