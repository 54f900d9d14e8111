// One client connection: reads requests in order, answers local endpoints,
// forwards everything else to a backend and streams the answer back without
// copying body bytes (receive buffer → client send), pausing the backend when
// the client is slower (watermarks).
#pragma once
#include <string>
#include <vector>

#include "corral/analysis/prompt.h"
#include "corral/core/loop.h"
#include "corral/http/parser.h"
#include "corral/http/response.h"
#include "corral/proxy/context.h"
#include "corral/proxy/endpoint.h"
#include "corral/proxy/stream_stats.h"
#include "corral/proxy/upstream.h"

namespace corral::proxy {

class Session final : public core::SocketHandler, public UpstreamUser {
 public:
  Session(WorkerContext& ctx, int fd);
  void tick(uint64_t now_ms);
  void close();  // drop the connection now (drain deadline)

  Session* prev = nullptr;
  Session* next = nullptr;

 private:
  enum class State : uint8_t { head, body, upstream, streaming, local, closing };
  struct Segment {
    const char* p;
    uint32_t n;
    int32_t buf;  // receive buffer to release once sent, or -1
  };

  void on_data(core::Socket&, core::IoBuf buf) override;
  void on_eof(core::Socket&, int err) override;
  void on_sent(core::Socket&, int err) override;
  void on_closed(core::Socket&) override;
  void up_connected(int err) override;
  void up_data(core::IoBuf buf) override;
  void up_eof(int err) override;
  void up_sent(int err) override;

  void consume(const char* p, size_t n);
  void on_request_head();
  void on_request_done();
  void reject(int status, std::string_view why);
  void respond_local(const http::LocalResponse& r, bool close);
  void fail_upstream(int status, std::string why);
  void start_upstream();
  size_t pick_backend();
  void on_response_head();
  void forward_body(core::IoBuf buf, size_t off);
  void queue(const char* p, uint32_t n, int32_t buf);
  void flush();
  void finish_request();
  void drop_upstream(bool reusable);
  void retry_or_fail(int err);
  void set_deadline(uint32_t ms);
  void count_started();
  void count_finished();
  void record_metrics();
  void reset_request_facts();

  WorkerContext& ctx_;
  core::Socket client_;
  http::MessageParser req_;
  UpstreamConn* up_ = nullptr;
  State state_ = State::head;
  Endpoint endpoint_ = kOther;
  bool client_keep_alive_ = true;
  bool close_after_ = false;
  bool head_only_ = false;
  bool request_started_ = false;
  bool counted_ = false;
  bool body_sent_ = false;
  bool retried_ = false;
  bool response_seen_ = false;
  bool response_done_ = false;
  bool upstream_paused_ = false;
  bool upstream_reusable_ = true;
  bool head_queued_ = false;
  bool interim_sending_ = false;
  bool client_paused_ = false;
  int status_ = 0;
  uint32_t queued_bytes_ = 0;
  uint64_t deadline_ = 0;
  uint64_t bytes_out_ = 0;
  // What the request and response tell the metrics.
  std::string model_;
  uint8_t category_;
  int complexity_score_ = -1;
  analysis::ComplexityClass complexity_ = analysis::kLow;
  uint8_t backend_;
  int64_t start_us_ = 0, first_byte_us_ = 0, connect_start_us_ = 0, connect_us_ = -1;
  TailKeeper tail_;
  std::string request_id_;
  std::string up_request_;  // rewritten head for the backend
  std::string body_;        // raw request body bytes, forwarded verbatim
  std::string out_head_;    // response head (and a small first body piece)
  std::string pending_in_;  // pipelined bytes received while a request is in flight
  std::vector<Segment> out_;
  size_t out_pos_ = 0;
  char client_ip_[48] = "";
};

}  // namespace corral::proxy
