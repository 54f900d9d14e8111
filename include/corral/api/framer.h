// Incremental framing of streamed response bodies: NDJSON lines (Ollama) and
// Server-Sent Events (OpenAI, Anthropic). Bytes arrive split anywhere; complete
// frames come out in order, the same frames whatever the split. A frame longer
// than the limit is an error (the framer stays failed), so a peer that never
// sends a newline cannot grow the buffer without bound.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace corral::api {

class LineFramer {
 public:
  static constexpr size_t kDefaultMaxLine = size_t(8) << 20;
  explicit LineFramer(size_t max_line = kDefaultMaxLine) : max_(max_line) {}

  // Adds body bytes. Views returned by next()/take_rest() are invalid afterwards.
  void push(std::string_view bytes);
  // The next complete line without its "\n" (or "\r\n"). False when no line is complete
  // (or the framer overflowed).
  bool next(std::string_view& line);
  // Once the body has ended: its last line when that had no newline.
  bool take_rest(std::string_view& line);
  bool overflowed() const { return overflow_; }
  size_t max_line() const { return max_; }

 private:
  std::string buf_;
  size_t pos_ = 0;   // first byte not yet returned
  size_t scan_ = 0;  // where the search for the next '\n' resumes
  size_t max_;
  bool overflow_ = false;
};

struct SseEvent {
  std::string_view event;  // the `event:` field; empty when the event had none
  std::string_view data;   // `data:` lines joined by "\n"
};

// Event-stream parsing as the WHATWG spec describes it: `field: value` lines,
// ':' comments, a blank line dispatches; an event without data is not dispatched.
class SseFramer {
 public:
  static constexpr size_t kDefaultMaxEvent = size_t(8) << 20;
  explicit SseFramer(size_t max_event = kDefaultMaxEvent) : lines_(max_event), max_(max_event) {}

  void push(std::string_view bytes) { lines_.push(bytes); }
  // The next complete event; its views stay valid until the next call or push.
  bool next(SseEvent& ev);
  // Once the body has ended: an event the peer did not close with a blank line.
  bool take_rest(SseEvent& ev);
  bool overflowed() const { return overflow_ || lines_.overflowed(); }

 private:
  void field(std::string_view line);
  bool dispatch(SseEvent& ev);

  LineFramer lines_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  bool dispatched_ = false;  // event_/data_ still back the last event returned
  size_t max_;
  bool overflow_ = false;
};

}  // namespace corral::api
