#include "sim_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sim {

Worker::Worker(int listen_fd, Ctx& ctx)
    : lfd_(listen_fd),
      epfd_(epoll_create1(EPOLL_CLOEXEC)),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      ctx_(ctx),
      env_{epfd_, timers_, ctx_} {
  if (epfd_ < 0) {
    std::perror("corral-sim: epoll_create1");
    std::exit(1);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, lfd_, &ev);
}

Worker::~Worker() {
  conns_.clear();
  ::close(epfd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void Worker::accept_all() {
  for (int i = 0; i < 256; ++i) {
    int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: accept and drop one so the backlog does not spin us.
        ::close(spare_fd_);
        int victim = accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (victim >= 0) ::close(victim);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t id = next_id_++;
    epoll_event ev{};
    ev.events = Conn::kInitialEvents;
    ev.data.u64 = id;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    conns_.emplace(id, std::make_unique<Conn>(env_, fd, id));
  }
}

void Worker::after(std::unordered_map<uint64_t, std::unique_ptr<Conn>>::iterator it) {
  if (it->second->closed()) conns_.erase(it);
}

void Worker::run() {
  epoll_event events[512];
  for (;;) {
    int n = epoll_wait(epfd_, events, 512, timers_.timeout_ms(now_ns()));
    if (n < 0 && errno != EINTR) {
      std::perror("corral-sim: epoll_wait");
      std::exit(1);
    }
    for (int i = 0; i < n; ++i) {
      uint64_t id = events[i].data.u64;
      if (id == 0) {
        accept_all();
        continue;
      }
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      it->second->on_event(events[i].events);
      after(it);
    }
    timers_.run_due(now_ns(), [this](uint64_t id, uint64_t seq) {
      auto it = conns_.find(id);
      if (it == conns_.end()) return;
      it->second->on_timer(seq);
      after(it);
    });
  }
}

}  // namespace sim
