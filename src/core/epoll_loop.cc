#include "epoll_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cerrno>

#include "corral/core/net.h"

namespace corral::core {
namespace {
constexpr int kReadsPerEvent = 4;
constexpr int kAcceptsPerEvent = 64;
}  // namespace

EpollLoop::EpollLoop(BufferPool& pool)
    : pool_(pool), ep_(epoll_create1(EPOLL_CLOEXEC)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  epoll_ctl(ep_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev);
}

void EpollLoop::attach(Socket& s, int fd, SocketHandler* h) {
  s = Socket{};
  s.fd = fd;
  s.handler = h;
  epoll_event ev{};
  ev.data.ptr = &s;
  epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void EpollLoop::update(Socket& s) {
  if (s.closing) return;
  uint32_t mask = 0;
  if ((s.listening && !s.accept_paused) || (s.want_read && !s.starved)) mask |= EPOLLIN | EPOLLRDHUP;
  if (s.connecting || s.send_left > 0) mask |= EPOLLOUT;
  if (mask == s.epoll_mask) return;
  s.epoll_mask = mask;
  epoll_event ev{};
  ev.events = mask;
  ev.data.ptr = &s;
  epoll_ctl(ep_.get(), EPOLL_CTL_MOD, s.fd, &ev);
}

void EpollLoop::accept(Socket& listener) {
  listener.listening = true;
  update(listener);
}

void EpollLoop::start_read(Socket& s) {
  if (s.closing) return;
  s.want_read = true;
  update(s);
}

void EpollLoop::stop_read(Socket& s) {
  s.want_read = false;
  update(s);
}

bool EpollLoop::try_send(Socket& s) {
  while (s.send_left > 0) {
    ssize_t n = ::send(s.fd, s.send_ptr, s.send_left, MSG_NOSIGNAL);
    if (n > 0) {
      s.send_ptr += n;
      s.send_left -= static_cast<uint32_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return false;
    } else {
      send_res_ = n < 0 ? -errno : -EPIPE;
      s.send_left = 0;
      return true;
    }
  }
  send_res_ = 0;
  return true;
}

void EpollLoop::send(Socket& s, const char* p, uint32_t n) {
  s.sending = true;
  s.send_ptr = p;
  s.send_left = n;
  if (try_send(s)) {
    deferred_.push_back({&s, Done::sent, send_res_});
  }
  update(s);
}

void EpollLoop::connect(Socket& s, const sockaddr* a, socklen_t len) {
  int rc = ::connect(s.fd, a, len);
  if (rc == 0 || errno != EINPROGRESS) {
    deferred_.push_back({&s, Done::connected, rc == 0 ? 0 : -errno});
    return;
  }
  s.connecting = true;
  update(s);
}

void EpollLoop::close(Socket& s) {
  if (s.closing) return;
  s.closing = true;
  s.want_read = false;
  if (s.fd >= 0) {
    epoll_ctl(ep_.get(), EPOLL_CTL_DEL, s.fd, nullptr);
    ::close(s.fd);
    s.fd = -1;
  }
  deferred_.push_back({&s, Done::closed, 0});
}

void EpollLoop::release(uint16_t id) {
  pool_.put(id);
  if (starved_.empty()) return;
  std::vector<Socket*> again;
  again.swap(starved_);
  for (Socket* s : again) {
    s->starved = false;
    update(*s);
  }
}

void EpollLoop::on_readable(Socket& s) {
  for (int i = 0; i < kReadsPerEvent && s.want_read && !s.closing; ++i) {
    int id = pool_.take();
    if (id < 0) {
      s.starved = true;
      starved_.push_back(&s);
      update(s);
      return;
    }
    ssize_t n = ::recv(s.fd, pool_.data(static_cast<uint16_t>(id)), pool_.size(), 0);
    if (n > 0) {
      s.handler->on_data(s, IoBuf{pool_.data(static_cast<uint16_t>(id)), static_cast<uint32_t>(n),
                                  static_cast<uint16_t>(id)});
      if (static_cast<uint32_t>(n) < pool_.size()) return;
      continue;
    }
    pool_.put(static_cast<uint16_t>(id));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    s.want_read = false;
    update(s);
    s.handler->on_eof(s, n == 0 ? 0 : -errno);
    return;
  }
}

void EpollLoop::on_writable(Socket& s) {
  if (s.connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    s.connecting = false;
    update(s);
    s.handler->on_connected(s, -err);
    return;
  }
  if (s.send_left > 0 && try_send(s)) {
    s.sending = false;
    update(s);
    s.handler->on_sent(s, send_res_);
  }
}

void EpollLoop::do_accept(Socket& s) {
  for (int i = 0; i < kAcceptsPerEvent && !s.closing; ++i) {
    int fd = accept4(s.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (local_shortage(errno)) {
        pause_accept(s, errno);
        update(s);
      }
      return;
    }
    s.handler->on_accept(s, fd);
  }
}

void EpollLoop::wake() {
  uint64_t one = 1;
  ssize_t rc = ::write(wake_fd_.get(), &one, sizeof one);
  (void)rc;
}

void EpollLoop::run_deferred() {
  while (!deferred_.empty()) {
    std::vector<Deferred> batch;
    batch.swap(deferred_);
    for (const Deferred& d : batch) {
      Socket& s = *d.s;
      if (d.kind == Done::closed) {
        s.handler->on_closed(s);
        continue;
      }
      if (s.closing) continue;
      if (d.kind == Done::sent) {
        s.sending = false;
        s.handler->on_sent(s, d.res);
      } else {
        s.handler->on_connected(s, d.res);
      }
    }
  }
}

void EpollLoop::run(std::function<void()> tick, int tick_ms) {
  epoll_event events[256];
  refresh_clock();
  uint64_t next_tick = now_ms_ + tick_ms;
  while (!stopped_) {
    int timeout = deferred_.empty() ? static_cast<int>(next_tick > now_ms_ ? next_tick - now_ms_ : 0) : 0;
    int n = epoll_wait(ep_.get(), events, 256, timeout);
    refresh_clock();
    for (int i = 0; i < n; ++i) {
      auto* s = static_cast<Socket*>(events[i].data.ptr);
      if (s == nullptr) {
        uint64_t v;
        ssize_t rc = ::read(wake_fd_.get(), &v, sizeof v);
        (void)rc;
        tick();
        continue;
      }
      if (s->closing) continue;
      uint32_t ev = events[i].events;
      if (s->listening) {
        do_accept(*s);
        continue;
      }
      if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (s->connecting || s->send_left > 0)) on_writable(*s);
      if (!s->closing && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && s->want_read) on_readable(*s);
    }
    run_deferred();
    if (now_ms_ >= next_tick) {
      resume_accepts([this](Socket& s) { update(s); });
      tick();
      next_tick = now_ms_ + tick_ms;
      run_deferred();
    }
  }
}

}  // namespace corral::core
