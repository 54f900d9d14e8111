// Connections to backends and the per-loop keep-alive pool that reuses them,
// LIFO per backend slot. An idle pooled connection keeps reading, so a backend
// close (or stray bytes) is noticed and the connection dropped.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "corral/core/loop.h"
#include "corral/core/net.h"
#include "corral/metrics/registry.h"
#include "corral/transport/buffers.h"
#include "corral/transport/transport.h"

namespace corral::upstream {

// Where a connection goes.
struct Target {
  uint8_t slot = 0;                                  // the backend slot: the pool's key
  const core::SockAddr* addr = nullptr;              // outlives every connection to it
  std::string_view host_header;                      // Host sent upstream
  std::shared_ptr<transport::TlsClientContext> tls;  // null: plain TCP
  std::string_view tls_host;                         // the name the certificate must match
};

class Pool;

class Connection final : transport::TransportUser {
 public:
  transport::Transport& io() { return *io_; }
  uint8_t slot() const { return slot_; }
  bool reused() const { return reused_; }

 private:
  friend class Pool;
  Connection(Pool& pool, uint8_t slot, std::unique_ptr<transport::Transport> io);
  void on_connected(int err) override;
  void on_data(core::IoBuf buf) override;
  void on_eof(int err) override;
  void on_sent(int err) override;
  void on_closed() override;

  Pool& pool_;
  std::unique_ptr<transport::Transport> io_;
  transport::TransportUser* user_ = nullptr;  // the exchange using it; null while idle
  uint64_t idle_since_ = 0;
  uint8_t slot_;
  bool reused_ = false;
};

class Pool {
 public:
  // metrics: where connects and reuses are counted (null: not counted).
  Pool(core::Loop& loop, uint32_t max_idle_per_slot, uint32_t idle_timeout_ms, metrics::Shard* metrics);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // A pooled connection (reused() true) unless fresh, else a new one being
  // connected (on_connected follows); nullptr with err = -errno. The pool keeps
  // the target as its slot's (target(slot)), for what reconnects later.
  Connection* acquire(const Target& t, transport::TransportUser* user, bool fresh, int& err);
  const Target& target(uint8_t slot) const { return targets_[slot]; }  // after an acquire for the slot
  void release(Connection* c);  // back to the pool, or closed when full or draining
  void discard(Connection* c);  // closed now
  void reap(uint64_t now_ms);   // closes idle ones past the idle timeout
  void drain();                 // closes every idle one; nothing is pooled any more
  size_t idle_count() const;
  size_t live() const { return live_; }  // open or closing, idle or in use
  core::Loop& loop() { return loop_; }

 private:
  friend class Connection;
  void forget(Connection* c);  // an idle one the backend closed or wrote to
  void closed(Connection* c);

  core::Loop& loop_;
  uint32_t max_idle_;
  uint32_t idle_timeout_ms_;
  metrics::Shard* metrics_;
  bool draining_ = false;
  size_t live_ = 0;
  transport::PlainBuffers plain_{16384};  // TLS plaintext
  std::vector<std::vector<Connection*>> idle_;
  std::vector<Target> targets_;  // by slot, the last acquired for it
};

}  // namespace corral::upstream
