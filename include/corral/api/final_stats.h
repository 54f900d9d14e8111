// Final generation statistics read from the tail of a response body: the last
// NDJSON object of an Ollama stream (done:true … eval_count) or the OpenAI
// `usage` object (SSE chunk or JSON body). A bounded tail is kept, nothing more.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace corral::api {

struct StreamStats {
  bool found = false;
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  int64_t total_duration_ns = -1;
  int64_t load_duration_ns = -1;
  int64_t prompt_eval_duration_ns = -1;
  int64_t eval_duration_ns = -1;
};

// Ollama's final object's counts and durations into `st` (StreamStats or Usage),
// each read by `get(key)` (-1: none): one list of Ollama's names for the
// final-stats scan, which reads them from text, and the Ollama decoder, from JSON.
template <class Stats, class Get>
void read_ollama_final(Stats& st, Get get) {
  st.prompt_tokens = get("prompt_eval_count");
  st.completion_tokens = get("eval_count");
  st.total_duration_ns = get("total_duration");
  st.load_duration_ns = get("load_duration");
  st.prompt_eval_duration_ns = get("prompt_eval_duration");
  st.eval_duration_ns = get("eval_duration");
}

// Scans `tail` (the end of a response body) for the final stats.
StreamStats extract_final_stats(std::string_view tail);

// Keeps the last kTailBytes of de-chunked body bytes (final stats) and, when
// asked, the first head_cap bytes (the analytics response preview).
class BodySample {
 public:
  static constexpr size_t kTailBytes = 1024;
  void add(const char* p, size_t n);
  std::string_view tail() const { return tail_; }
  std::string_view head() const { return head_; }
  void clear(size_t head_cap) {
    tail_.clear();
    head_.clear();
    head_cap_ = head_cap;
  }
  void release_memory() {
    std::string().swap(tail_);
    std::string().swap(head_);
  }
  size_t tail_capacity() const { return tail_.capacity(); }  // what the tail holds on to (a test reads it)

 private:
  void make_tail_room(size_t n);
  std::string tail_;
  std::string head_;
  size_t head_cap_ = 0;
};

}  // namespace corral::api
