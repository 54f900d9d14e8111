// A worker thread: its own loop, SO_REUSEPORT listener, sessions, upstream
// pool and metrics shard. Shares nothing mutable with other workers.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"
#include "corral/core/net.h"
#include "corral/proxy/context.h"
#include "corral/upstream/pool.h"

namespace corral::server {

class Worker final : public core::SocketHandler {
 public:
  // analytics: null when off.
  Worker(unsigned id, const config::Config& cfg, proxy::Fleet& fleet, metrics::Registry& registry,
         analytics::Service* analytics);
  ~Worker();
  // Starts the worker thread (pinned to cpu, -1: unpinned), which sets up its
  // loop and listener and runs; false with err when set-up failed.
  bool start(const core::SockAddr& listen, bool want_uring, int cpu, std::string& err);
  void drain(uint64_t deadline_ms_from_now);  // any thread
  void join();
  const std::string& io_why() const { return io_why_; }
  core::IoBackend io_backend() const { return loop_->backend(); }

 private:
  void on_accept(core::Socket&, int fd) override;
  void on_closed(core::Socket&) override { listener_closed_ = true; }
  bool setup(const core::SockAddr& listen, bool want_uring, std::string& err);
  void tick();

  unsigned id_;
  const config::Config& cfg_;
  std::unique_ptr<core::BufferPool> pool_mem_;
  std::unique_ptr<core::Loop> loop_;
  std::unique_ptr<upstream::Pool> upstreams_;
  proxy::WorkerContext ctx_;
  core::Socket listener_;
  std::string io_why_;
  std::thread thread_;
  std::atomic<uint64_t> drain_after_ms_{0};  // 0 = not draining
  uint64_t drain_deadline_ = 0;
  bool listener_closed_ = false;
  uint64_t last_reap_ = 0;
};

}  // namespace corral::server
