// What the plain and TLS transports share: one loop socket, its reading switched
// on and off (pause/resume), connect and adopt.
#pragma once

#include "corral/transport/transport.h"

namespace corral::transport::detail {

class OnSocket : public Transport, protected core::SocketHandler {
 public:
  int connect(const core::SockAddr& addr) override { return loop_.open_stream(sock_, this, addr); }
  void pause() override {
    if (!reading_) return;
    reading_ = false;
    loop_.stop_read(sock_);
  }
  void resume() override {
    if (reading_ || !sock_.is_open()) return;
    reading_ = true;
    loop_.start_read(sock_);
  }
  void refresh_read() override {
    if (reading_) loop_.refresh_read(sock_);
  }
  int fd() const override { return sock_.fd(); }
  // An accepted connection: attached to the loop, reading.
  void adopt(int fd) {
    loop_.attach(sock_, fd, this);
    resume();
  }

 protected:
  explicit OnSocket(core::Loop& loop) : loop_(loop) {}

  core::Loop& loop_;
  core::Socket sock_;
  bool reading_ = false;
};

}  // namespace corral::transport::detail
