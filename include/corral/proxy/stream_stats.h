// Final generation statistics read from the tail of a response body: the last
// NDJSON object of an Ollama stream (done:true … eval_count) or the OpenAI
// `usage` object (SSE chunk or JSON body). A bounded tail is kept, nothing more.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/http/parser.h"

namespace corral::proxy {

struct StreamStats {
  bool found = false;
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  int64_t total_duration_ns = -1;
  int64_t load_duration_ns = -1;
  int64_t prompt_eval_duration_ns = -1;
  int64_t eval_duration_ns = -1;
};

// Scans `tail` (the end of a response body) for the final stats.
StreamStats extract_final_stats(std::string_view tail);

// Keeps the last kTailBytes of de-chunked body bytes.
class TailKeeper final : public http::BodySink {
 public:
  static constexpr size_t kTailBytes = 1024;
  void on_body(const char* p, size_t n) override;
  std::string_view tail() const { return tail_; }
  void clear() { tail_.clear(); }
  void release_memory() { std::string().swap(tail_); }

 private:
  std::string tail_;
};

}  // namespace corral::proxy
