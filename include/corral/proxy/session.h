// One client connection: reads requests in order, answers local endpoints,
// forwards everything else to a backend and streams the answer back without
// copying body bytes (receive buffer → client send), pausing the backend when
// the client is slower (watermarks).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "corral/analysis/prompt.h"
#include "corral/core/loop.h"
#include "corral/http/parser.h"
#include "corral/http/response.h"
#include "corral/proxy/context.h"
#include "corral/proxy/endpoint.h"
#include "corral/proxy/fanout.h"
#include "corral/proxy/stream_stats.h"
#include "corral/proxy/upstream.h"
#include "corral/route/picker.h"

namespace corral::proxy {

class Session final : public core::SocketHandler, public UpstreamUser, public FanoutUser {
 public:
  Session(WorkerContext& ctx, int fd);
  void tick(uint64_t now_ms);
  void close();  // drop the connection now (drain deadline)
  void retry_queued();  // waiting for admission: try the backends again

  Session* prev = nullptr;
  Session* next = nullptr;
  Session* wait_prev = nullptr;
  Session* wait_next = nullptr;

 private:
  enum class State : uint8_t { head, body, queued, upstream, streaming, fanout, local, closing };
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
  void read_request_body();
  void reject(int status, std::string_view why);
  void respond_local(const http::LocalResponse& r, bool close);
  void fail_upstream(int status, std::string why);
  // Routing (session_route.cc).
  void route_request();
  void try_route();
  void route_failed(route::PickStatus why);
  http::LocalResponse busy_response(std::string_view why);
  void attempt_failed(int status, std::string why, bool circuit);
  bool fail_over_on_status(int status);
  void release_admission();
  void enqueue(uint8_t first_choice);
  void leave_queue();
  bool is_fanout() const;
  void start_fanout();
  void fanout_done() override;

  void start_upstream(uint8_t slot);
  bool on_response_head();
  void forward_body(core::IoBuf buf, size_t off);
  void queue(const char* p, uint32_t n, int32_t buf);
  void flush();
  void finish_request();
  void drop_upstream(bool reusable);
  void retry_or_fail(int err);
  void set_deadline(uint32_t ms);
  void count_started();
  void count_finished();
  // What a finished request tells metrics and analytics (session_record.cc).
  void record_metrics(const StreamStats& st);
  void record_analytics(const StreamStats& st);
  void answer_analytics();
  void reset_request_facts();
  void release_idle_memory();

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
  bool trimmed_ = false;  // idle: per-request buffers given back
  bool pull_ = false;
  uint8_t attempts_ = 0;
  int16_t admitted_ = -1;  // backend slot whose admission place this request holds
  uint8_t queued_first_ = 0;
  int status_ = 0;
  uint32_t queued_bytes_ = 0;
  uint64_t deadline_ = 0;
  uint64_t bytes_out_ = 0;
  // What the request and response tell the metrics.
  std::string model_;
  uint8_t category_;
  int complexity_score_ = -1;
  uint32_t prompt_chars_ = 0;
  analysis::ComplexityClass complexity_ = analysis::kLow;
  uint8_t backend_;
  int64_t start_us_ = 0, first_byte_us_ = 0, connect_start_us_ = 0, connect_us_ = -1;
  int64_t queued_us_ = 0;
  uint64_t affinity_ = 0;
  route::SlotSet tried_;
  int fail_status_ = 0;
  std::string fail_why_;  // the last failed attempt, relayed when no backend is left
  std::string source_;    // /api/copy
  std::unique_ptr<Fanout> fanout_;
  BodySample sample_;        // response body: final stats (tail), analytics preview (head)
  std::string prompt_preview_;
  int8_t stream_ = -1;       // the request's stream flag (or its endpoint's default), -1: none
  uint32_t local_body_at_ = 0;  // where a local answer's body starts in out_head_
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
