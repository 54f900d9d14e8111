// TLS on the loop: ciphertext moves between the socket and a TlsEngine; the
// plaintext goes up in PlainBuffers, released by the user like any receive
// buffer. One send in flight on the socket; the user's send completes once
// its bytes are encrypted and on the wire.
#include <sys/socket.h>

#include <cerrno>

#include "corral/core/net.h"
#include "corral/transport/buffers.h"
#include "corral/transport/tls.h"
#include "corral/transport/transport.h"
#include "on_socket.h"

namespace corral::transport {

int PlainBuffers::take() {
  if (!free_.empty()) {
    uint16_t id = free_.back();
    free_.pop_back();
    return id;
  }
  if (bufs_.size() > 0xffff) return -1;
  bufs_.push_back(std::make_unique<char[]>(size_));
  return static_cast<int>(bufs_.size() - 1);
}

namespace {

class Tls final : public detail::OnSocket {
 public:
  Tls(core::Loop& loop, PlainBuffers& plain, std::unique_ptr<TlsEngine> engine, bool server)
      : OnSocket(loop), plain_(plain), engine_(std::move(engine)), up_(server) {}

  void send(const char* p, uint32_t n) override {
    user_sending_ = true;
    if (!engine_->write_plain(p, n)) {
      broken();
      return;
    }
    flush();
  }
  void close() override {
    closing_ = true;
    loop_.close(sock_);
  }
  bool is_open() const override { return sock_.is_open() && !closing_; }
  bool connecting() const override { return !up_ && sock_.is_open(); }
  bool send_busy() const override { return user_sending_; }
  std::string_view error() const override { return engine_->error(); }

 private:
  void on_connected(core::Socket&, int err) override {
    if (err < 0) {
      user_->on_connected(err);
      return;
    }
    resume();
    flush();  // the ClientHello
  }

  void on_data(core::Socket&, core::IoBuf buf) override {
    bool ok = engine_->feed_cipher(buf.data, buf.len);
    buf.release();
    flush();
    if (!ok) {
      fail();
      return;
    }
    if (!up_ && engine_->handshake_done()) {
      up_ = true;
      user_->on_connected(0);
      if (closing_) return;
    }
    deliver();
  }

  // Every plaintext byte the engine has, then the peer's close_notify.
  void deliver() {
    while (!closing_) {
      int id = plain_.take();
      if (id < 0) return;
      size_t n = engine_->read_plain(plain_.data(static_cast<uint16_t>(id)), plain_.size());
      if (n == 0) {
        plain_.release(static_cast<uint16_t>(id));
        break;
      }
      user_->on_data(core::IoBuf{plain_.data(static_cast<uint16_t>(id)), static_cast<uint32_t>(n),
                                 static_cast<uint16_t>(id), &plain_});
    }
    if (closing_) return;
    flush();  // tickets and key updates read_plain produced
    if (engine_->failed()) fail();
    else if (engine_->peer_closed()) user_->on_eof(0);
  }

  void on_eof(core::Socket&, int err) override {
    reading_ = false;
    if (!up_) {
      user_->on_connected(err < 0 ? err : -ECONNRESET);
      return;
    }
    user_->on_eof(err);
  }

  void on_sent(core::Socket&, int err) override {
    if (err < 0) {
      if (user_sending_) {
        user_sending_ = false;
        user_->on_sent(err);
      }
      return;
    }
    engine_->consume_cipher(in_flight_);
    in_flight_ = 0;
    flush();
  }

  void on_closed(core::Socket&) override { user_->on_closed(); }

  // Sends what the engine has encrypted; the user's send is done once it is all out.
  void flush() {
    if (in_flight_ > 0 || !sock_.is_open()) return;
    std::string_view c = engine_->pending_cipher();
    if (!c.empty()) {
      in_flight_ = static_cast<uint32_t>(c.size());
      loop_.send(sock_, c.data(), in_flight_);
      return;
    }
    if (user_sending_ && up_) {
      user_sending_ = false;
      user_->on_sent(0);
    }
  }

  void fail() {
    if (!up_) {
      up_ = true;  // reported once, as a failed connect
      user_->on_connected(-EPROTO);
      return;
    }
    user_->on_eof(-EPROTO);
  }

  // The engine refused plaintext: the stream cannot go on; the loop reports it.
  void broken() { ::shutdown(sock_.fd(), SHUT_RDWR); }

  PlainBuffers& plain_;
  std::unique_ptr<TlsEngine> engine_;
  uint32_t in_flight_ = 0;
  bool up_;  // handshake done (a server side counts as up from the start)
  bool user_sending_ = false;
  bool closing_ = false;
};

}  // namespace

std::unique_ptr<Transport> tls_client(core::Loop& loop, PlainBuffers& plain, std::shared_ptr<TlsClientContext> ctx,
                                      std::string_view host) {
  return std::make_unique<Tls>(loop, plain, TlsEngine::client(std::move(ctx), host), false);
}

std::unique_ptr<Transport> tls_accepted(core::Loop& loop, PlainBuffers& plain, std::shared_ptr<TlsServerContext> ctx,
                                        int fd, TransportUser* user) {
  auto t = std::make_unique<Tls>(loop, plain, TlsEngine::server(std::move(ctx)), true);
  t->set_user(user);
  t->adopt(fd);
  return t;
}

}  // namespace corral::transport
