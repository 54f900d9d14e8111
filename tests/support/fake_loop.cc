#include "fake_loop.h"

#include <cerrno>
#include <stdexcept>

namespace corral::test {

FakeLoop::FakeLoop(uint32_t buffers, uint32_t buffer_size) : pool_(buffers, buffer_size) { now_ms_ = 1000; }

void FakeLoop::attach(core::Socket& s, int fd, core::SocketHandler* h) {
  s = core::Socket{};
  state(s).fd = fd;
  state(s).handler = h;
  Peer& p = peers_[fd];
  p = Peer{};
  p.sock = &s;
}

int FakeLoop::accept_client(core::SocketHandler&) { return next_fd_++; }

void FakeLoop::start_read(core::Socket& s) {
  if (state(s).closing) return;
  state(s).want_read = true;
  peers_.at(state(s).fd).reading = true;  // held bytes arrive at the next settle()
}

void FakeLoop::stop_read(core::Socket& s) {
  state(s).want_read = false;
  peers_.at(state(s).fd).reading = false;
}

void FakeLoop::send(core::Socket& s, const char* p, uint32_t n) {
  if (state(s).sending) throw std::logic_error("two sends in flight on one socket");
  state(s).sending = true;
  Peer& peer = peers_.at(state(s).fd);
  peer.received.append(p, n);
  peer.in_flight = n;
  if (!peer.hold_sends) done_.push_back({state(s).fd, 0});
}

void FakeLoop::connect(core::Socket& s, const sockaddr*, socklen_t) {
  state(s).connecting = true;
  peers_.at(state(s).fd).connecting = true;
}

int FakeLoop::open_stream(core::Socket& s, core::SocketHandler* h, const core::SockAddr& a) {
  if (fail_next_socket) return std::exchange(fail_next_socket, 0);
  int fd = next_fd_++;
  attach(s, fd, h);
  peers_[fd].remote = a.to_string();
  connect(s, a.get(), a.len);
  last_stream_ = fd;
  ++streams_;
  return 0;
}

void FakeLoop::close(core::Socket& s) {
  if (state(s).closing) return;
  state(s).closing = true;
  state(s).want_read = false;
  Peer& p = peers_.at(state(s).fd);
  p.closed = true;
  p.reading = false;
  done_.push_back({state(s).fd, 1});
}

void FakeLoop::release(uint16_t id) {
  --buffers_out_;
  pool_.put(id);
}

void FakeLoop::finish_connect(int fd, int err) {
  Peer& p = peers_.at(fd);
  p.connecting = false;
  state(*p.sock).connecting = false;
  state(*p.sock).handler->on_connected(*p.sock, err);
}

void FakeLoop::deliver(int fd, std::string_view bytes) {
  peers_.at(fd).inbox.append(bytes);
  pump(fd);
}

// Hands the inbox to a reading socket, one receive buffer at a time (the
// test's own calls and settle() only: never from inside a call into the loop).
void FakeLoop::pump(int fd) {
  Peer& p = peers_.at(fd);
  while (p.reading && !p.closed && !p.inbox.empty()) {
    int taken = pool_.take();
    if (taken < 0) return;  // starved: pumped again when a buffer comes back
    uint16_t id = static_cast<uint16_t>(taken);
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(p.inbox.size(), pool_.size()));
    p.inbox.copy(pool_.data(id), n);
    p.inbox.erase(0, n);
    ++buffers_out_;
    state(*p.sock).handler->on_data(*p.sock, buf(pool_.data(id), n, id, this));
  }
}

void FakeLoop::peer_close(int fd, int err) {
  Peer& p = peers_.at(fd);
  if (p.closed) return;
  state(*p.sock).want_read = false;
  p.reading = false;
  state(*p.sock).handler->on_eof(*p.sock, err);
}

void FakeLoop::release_sends(int fd) {
  Peer& p = peers_.at(fd);
  p.hold_sends = false;
  if (!p.gone && state(*p.sock).sending) done_.push_back({fd, 0});
}

void FakeLoop::settle() {
  for (bool more = true; more;) {
    more = !done_.empty();
    auto batch = std::move(done_);
    done_.clear();
    for (auto [fd, kind] : batch) {
      Peer& p = peers_.at(fd);
      if (p.gone) continue;
      core::Socket& s = *p.sock;
      if (kind == 1) {
        p.gone = true;  // its owner may free it now
        state(s).fd = -1;
        state(s).handler->on_closed(s);
        continue;
      }
      state(s).sending = false;
      p.in_flight = 0;
      if (!state(s).closing) state(s).handler->on_sent(s, 0);
    }
    for (auto& [fd, p] : peers_) {
      if (!p.reading || p.closed || p.inbox.empty()) continue;
      size_t before = p.inbox.size();
      pump(fd);
      more = more || p.inbox.size() != before;
    }
  }
}

}  // namespace corral::test
