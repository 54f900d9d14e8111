// The one HTTP/1 client: an exchange of one request and its response over a
// pooled or new connection, with separate request and response states (as
// h2o's http1client). It sends the head, then the body; skips 1xx answers;
// reads Content-Length, chunked and close-delimited bodies; retries once on a
// fresh connection when a pooled one turns out stale before any response byte;
// and puts the connection back only when it is safe to reuse. Session, fan-out
// and the control thread's probes all use it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/http/parser.h"
#include "corral/upstream/pool.h"

namespace corral::upstream {

enum class Failure : uint8_t {
  connect,                 // no connection (err: -errno; a TLS failure is -EPROTO)
  closed_before_response,  // the backend closed or reset before any response byte
  bad_response,            // the response head or its framing is not valid HTTP/1
  closed_mid_body,         // the backend went away before the body was complete
};

class ClientUser {
 public:
  // A final response head. Return false when the exchange was abandoned in the
  // callback (the client has been aborted or restarted): nothing more is delivered.
  virtual bool on_response_head(const http::Head& head) = 0;
  // Response bytes as received (framing included) in buf[off, off + len), for
  // every buffer from the head on (len may be 0). The user owns buf now.
  virtual void on_response_bytes(core::IoBuf buf, uint32_t off, uint32_t len) = 0;
  // The response is complete; the connection is back in the pool (or closed).
  // The client may be started again from here.
  virtual void on_response_done() = 0;
  // detail: the transport's own account of a connect failure (a TLS handshake's), or empty.
  virtual void on_failure(Failure why, int err, std::string_view detail) = 0;
  virtual void on_upstream_connected() {}  // a new connection is up (not called for a pooled one)

 protected:
  ~ClientUser() = default;
};

class Client final : transport::TransportUser {
 public:
  struct Request {
    std::string_view head;  // both must stay valid until the exchange ends
    std::string_view body;
    bool head_only = false;  // a HEAD request: the response has no body
  };
  Client(Pool& pool, ClientUser& user);
  void set_user(ClientUser& user) { user_ = &user; }
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts an exchange. sink (may be null) receives the de-chunked body bytes.
  // false with err = -errno when no connection could be had at all.
  bool start(const Target& t, const Request& r, http::BodySink* sink, int& err);
  void abort();                         // let go now; the connection is closed, not reused
  void set_sink(http::BodySink* sink);  // from the response head on, the body goes here instead
  void pause();                         // stop reading the response (backpressure)
  void resume();

  bool active() const { return conn_ != nullptr; }
  bool connecting() const { return conn_ && conn_->io().connecting(); }
  bool response_started() const { return seen_; }
  const http::Head& response_head() const { return parser_.head(); }
  bool body_until_eof() const { return parser_.body_until_eof(); }
  // Of the bytes handed on (on_response_bytes), not of all parsed: a receive buffer that
  // fails to parse is not handed on, though the parser went into it.
  bool between_chunks() const { return relayed_between_chunks_; }
  char last_body_byte() const { return relayed_last_body_byte_; }
  const std::string& parse_error() const { return parser_.error_text(); }
  int64_t connect_us() const { return connect_us_; }  // -1: a pooled connection

 private:
  void on_connected(int err) override;
  void on_data(core::IoBuf buf) override;
  void on_eof(int err) override;
  void on_sent(int err) override;
  void on_closed() override {}
  // t: the exchange's first connection (a pooled one if any); null: a fresh one to the same slot.
  bool connect(const Target* t, int& err);
  bool read_head(core::IoBuf buf, size_t& off);
  void read_body(core::IoBuf buf, size_t off);
  void stale_or_fail(int err);
  void complete(bool reusable);
  void fail(Failure why, int err, std::string_view detail = {});
  void drop(bool reusable);

  Pool& pool_;
  ClientUser* user_;
  http::MessageParser parser_;
  Connection* conn_ = nullptr;
  std::string_view head_, body_;  // the Request's, unpacked (its bool would pad it by 7 bytes)
  http::BodySink* sink_ = nullptr;
  int64_t connect_start_us_ = 0;
  int64_t connect_us_ = -1;
  bool head_sent_ = false;
  bool body_sent_ = false;
  bool seen_ = false;  // a response byte arrived
  bool head_done_ = false;
  bool relayed_between_chunks_ = false;
  char relayed_last_body_byte_ = 0;
  bool retried_ = false;
  bool paused_ = false;
  bool head_only_ = false;
  uint8_t slot_ = 0;  // the backend; a retry reconnects to the pool's target for it
};

}  // namespace corral::upstream
