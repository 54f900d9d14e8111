// Plain TCP: the loop's events, passed up as they are.
#include "corral/core/net.h"
#include "corral/transport/transport.h"
#include "on_socket.h"

namespace corral::transport {
namespace {

class Plain final : public detail::OnSocket {
 public:
  explicit Plain(core::Loop& loop) : OnSocket(loop) {}

  void send(const char* p, uint32_t n) override { loop_.send(sock_, p, n); }
  void close() override { loop_.close(sock_); }
  bool is_open() const override { return sock_.is_open(); }
  bool connecting() const override { return sock_.connecting(); }
  bool send_busy() const override { return sock_.send_busy(); }

 private:
  void on_connected(core::Socket&, int err) override {
    if (err == 0) resume();
    user_->on_connected(err);
  }
  void on_data(core::Socket&, core::IoBuf buf) override { user_->on_data(buf); }
  void on_eof(core::Socket&, int err) override {
    reading_ = false;
    user_->on_eof(err);
  }
  void on_sent(core::Socket&, int err) override { user_->on_sent(err); }
  void on_closed(core::Socket&) override { user_->on_closed(); }
};

}  // namespace

std::unique_ptr<Transport> plain(core::Loop& loop) { return std::make_unique<Plain>(loop); }

std::unique_ptr<Transport> plain_accepted(core::Loop& loop, int fd, TransportUser* user) {
  auto t = std::make_unique<Plain>(loop);
  t->set_user(user);
  t->adopt(fd);
  return t;
}

}  // namespace corral::transport
