#include "stream_timing.h"

namespace load {

// A line is a chunk unless it is blank, SSE's end marker, an event name or a comment.
void StreamTiming::line_done(std::string_view line) {
  bool blank = line.find_first_not_of(" \r") == std::string_view::npos;
  bool meta = line.starts_with("data: [DONE]") || line.starts_with("event:") || line.starts_with(":");
  if (blank || meta) return;
  ++chunks_;
  if (first_us_ == 0) first_us_ = now_us_;
  else gaps_.push_back(now_us_ - last_us_);
  last_us_ = now_us_;
}

void StreamTiming::on_body(const char* p, size_t n) {
  bytes_ += n;
  tail_.add(p, n);
  lines_.push(std::string_view(p, n));
  for (std::string_view line; lines_.next(line);) line_done(line);
}

int64_t StreamTiming::tokens() const {
  corral::api::StreamStats st = corral::api::extract_final_stats(tail_.tail());
  if (st.found && st.completion_tokens >= 0) return st.completion_tokens;
  return static_cast<int64_t>(chunks_);
}

}  // namespace load
