#include "corral/upstream/pool.h"

#include <algorithm>

namespace corral::upstream {

Connection::Connection(Pool& pool, uint8_t slot, std::unique_ptr<transport::Transport> io)
    : pool_(pool), io_(std::move(io)), slot_(slot) {
  io_->set_user(this);
}

void Connection::on_connected(int err) {
  if (user_) user_->on_connected(err);
}

void Connection::on_data(core::IoBuf buf) {
  if (user_) {
    user_->on_data(buf);
    return;
  }
  // Bytes on an idle connection: the backend is confused; do not reuse it.
  buf.release();
  pool_.forget(this);
  io_->close();
}

void Connection::on_eof(int err) {
  if (user_) {
    user_->on_eof(err);
    return;
  }
  pool_.forget(this);
  io_->close();
}

void Connection::on_sent(int err) {
  if (user_) user_->on_sent(err);
}

void Connection::on_closed() { pool_.closed(this); }

Pool::Pool(core::Loop& loop, uint32_t max_idle_per_slot, uint32_t idle_timeout_ms, metrics::Shard* metrics)
    : loop_(loop), max_idle_(max_idle_per_slot), idle_timeout_ms_(idle_timeout_ms), metrics_(metrics), idle_(256) {}

Pool::~Pool() = default;

Connection* Pool::acquire(const Target& t, transport::TransportUser* user, bool fresh, int& err) {
  if (targets_.size() <= t.slot) targets_.resize(t.slot + 1u);
  if (&targets_[t.slot] != &t) targets_[t.slot] = t;
  auto& idle = idle_[t.slot];
  if (!idle.empty() && !fresh) {
    Connection* c = idle.back();
    idle.pop_back();
    c->user_ = user;
    c->reused_ = true;
    if (metrics_) metrics::bump(metrics_->upstream_reuses);
    return c;
  }
  auto io = t.tls ? transport::tls_client(loop_, plain_, t.tls, t.tls_host) : transport::plain(loop_);
  auto* c = new Connection(*this, t.slot, std::move(io));
  c->user_ = user;
  err = c->io_->connect(*t.addr);
  if (err < 0) {
    delete c;
    return nullptr;
  }
  ++live_;
  if (metrics_) metrics::bump(metrics_->upstream_connects);
  return c;
}

void Pool::release(Connection* c) {
  auto& idle = idle_[c->slot_];
  if (draining_ || idle.size() >= max_idle_ || !c->io_->is_open()) {
    discard(c);
    return;
  }
  c->user_ = nullptr;
  c->idle_since_ = loop_.now_ms();
  c->io_->resume();
  idle.push_back(c);
}

void Pool::discard(Connection* c) {
  c->user_ = nullptr;
  c->io_->close();
}

void Pool::forget(Connection* c) {
  auto& idle = idle_[c->slot_];
  idle.erase(std::remove(idle.begin(), idle.end(), c), idle.end());
}

void Pool::closed(Connection* c) {
  --live_;
  delete c;
}

void Pool::reap(uint64_t now) {
  for (auto& idle : idle_) {
    // Oldest first: the vector is pushed at the back.
    size_t n = 0;
    while (n < idle.size() && now - idle[n]->idle_since_ >= idle_timeout_ms_) {
      idle[n]->io_->close();
      ++n;
    }
    idle.erase(idle.begin(), idle.begin() + static_cast<long>(n));
  }
}

void Pool::drain() {
  draining_ = true;
  for (auto& idle : idle_) {
    for (Connection* c : idle) c->io_->close();
    idle.clear();
  }
}

size_t Pool::idle_count() const {
  size_t n = 0;
  for (const auto& idle : idle_) n += idle.size();
  return n;
}

}  // namespace corral::upstream
