// corral-sim: one client connection on an epoll loop. Parses requests with
// llhttp (keep-alive, pipelining in order, Content-Length and chunked bodies),
// answers them through route(), and plays streamed replies chunk by chunk on
// the loop's timers, never blocking and never buffering more than a window.
#pragma once
#include <llhttp.h>
#include <sys/epoll.h>

#include <cstdint>
#include <string>

#include "sim_api.h"
#include "sim_timers.h"

namespace sim {

struct ConnEnv {
  int epfd;
  Timers& timers;
  Ctx& ctx;
};

class Conn {
 public:
  // Takes ownership of fd (non-blocking, already added to epfd with data.u64 = id).
  Conn(ConnEnv& env, int fd, uint64_t id);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void on_event(uint32_t events);
  void on_timer(uint64_t seq);
  bool closed() const { return fd_ < 0; }

  static constexpr uint32_t kInitialEvents = EPOLLIN | EPOLLRDHUP;

 private:
  enum class St { idle, waiting, streaming, stalled, closing };

  // llhttp callbacks
  static int cb_message_begin(llhttp_t* p);
  static int cb_url(llhttp_t* p, const char* at, size_t n);
  static int cb_header_field(llhttp_t* p, const char* at, size_t n);
  static int cb_header_value(llhttp_t* p, const char* at, size_t n);
  static int cb_header_value_complete(llhttp_t* p);
  static int cb_headers_complete(llhttp_t* p);
  static int cb_body(llhttp_t* p, const char* at, size_t n);
  static int cb_message_complete(llhttp_t* p);
  static const llhttp_settings_t* settings();
  bool count_head(size_t n);
  void header(const std::string& name, const std::string& value);

  void read_input();
  void parse();
  void bad_request(llhttp_errno_t err);
  void dispatch();
  void start(Reply r);
  void send_whole();
  void pump();
  void park();
  void stream_head();
  void emit(const Chunk& c);
  void end_stream();
  void finish_reply();
  void flush();
  void peer_gone();
  void abort();
  void close_now();
  void arm(int64_t at_ns);
  void update_interest();
  bool knobs_apply() const { return req_.path != "/sim/stats"; }

  ConnEnv& env_;
  int fd_;
  uint64_t id_;
  uint32_t registered_ = kInitialEvents;
  uint64_t timer_seq_ = 0;

  llhttp_t parser_;
  Request req_;
  std::string url_, hname_, hval_;
  size_t head_bytes_ = 0;
  int reject_ = 0;  // 413/431 from a callback
  bool message_ready_ = false, keep_alive_ = true, http10_ = false, head_only_ = false, expect_continue_ = false;

  std::string in_;   // received, not yet parsed
  std::string out_;  // to send, from out_off_
  size_t out_off_ = 0;

  St st_ = St::idle;
  Reply reply_;
  Chunk chunk_;
  bool have_delay_ = false, head_sent_ = false, drop_ = false, peer_eof_ = false, in_parse_ = false, parked_ = false;
  std::string body_;  // a buffered reply's body (Reply::buffered)
  int tokens_sent_ = 0;
  int64_t next_at_ = 0;
};

}  // namespace sim
