// Strict HTTP/1.1 message parser over llhttp (no lenient flags), with limits
// and the RFC 9112 checks llhttp leaves to its user (Host, empty field names,
// Transfer-Encoding in HTTP/1.0, codings other than chunked, the version).
// feed() stops at the end of the head and at the end of the message so the
// caller knows exactly which raw bytes belong to the head, body and what follows.
#pragma once
#include <llhttp.h>

#include <cstdint>
#include <string>

#include "corral/http/head.h"

namespace corral::http {

struct Limits {
  uint32_t max_header_bytes = 16384;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 64ull << 20;
};

// Receives de-framed body bytes (chunk framing removed).
class BodySink {
 public:
  virtual void on_body(const char* p, size_t n) = 0;

 protected:
  ~BodySink() = default;
};

class MessageParser {
 public:
  enum class Kind { request, response };
  enum class Status { more, head, done, error };
  struct Result {
    Status status;
    size_t used;  // bytes of the input consumed
  };

  MessageParser(Kind kind, Limits limits);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  Result feed(const char* p, size_t n);
  Result finish();                                   // peer closed: completes a close-delimited body
  void next_message();                               // the next message on the same stream (pipelining, after a 1xx)
  void reset();                                      // a fresh stream: also clears an error
  void release_memory() { head_.release_memory(); }  // between messages only
  void skip_body();                                  // response to HEAD: call right after Status::head
  void set_sink(BodySink* s) { sink_ = s; }

  const Head& head() const { return head_; }
  bool keep_alive() const { return llhttp_should_keep_alive(&p_) != 0; }
  bool chunked() const { return (p_.flags & F_CHUNKED) != 0; }
  bool body_until_eof() const { return llhttp_message_needs_eof(&p_) != 0; }
  uint64_t content_length() const { return has_length_ ? length_ : 0; }
  // A byte of a request-line or status-line has arrived (empty lines before a
  // request-line do not count, RFC 9112 §2.2): false means no message began.
  bool message_begun() const { return begun_; }
  // The response may be relayed but its connection must never be reused: an
  // HTTP/1.0 message with Transfer-Encoding (RFC 9112 §6.1, faulty framing).
  bool framing_suspect() const { return framing_suspect_; }
  // A chunked body whose bytes so far end with a whole chunk (or the head): what
  // follows them may be a chunk of the relaying proxy's own.
  bool between_chunks() const { return chunked() && !in_chunk_; }
  char last_body_byte() const { return last_body_byte_; }  // of the de-chunked body; 0 before the first

  // After Status::error: HTTP status to answer with (400, 413, 431) and why.
  int error_status() const { return error_status_; }
  const std::string& error_text() const { return error_text_; }

 private:
  static int on_url(llhttp_t*, const char*, size_t);
  static int on_field(llhttp_t*, const char*, size_t);
  static int on_value(llhttp_t*, const char*, size_t);
  static int on_value_complete(llhttp_t*);
  static int on_headers_complete(llhttp_t*);
  static int on_body(llhttp_t*, const char*, size_t);
  static int on_chunk_header(llhttp_t*);
  static int on_chunk_complete(llhttp_t*);
  static int on_message_complete(llhttp_t*);
  static const llhttp_settings_t* settings();
  int fail(int status, std::string text);
  bool count_head(size_t n);
  int check_field(std::string_view name, std::string_view value);
  int check_request_head();
  const char* bad_head_bytes(const char* p, size_t n);
  Result error_result(llhttp_errno_t err, size_t n);

  llhttp_t p_{};
  Head head_;
  Limits limits_;
  Kind kind_;
  BodySink* sink_ = nullptr;
  uint64_t head_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t length_ = 0;
  bool has_length_ = false;
  bool head_done_ = false;
  bool paused_ = false;
  bool begun_ = false;
  bool framing_suspect_ = false;
  bool in_chunk_ = false;  // from a chunk's size line to the end of its data
  char last_body_byte_ = 0;
  bool te_not_just_chunked_ = false;  // a Transfer-Encoding coding other than chunked
  uint32_t host_lines_ = 0;
  uint32_t te_lines_ = 0;
  uint32_t blank_bytes_ = 0;  // empty lines before the request-line
  char prev_ = 0;
  int error_status_ = 0;
  std::string error_text_;
};

}  // namespace corral::http
