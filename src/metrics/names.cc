#include "corral/metrics/names.h"

#include <cstring>

namespace corral::metrics {

bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > LabelNames::kNameMax) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-' || c == ':' || c == '/'))
      return false;
  }
  return true;
}

uint8_t LabelNames::intern(std::string_view name) {
  if (name.empty()) return kNone;
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  size_t n = count_.load(std::memory_order_relaxed);
  if (n >= cap_ || !plain_name(name)) return kOther;
  std::memcpy(names_[n], name.data(), name.size());
  lens_[n] = static_cast<uint8_t>(name.size());
  index_.emplace(std::string(name), static_cast<uint8_t>(n));
  count_.store(n + 1, std::memory_order_release);
  return static_cast<uint8_t>(n);
}

std::string_view LabelNames::name(uint8_t id) const {
  if (id == kNone) return "";
  if (id >= size()) return "other";
  return {names_[id], lens_[id]};
}

}  // namespace corral::metrics
