// Connections to backends and the per-worker keep-alive pool that reuses them.
// An idle pooled connection keeps a read armed so a backend close is noticed.
#pragma once
#include <vector>

#include "corral/core/loop.h"
#include "corral/http/parser.h"
#include "corral/proxy/context.h"

namespace corral::proxy {

// The side of a request that owns an upstream connection while it is in use.
class UpstreamUser {
 public:
  virtual void up_connected(int err) = 0;
  virtual void up_data(core::IoBuf buf) = 0;
  virtual void up_eof(int err) = 0;
  virtual void up_sent(int err) = 0;

 protected:
  ~UpstreamUser() = default;
};

class UpstreamConn final : public core::SocketHandler {
 public:
  UpstreamConn(WorkerContext& ctx, size_t backend);
  core::Socket sock;
  http::MessageParser parser;
  size_t backend;
  UpstreamUser* user = nullptr;
  bool reused = false;
  uint64_t idle_since = 0;

  void on_connected(core::Socket&, int err) override;
  void on_data(core::Socket&, core::IoBuf buf) override;
  void on_eof(core::Socket&, int err) override;
  void on_sent(core::Socket&, int err) override;
  void on_closed(core::Socket&) override;

 private:
  WorkerContext& ctx_;
};

class UpstreamPool {
 public:
  explicit UpstreamPool(WorkerContext& ctx) : ctx_(ctx), idle_(route::kMaxSlots) {}
  // A pooled connection (reused = true) unless fresh, else a new one being
  // connected; nullptr with errno set.
  UpstreamConn* acquire(size_t backend, UpstreamUser* user, bool fresh);
  void release(UpstreamConn* c);  // back to the pool, or closed if the pool is full
  void discard(UpstreamConn* c);  // closed now
  void forget(UpstreamConn* c);   // an idle one the backend closed
  void reap(uint64_t now_ms);     // closes idle ones past the idle timeout
  void close_all();
  size_t idle_count() const;

 private:
  WorkerContext& ctx_;
  std::vector<std::vector<UpstreamConn*>> idle_;
};

}  // namespace corral::proxy
