#include "corral/api/final_stats.h"

#include <algorithm>
#include <cstdint>

namespace corral::api {
namespace {

// Value of the last `"key":<integer>` in s, or -1.
int64_t last_int(std::string_view s, std::string_view key) {
  std::string pat;
  pat.reserve(key.size() + 3);
  pat.append("\"").append(key).append("\"");
  size_t pos = s.rfind(pat);
  while (pos != std::string_view::npos) {
    size_t i = pos + pat.size();
    while (i < s.size() && (s[i] == ' ' || s[i] == ':')) ++i;
    if (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      int64_t v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        int digit = s[i++] - '0';
        if (v > (INT64_MAX - digit) / 10) return -1;  // not a count corral can use (found by fuzz-final_stats)
        v = v * 10 + digit;
      }
      return v;
    }
    if (pos == 0) break;
    pos = s.rfind(pat, pos - 1);
  }
  return -1;
}

// The last non-empty line (NDJSON object or SSE data line) holding `marker`.
std::string_view last_line_with(std::string_view s, std::string_view marker) {
  size_t pos = s.rfind(marker);
  if (pos == std::string_view::npos) return {};
  size_t start = s.rfind('\n', pos);
  start = start == std::string_view::npos ? 0 : start + 1;
  size_t end = s.find('\n', pos);
  return s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

}  // namespace

StreamStats extract_final_stats(std::string_view tail) {
  StreamStats st;
  std::string_view ollama = last_line_with(tail, "\"eval_count\"");
  if (!ollama.empty()) {
    st.found = true;
    read_ollama_final(st, [ollama](std::string_view key) { return last_int(ollama, key); });
    return st;
  }
  std::string_view usage = last_line_with(tail, "\"usage\"");
  if (!usage.empty()) {
    st.prompt_tokens = last_int(usage, "prompt_tokens");
    st.completion_tokens = last_int(usage, "completion_tokens");
    st.found = st.prompt_tokens >= 0 || st.completion_tokens >= 0;
  }
  return st;
}

// Room for n more tail bytes (the tail already cut so that n fit in kTailBytes).
// A string grows by doubling, which takes every tail that passes half of
// kTailBytes to twice kTailBytes, held by every long stream; past that point the
// tail moves to a string of exactly kTailBytes instead (libstdc++ doubles on
// reserve() too, but not from an empty string).
void BodySample::make_tail_room(size_t n) {
  if (tail_.size() + n <= tail_.capacity() || 2 * tail_.capacity() <= kTailBytes) return;
  std::string room;
  room.reserve(kTailBytes);
  room.append(tail_);
  tail_.swap(room);
}

void BodySample::add(const char* p, size_t n) {
  if (head_.size() < head_cap_) head_.append(p, std::min(n, head_cap_ - head_.size()));
  if (n >= kTailBytes) {
    tail_.clear();
    p += n - kTailBytes;
    n = kTailBytes;
  } else if (tail_.size() + n > kTailBytes) {
    tail_.erase(0, tail_.size() + n - kTailBytes);
  }
  make_tail_room(n);
  tail_.append(p, n);
}

}  // namespace corral::api
