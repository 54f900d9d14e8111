// corral-sim: what the connection layer hands to the API layer and back: a
// parsed request, and a reply that is either a whole body or a chunk stream.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim_fault.h"

namespace sim {

// Per-request knobs: defaults from the flags, overridden by X-Sim-* headers.
struct Knobs {
  int tokens = 8;
  int ttft_ms = 0;
  int token_delay_ms = 0;
  int token_pad = 0;          // '.' characters appended to each token
  int status = 0;             // X-Sim-Status (0: off)
  int disconnect_after = -1;  // token chunks, then close abruptly
  int stall_after = -1;       // token chunks, then send nothing more
  Fault fault = Fault::none;  // X-Sim-Fault
  int fault_at = 0;           // X-Sim-Fault-At: kFaultMidHead, or token chunks before the fault
};

struct Request {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // without the query string
  std::string body;
  Knobs knobs;
  std::string knob_error;                                    // set when an X-Sim-* header is malformed
  std::vector<std::pair<std::string, std::string>> headers;  // every header, only when heads are recorded
};

// One piece of a streamed reply.
struct Chunk {
  std::string data;
  bool token = false;  // counts for X-Sim-Stall-After / X-Sim-Disconnect-After
};

// A streamed reply, played by the connection: wait next_delay_ns() after the
// previous chunk, then take next() (built when due, so timestamps are real).
class Producer {
 public:
  static constexpr int64_t kDone = -1;
  static constexpr int64_t kWait = -2;  // not due yet: park(), then ask again once woken
  virtual ~Producer() = default;
  virtual int64_t next_delay_ns() = 0;
  virtual void next(Chunk& c) = 0;
  // After kWait: `wake` is called (once) when the producer can go on.
  virtual void park(std::function<void()> wake) { (void)wake; }
};

struct Reply {
  int status = 200;
  std::string content_type;          // empty: no Content-Type header
  std::string body;                  // whole body when `stream` is null
  std::unique_ptr<Producer> stream;  // chunked (Transfer-Encoding) when set
  int delay_ms = 0;                  // whole-body replies: time before the reply is sent
  int tokens = 0;                    // whole-body replies: tokens it carries (for stall/disconnect)
  // With `stream`: played on its schedule, but sent as one Content-Length body at the end.
  bool buffered = false;
};

extern const char* const kJson;    // application/json; charset=utf-8
extern const char* const kNdjson;  // application/x-ndjson
extern const char* const kSse;     // text/event-stream
extern const char* const kText;    // text/plain; charset=utf-8

Reply json_reply(int status, std::string body);
Reply error_reply(int status, std::string_view message);  // {"error":message}
Reply text_reply(int status, const char* content_type, std::string body);

const char* reason_phrase(int status);
bool status_has_body(int status);
// "HTTP/1.1 ..." through the blank line. content_length < 0: chunked (or
// close-delimited when `chunked` is false, for HTTP/1.0 clients).
std::string response_head(int status, std::string_view content_type, int64_t content_length, bool close,
                          bool chunked = true);

}  // namespace sim
