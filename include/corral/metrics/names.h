// Label values one worker has seen (model names, key names): written by that
// worker, read by the scrape without a lock. At most `cap` values get an id of
// their own; later ones, and values that are not plain names, are kOther.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace corral::metrics {

class LabelNames {
 public:
  static constexpr uint8_t kOther = 254;  // past the cap or not a plain name
  static constexpr uint8_t kNone = 255;   // no value (the request names no model, has no key)
  static constexpr size_t kNameMax = 64;  // model names and key names (auth allows 64) fit

  explicit LabelNames(unsigned cap) : cap_(cap > kOther ? kOther : cap) {}
  uint8_t intern(std::string_view name);  // writer only
  size_t size() const { return count_.load(std::memory_order_acquire); }
  std::string_view name(uint8_t id) const;  // "" for kNone, "other" for kOther

 private:
  char names_[kOther][kNameMax] = {};
  uint8_t lens_[kOther] = {};
  std::atomic<size_t> count_{0};
  unsigned cap_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint8_t, Hash, std::equal_to<>> index_;  // writer-side lookup, no copy per find
};

// A-Z a-z 0-9 . _ - : / and at most kNameMax bytes: safe as a label value, never free text.
bool plain_name(std::string_view s);

}  // namespace corral::metrics
