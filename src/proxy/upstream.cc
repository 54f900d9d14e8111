#include "corral/proxy/upstream.h"

#include <algorithm>
#include <cerrno>

namespace corral::proxy {

UpstreamConn::UpstreamConn(WorkerContext& ctx, size_t b)
    : parser(http::MessageParser::Kind::response, http::Limits{65536, 500, ~0ull}), backend(b), ctx_(ctx) {}

void UpstreamConn::on_connected(core::Socket& s, int err) {
  if (err == 0) ctx_.loop->start_read(s);
  if (user) user->up_connected(err);
}

void UpstreamConn::on_data(core::Socket& s, core::IoBuf buf) {
  if (user) {
    user->up_data(buf);
    return;
  }
  // Bytes on an idle connection: the backend is confused; do not reuse it.
  ctx_.loop->release(buf.id);
  ctx_.pool->forget(this);
  ctx_.loop->close(s);
}

void UpstreamConn::on_eof(core::Socket& s, int err) {
  if (user) {
    user->up_eof(err);
    return;
  }
  ctx_.pool->forget(this);
  ctx_.loop->close(s);
}

void UpstreamConn::on_sent(core::Socket&, int err) {
  if (user) user->up_sent(err);
}

void UpstreamConn::on_closed(core::Socket&) {
  --ctx_.live_upstreams;
  delete this;
}

UpstreamConn* UpstreamPool::acquire(size_t backend, UpstreamUser* user, bool fresh) {
  auto& idle = idle_[backend];
  if (!idle.empty() && !fresh) {
    UpstreamConn* c = idle.back();
    idle.pop_back();
    c->user = user;
    c->reused = true;
    metrics::bump(ctx_.metrics->upstream_reuses);
    return c;
  }
  const route::Backend& b = ctx_.backend(static_cast<uint8_t>(backend));
  core::UniqueFd fd = core::tcp_socket(b.addr);
  if (!fd) return nullptr;
  auto* c = new UpstreamConn(ctx_, backend);
  ++ctx_.live_upstreams;
  ctx_.loop->attach(c->sock, fd.release(), c);
  c->user = user;
  metrics::bump(ctx_.metrics->upstream_connects);
  ctx_.loop->connect(c->sock, b.addr.get(), b.addr.len);
  return c;
}

void UpstreamPool::release(UpstreamConn* c) {
  auto& idle = idle_[c->backend];
  if (ctx_.draining || idle.size() >= ctx_.cfg->upstream_max_idle || !c->sock.is_open()) {
    discard(c);
    return;
  }
  c->user = nullptr;
  c->idle_since = ctx_.loop->now_ms();
  c->parser.next_message();
  if (!c->sock.want_read) ctx_.loop->start_read(c->sock);
  idle.push_back(c);
}

void UpstreamPool::discard(UpstreamConn* c) {
  c->user = nullptr;
  ctx_.loop->close(c->sock);
}

void UpstreamPool::forget(UpstreamConn* c) {
  auto& idle = idle_[c->backend];
  idle.erase(std::remove(idle.begin(), idle.end(), c), idle.end());
}

void UpstreamPool::reap(uint64_t now) {
  uint64_t limit = ctx_.cfg->upstream_idle_timeout_ms;
  for (auto& idle : idle_) {
    // Oldest first: the vector is pushed at the back.
    size_t n = 0;
    while (n < idle.size() && now - idle[n]->idle_since >= limit) {
      ctx_.loop->close(idle[n]->sock);
      ++n;
    }
    idle.erase(idle.begin(), idle.begin() + static_cast<long>(n));
  }
}

void UpstreamPool::close_all() {
  for (auto& idle : idle_) {
    for (UpstreamConn* c : idle) ctx_.loop->close(c->sock);
    idle.clear();
  }
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& idle : idle_) n += idle.size();
  return n;
}

}  // namespace corral::proxy
