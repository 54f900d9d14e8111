// A worker thread: its own loop, SO_REUSEPORT listener, sessions, upstream
// pool and metrics shard. Shares nothing mutable with other workers.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"
#include "corral/core/net.h"
#include "corral/proxy/context.h"
#include "corral/upstream/pool.h"

namespace corral::server {

// What a listening address is for.
enum class ListenerRole : uint8_t {
  client,      // listen: the proxy
  client_tls,  // tls_listen: the proxy behind corral's own TLS
  admin,       // metrics.listen: /metrics, /health, /status, /analytics* only
};

struct ListenSpec {
  core::SockAddr addr;
  ListenerRole role;
};

class Worker final : public core::SocketHandler {
 public:
  // analytics: null when off.
  Worker(unsigned id, const config::Config& cfg, proxy::Fleet& fleet, metrics::Registry& registry,
         analytics::Service* analytics);
  ~Worker();
  // Starts the worker thread (pinned to cpu, -1: unpinned), which sets up its
  // loop and listener and runs; false with err when set-up failed.
  bool start(const std::vector<ListenSpec>& listen, bool want_uring, int cpu, std::string& err);
  void drain(uint64_t deadline_ms_from_now);  // any thread
  void join();
  const std::string& io_why() const { return io_why_; }
  core::IoBackend io_backend() const { return loop_->backend(); }

 private:
  struct Listener {
    core::Socket sock;
    ListenerRole role;
  };
  void on_accept(core::Socket& s, int fd) override;
  void on_closed(core::Socket&) override { ++listeners_closed_; }
  bool setup(const std::vector<ListenSpec>& listen, bool want_uring, std::string& err);
  void tick();

  unsigned id_;
  const config::Config& cfg_;
  std::unique_ptr<core::BufferPool> pool_mem_;
  std::unique_ptr<core::Loop> loop_;
  std::unique_ptr<upstream::Pool> upstreams_;
  proxy::WorkerContext ctx_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  transport::PlainBuffers tls_plain_{16384};
  std::shared_ptr<transport::TlsServerContext> tls_server_;  // this worker's copy
  uint64_t tls_server_version_ = 0;
  std::string io_why_;
  std::thread thread_;
  std::atomic<uint64_t> drain_after_ms_{0};  // 0 = not draining
  uint64_t drain_deadline_ = 0;
  size_t listeners_closed_ = 0;
  uint64_t last_reap_ = 0;
};

}  // namespace corral::server
