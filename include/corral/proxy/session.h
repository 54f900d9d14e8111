// One client connection, orchestrating the request pipeline: parse the head
// (http), plan (api: endpoint, body facts), route (RouteAttempt: admission,
// queue, failover), exchange with the backend (upstream::Client over a
// transport), stream the answer to the client without copying body bytes
// (receive buffer → client send; the backend is paused when the client is
// slower), record (metrics shard, analytics ring). The connection state lives
// here; everything about the request in flight lives in its Exchange, taken
// when the request's first byte arrives and given back when it ends.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "corral/api/merge.h"
#include "corral/http/response.h"
#include "corral/proxy/context.h"
#include "corral/proxy/exchange.h"
#include "corral/proxy/fanout.h"
#include "corral/transport/transport.h"
#include "corral/upstream/client.h"

namespace corral::proxy {

class Session final : public transport::TransportUser, public upstream::ClientUser, public FanoutUser {
 public:
  // peer: the client's address as text (for X-Forwarded-For, logs, analytics);
  // tls: the certificate a client of the TLS listener gets (null: plain).
  Session(WorkerContext& ctx, int fd, std::string_view peer, std::shared_ptr<transport::TlsServerContext> tls = {});
  void tick(uint64_t now_ms);
  void close();                                    // drop the connection now (drain deadline)
  void retry_queued();                             // waiting for admission: try the backends again
  void serve_local_only() { local_only_ = true; }  // the metrics.listen port

  Session* prev = nullptr;
  Session* next = nullptr;

 private:
  enum class State : uint8_t { idle, head, body, queued, upstream, streaming, fanout, local, closing };

  // Client side (session.cc).
  void on_connected(int) override {}  // an accepted client is connected from the start
  void on_data(core::IoBuf buf) override;
  void on_eof(int err) override;
  void on_sent(int err) override;
  void on_closed() override;
  void consume(const char* p, size_t n);
  void on_request_head();
  void on_request_done();
  void reject(int status, std::string_view why);
  void respond_local(const http::LocalResponse& r, bool close);
  void respond_error(int status, std::string_view why);
  http::LocalResponse error_response(int status, std::string_view why) const;
  void flush();
  void finish_request();
  void end_exchange();
  void set_deadline(uint32_t ms);
  void on_deadline();

  // Authorize (session_auth.cc).
  auth::Access access_needed() const;
  bool authorize();
  void refuse(int status, std::string_view why, std::string_view extra_headers = {});
  bool model_allowed();

  // Plan (session_plan.cc) and route (session_route.cc).
  void plan();
  void resolve_alias();
  bool prepare_attempt(uint8_t slot);
  void refuse_attempt(int status, std::string why);
  RouteQuestion question() const;
  void route_request();
  void try_route();
  void route_failed(route::PickStatus why);
  std::string why_down(const std::string& model);
  bool wait_for_on_demand();
  void answer_provisioning(const std::string& backend, const std::string& error);
  http::LocalResponse busy_response(std::string_view why);
  void attempt_failed(int status, std::string why, bool circuit);
  bool fail_over_on_status(int status);
  void enqueue(uint8_t first_choice);
  void shed();  // pushed out of a full queue by a more important request
  void leave_queue();
  void start_fanout();
  void fanout_done() override;
  std::vector<api::KnownModel> known_models();

  // Backend side (session_upstream.cc).
  void start_upstream(uint8_t slot);
  void build_request(uint8_t slot, std::string& out);
  void end_attempt();
  void on_upstream_connected() override;
  bool on_response_head(const http::Head& head) override;
  bool transform_head(const http::Head& head);
  void answer_translated_error();
  void on_response_bytes(core::IoBuf buf, uint32_t off, uint32_t len) override;
  void on_response_done() override;
  void on_failure(upstream::Failure why, int err, std::string_view transport) override;
  void fail_upstream(int status, std::string why);
  void end_stream_with_error(std::string_view why);
  void watch_backpressure();

  // What a finished request tells metrics and analytics (session_record.cc).
  void count_started();
  void count_finished();
  void record_metrics(const api::StreamStats& st);
  void record_analytics(const api::StreamStats& st);
  void log_access();
  // /analytics and the other local endpoints (session_local.cc).
  bool misplaced();  // an endpoint this port does not serve (answered)
  void answer_local();
  void answer_analytics();
  void answer_admin();
  void answer_test();
  void hand_off(std::string_view who, const std::function<bool(int fd)>& submit);

  WorkerContext& ctx_;
  std::unique_ptr<transport::Transport> client_;
  Exchange* ex_ = nullptr;  // the request in flight, or null between requests
  State state_ = State::idle;
  bool close_after_ = false;
  bool client_paused_ = false;
  bool interim_sending_ = false;  // a 100 Continue is being sent
  bool upstream_paused_ = false;
  bool local_only_ = false;
  uint64_t deadline_ = 0;
  std::string pending_in_;  // pipelined bytes received while a request is in flight
  char client_ip_[46] = "";
};

}  // namespace corral::proxy
