// What a worker shares with its sessions: its loop, config, the backend slots
// and routing snapshot, metrics shard, upstream pool, admission queue and the
// free list of per-request state. One per worker thread; never touched by
// another thread (the slots' atomics and the snapshot box are the shared,
// thread-safe parts).
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "corral/auth/table.h"
#include "corral/config/config.h"
#include "corral/core/loop.h"
#include "corral/core/published.h"
#include "corral/fleet/scaling_load.h"
#include "corral/http/parser.h"
#include "corral/metrics/registry.h"
#include "corral/proxy/admission.h"
#include "corral/route/backend.h"
#include "corral/route/control.h"
#include "corral/route/snapshot.h"
#include "corral/transport/buffers.h"
#include "corral/transport/tls.h"
#include "corral/upstream/client.h"
#include "corral/upstream/pool.h"

namespace corral::analytics {
class Service;
class RecordRing;
}  // namespace corral::analytics

namespace corral::admin {
class KeyAdmin;
}

namespace corral::proxy {

class Session;
struct Exchange;

// Shared by all workers (read-only pointers to thread-safe parts).
struct Fleet {
  route::BackendTable* table = nullptr;
  route::SnapshotBox* box = nullptr;
  route::Control* control = nullptr;
  const auth::KeyTableBox* keys = nullptr;  // null: auth off
  admin::KeyAdmin* key_admin = nullptr;     // null: auth off
  fleet::ScalingLoad* scaling = nullptr;    // null: no scaling groups
  std::atomic<uint32_t> in_flight{0};       // requests holding a place under limits.max_in_flight
  std::atomic<uint32_t> waiting{0};         // requests queued on any worker while that limit is set
  // The TLS listener's certificate (tls_listen), replaced by a reload; null: no TLS listener.
  const core::Published<transport::TlsServerContext>* tls_server = nullptr;
  std::array<std::atomic<core::Loop*>, 256> loops{};  // every worker's loop, to wake waiters elsewhere
};

// Exchanges between requests: taken when a request's first byte arrives, given
// back when it ends, so an idle keep-alive connection holds none.
class ExchangePool {
 public:
  ExchangePool();
  ~ExchangePool();
  Exchange* take(struct WorkerContext& ctx, upstream::ClientUser& user);
  void give(Exchange* e);

 private:
  std::vector<Exchange*> free_;
};

struct WorkerContext {
  core::Loop* loop = nullptr;
  const config::Config* cfg = nullptr;
  Fleet* fleet = nullptr;
  metrics::Registry* registry = nullptr;
  metrics::Shard* metrics = nullptr;
  analytics::Service* analytics = nullptr;   // null: analytics off
  analytics::RecordRing* records = nullptr;  // this worker's ring to the offload thread
  uint32_t prompt_preview_bytes = 0;         // kept from each prompt for analytics (0: off)
  uint32_t response_sample_bytes = 0;        // first response body bytes kept for analytics
  upstream::Pool* pool = nullptr;
  std::string io_name;
  http::Limits limits;
  unsigned worker_id = 0;
  uint64_t id_seed = 0;
  uint64_t next_request = 0;
  uint64_t ticks = 0;  // worker ticks so far
  uint64_t rng = 0;
  bool draining = false;
  Session* sessions = nullptr;  // intrusive list of open client sessions
  size_t session_count = 0;
  AdmissionQueue waiting;  // requests waiting for a backend place
  ExchangePool exchanges;
  const auth::KeyTableBox* keys = nullptr;          // fleet->keys
  admin::KeyAdmin* key_admin = nullptr;             // fleet->key_admin
  std::shared_ptr<const auth::KeyTable> key_table;  // this worker's copy, refreshed when the version moves
  transport::PlainBuffers* tls_plain = nullptr;     // decrypted bytes of TLS clients

  // The current routing snapshot; reloaded only when the control thread published a new one.
  const route::RoutingSnapshot& snapshot() {
    fleet->box->refresh(snapshot_, snapshot_version_);
    return *snapshot_;
  }
  route::Backend& backend(uint8_t slot) { return (*fleet->table)[slot]; }
  uint64_t random() { return rng = rng * 6364136223846793005ull + 1442695040888963407ull; }
  upstream::Target target(uint8_t slot) {
    const route::Backend& b = backend(slot);
    upstream::Target t;
    t.slot = slot;
    t.addr = &b.addr;
    t.host_header = b.host_header;
    if (const route::MemberView* m = snapshot().member(slot)) t.tls = m->tls;
    t.tls_host = b.tls_host;
    return t;
  }

 private:
  std::shared_ptr<const route::RoutingSnapshot> snapshot_;
  uint64_t snapshot_version_ = ~0ull;
};

}  // namespace corral::proxy
