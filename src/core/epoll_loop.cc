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
  state(s).fd = fd;
  state(s).handler = h;
  epoll_event ev{};
  ev.data.ptr = &s;
  epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void EpollLoop::update(Socket& s) {
  if (state(s).closing) return;
  uint32_t mask = 0;
  if ((state(s).listening && !state(s).accept_paused) || (state(s).want_read && !state(s).starved))
    mask |= EPOLLIN | EPOLLRDHUP;
  if (state(s).connecting || state(s).send_left > 0) mask |= EPOLLOUT;
  if (mask == state(s).epoll_mask) return;
  state(s).epoll_mask = mask;
  epoll_event ev{};
  ev.events = mask;
  ev.data.ptr = &s;
  epoll_ctl(ep_.get(), EPOLL_CTL_MOD, state(s).fd, &ev);
}

void EpollLoop::accept(Socket& listener) {
  state(listener).listening = true;
  update(listener);
}

void EpollLoop::start_read(Socket& s) {
  if (state(s).closing) return;
  state(s).want_read = true;
  update(s);
}

void EpollLoop::stop_read(Socket& s) {
  state(s).want_read = false;
  update(s);
}

bool EpollLoop::try_send(Socket& s) {
  while (state(s).send_left > 0) {
    ssize_t n = ::send(state(s).fd, state(s).send_ptr, state(s).send_left, MSG_NOSIGNAL);
    if (n > 0) {
      state(s).send_ptr += n;
      state(s).send_left -= static_cast<uint32_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return false;
    } else {
      send_res_ = n < 0 ? -errno : -EPIPE;
      state(s).send_left = 0;
      return true;
    }
  }
  send_res_ = 0;
  return true;
}

void EpollLoop::send(Socket& s, const char* p, uint32_t n) {
  state(s).sending = true;
  state(s).send_ptr = p;
  state(s).send_left = n;
  if (try_send(s)) {
    deferred_.push_back({&s, Done::sent, send_res_});
  }
  update(s);
}

void EpollLoop::connect(Socket& s, const sockaddr* a, socklen_t len) {
  int rc = ::connect(state(s).fd, a, len);
  if (rc == 0 || errno != EINPROGRESS) {
    deferred_.push_back({&s, Done::connected, rc == 0 ? 0 : -errno});
    return;
  }
  state(s).connecting = true;
  update(s);
}

void EpollLoop::close(Socket& s) {
  if (state(s).closing) return;
  state(s).closing = true;
  state(s).want_read = false;
  if (state(s).starved) {  // the socket may be gone before buffers come back
    std::erase(starved_, &s);
    state(s).starved = false;
  }
  if (state(s).fd >= 0) {
    epoll_ctl(ep_.get(), EPOLL_CTL_DEL, state(s).fd, nullptr);
    ::close(state(s).fd);
    state(s).fd = -1;
  }
  deferred_.push_back({&s, Done::closed, 0});
}

void EpollLoop::release(uint16_t id) {
  pool_.put(id);
  if (starved_.empty()) return;
  std::vector<Socket*> again;
  again.swap(starved_);
  for (Socket* s : again) {
    state(*s).starved = false;
    update(*s);
  }
}

void EpollLoop::on_readable(Socket& s) {
  for (int i = 0; i < kReadsPerEvent && state(s).want_read && !state(s).closing; ++i) {
    int id = pool_.take();
    if (id < 0) {
      state(s).starved = true;
      starved_.push_back(&s);
      update(s);
      return;
    }
    ssize_t n = ::recv(state(s).fd, pool_.data(static_cast<uint16_t>(id)), pool_.size(), 0);
    if (n > 0) {
      state(s).handler->on_data(
          s, buf(pool_.data(static_cast<uint16_t>(id)), static_cast<uint32_t>(n), static_cast<uint16_t>(id), this));
      if (static_cast<uint32_t>(n) < pool_.size()) return;
      continue;
    }
    pool_.put(static_cast<uint16_t>(id));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    state(s).want_read = false;
    update(s);
    state(s).handler->on_eof(s, n == 0 ? 0 : -errno);
    return;
  }
}

void EpollLoop::on_writable(Socket& s) {
  if (state(s).connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(state(s).fd, SOL_SOCKET, SO_ERROR, &err, &len);
    state(s).connecting = false;
    update(s);
    state(s).handler->on_connected(s, -err);
    return;
  }
  if (state(s).send_left > 0 && try_send(s)) {
    state(s).sending = false;
    update(s);
    state(s).handler->on_sent(s, send_res_);
  }
}

void EpollLoop::do_accept(Socket& s) {
  for (int i = 0; i < kAcceptsPerEvent && !state(s).closing; ++i) {
    int fd = accept4(state(s).fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (local_shortage(errno)) {
        pause_accept(s, errno);
        update(s);
      }
      return;
    }
    state(s).handler->on_accept(s, fd);
  }
}

bool EpollLoop::watch(int fd, std::function<void()> on_readable) {
  unwatch(fd);  // a number reused after its old descriptor was closed
  auto w = std::make_unique<Watch>(Watch{fd, std::move(on_readable)});
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = reinterpret_cast<uint64_t>(w.get()) | 1;
  if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  watches_[fd] = std::move(w);
  return true;
}

void EpollLoop::unwatch(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
  it->second->fd = -1;  // an event already fetched for it in this batch is skipped
  unwatched_.push_back(std::move(it->second));
  watches_.erase(it);
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
        state(s).handler->on_closed(s);
        continue;
      }
      if (state(s).closing) continue;
      if (d.kind == Done::sent) {
        state(s).sending = false;
        state(s).handler->on_sent(s, d.res);
      } else {
        state(s).handler->on_connected(s, d.res);
      }
    }
  }
}

void EpollLoop::run(std::function<void()> tick, int tick_ms) {
  stopped_ = false;
  epoll_event events[256];
  refresh_clock();
  uint64_t next_tick = now_ms_ + tick_ms;
  while (!stopped_) {
    int timeout = deferred_.empty() ? static_cast<int>(next_tick > now_ms_ ? next_tick - now_ms_ : 0) : 0;
    int n = epoll_wait(ep_.get(), events, 256, timeout);
    refresh_clock();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 & 1) {
        auto* w = reinterpret_cast<Watch*>(events[i].data.u64 & ~uint64_t(1));
        if (w->fd >= 0) w->on_readable();
        continue;
      }
      auto* s = static_cast<Socket*>(events[i].data.ptr);
      if (s == nullptr) {
        uint64_t v;
        ssize_t rc = ::read(wake_fd_.get(), &v, sizeof v);
        (void)rc;
        tick();
        continue;
      }
      if (state(*s).closing) continue;
      uint32_t ev = events[i].events;
      if (state(*s).listening) {
        do_accept(*s);
        continue;
      }
      if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (state(*s).connecting || state(*s).send_left > 0)) on_writable(*s);
      if (!state(*s).closing && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && state(*s).want_read)
        on_readable(*s);
    }
    run_deferred();
    unwatched_.clear();
    if (now_ms_ >= next_tick) {
      resume_accepts([this](Socket& s) { update(s); });
      tick();
      next_tick = now_ms_ + tick_ms;
      run_deferred();
    }
  }
}

}  // namespace corral::core
