#include "stream_timing.h"

namespace load {

void StreamTiming::chunk_done() {
  bool sse_meta = line_.rfind("data: [DONE]", 0) == 0;
  bool counts = line_has_data_ && !sse_meta && line_.rfind("event:", 0) != 0 && line_.rfind(":", 0) != 0;
  if (counts) {
    ++chunks_;
    if (first_us_ == 0) first_us_ = now_us_;
    else gaps_.push_back(now_us_ - last_us_);
    last_us_ = now_us_;
  }
  line_.clear();
  line_has_data_ = false;
}

void StreamTiming::on_body(const char* p, size_t n) {
  bytes_ += n;
  tail_.add(p, n);
  for (size_t i = 0; i < n; ++i) {
    char c = p[i];
    if (c == '\n') {
      chunk_done();
      continue;
    }
    if (c != '\r' && c != ' ') line_has_data_ = true;
    if (line_.size() < 16) line_.push_back(c);
  }
}

int64_t StreamTiming::tokens() const {
  corral::api::StreamStats st = corral::api::extract_final_stats(tail_.tail());
  if (st.found && st.completion_tokens >= 0) return st.completion_tokens;
  return static_cast<int64_t>(chunks_);
}

}  // namespace load
