// Per-request timing from the bytes of a response body as they arrive: each
// NDJSON line or SSE "data:" line is one chunk (framed by corral's own
// api::LineFramer, the one the proxy's translators read streams with); the first is the first token,
// gaps between chunks are inter-token latency. Final stats (tokens) come from
// the tail, as corral reads them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "corral/api/final_stats.h"
#include "corral/api/framer.h"
#include "corral/http/parser.h"

namespace load {

class StreamTiming final : public corral::http::BodySink {
 public:
  void start(int64_t now_us) {
    *this = StreamTiming();
    start_us_ = now_us;
  }
  void set_now(int64_t now_us) { now_us_ = now_us; }
  void on_body(const char* p, size_t n) override;

  int64_t ttft_us() const { return first_us_ ? first_us_ - start_us_ : -1; }
  const std::vector<int64_t>& gaps_us() const { return gaps_; }  // inter-chunk latencies
  uint64_t chunks() const { return chunks_; }
  uint64_t bytes() const { return bytes_; }
  // Tokens generated: eval_count / usage.completion_tokens, else the chunk count.
  int64_t tokens() const;

 private:
  void line_done(std::string_view line);
  int64_t start_us_ = 0, now_us_ = 0, first_us_ = 0, last_us_ = 0;
  uint64_t chunks_ = 0, bytes_ = 0;
  corral::api::LineFramer lines_;
  std::vector<int64_t> gaps_;
  corral::api::BodySample tail_;
};

}  // namespace load
