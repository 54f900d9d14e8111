#include "corral/core/loop.h"

#include <sys/utsname.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "corral/core/fd.h"
#include "corral/core/log.h"
#include "corral/core/net.h"
#include "epoll_loop.h"
#include "uring_loop.h"

namespace corral::core {

void Loop::refresh_clock() {
  now_ms_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

void Loop::pause_accept(Socket& listener, int err) {
  if (state(listener).accept_paused) return;
  state(listener).accept_paused = true;
  paused_accepts_.push_back(&listener);
  if (last_pause_log_ms_ == 0 || now_ms_ - last_pause_log_ms_ >= 10000) {
    last_pause_log_ms_ = now_ms_;
    log::write(log::Level::warn, "accept_paused",
               std::string("error=") + log::quote(std::strerror(err)) +
                   " action=\"new connections wait in the backlog; raise LimitNOFILE / ulimit -n\"");
  }
}

bool Loop::watch(int, std::function<void()>) { return false; }
void Loop::unwatch(int) {}

int Loop::open_stream(Socket& s, SocketHandler* h, const SockAddr& a) {
  UniqueFd fd = tcp_socket(a);
  if (!fd) return -errno;
  attach(s, fd.release(), h);
  connect(s, a.get(), a.len);
  return 0;
}

bool uring_supported(std::string& why) {
  // Multishot recv with provided buffers needs Linux 6.0.
  utsname u{};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) {
    why = "cannot read kernel version";
    return false;
  }
  if (major < 6) {
    why = std::string("kernel ") + u.release + " lacks multishot recv (needs 6.0)";
    return false;
  }
  io_uring ring{};
  int rc = io_uring_queue_init(4, &ring, 0);
  if (rc != 0) {
    why = std::string("io_uring blocked: ") + std::strerror(-rc);
    return false;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  bool ok = probe && io_uring_opcode_supported(probe, IORING_OP_ACCEPT) &&
            io_uring_opcode_supported(probe, IORING_OP_RECV) && io_uring_opcode_supported(probe, IORING_OP_SEND) &&
            io_uring_opcode_supported(probe, IORING_OP_CONNECT) &&
            io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
  if (probe) io_uring_free_probe(probe);
  io_uring_queue_exit(&ring);
  if (!ok) why = "io_uring lacks accept/recv/send/connect/cancel";
  return ok;
}

LoopChoice make_loop(bool want_uring, BufferPool& pool) {
  LoopChoice c;
  if (!want_uring) {
    c.loop = std::make_unique<EpollLoop>(pool);
    c.why = "forced by --io epoll";
    return c;
  }
  std::string why;
  if (uring_supported(why)) {
    auto loop = UringLoop::create(pool, why);
    if (loop) {
      c.why =
          loop->defer_taskrun() ? "io_uring with SINGLE_ISSUER|DEFER_TASKRUN" : "io_uring (DEFER_TASKRUN unsupported)";
      c.loop = std::move(loop);
      return c;
    }
  }
  c.loop = std::make_unique<EpollLoop>(pool);
  c.why = "fallback: " + why;
  return c;
}

}  // namespace corral::core
