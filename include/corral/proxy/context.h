// What a worker shares with its sessions: its loop, config, backends, metrics
// shard and upstream pool. One per worker thread; never touched by another thread.
#pragma once
#include <cstdint>
#include <string>

#include "corral/config/config.h"
#include "corral/core/loop.h"
#include "corral/http/parser.h"
#include "corral/metrics/registry.h"
#include "corral/route/backend.h"

namespace corral::proxy {

class UpstreamPool;
class Session;

struct WorkerContext {
  core::Loop* loop = nullptr;
  const config::Config* cfg = nullptr;
  route::BackendList* backends = nullptr;
  metrics::Registry* registry = nullptr;
  metrics::Shard* metrics = nullptr;
  UpstreamPool* pool = nullptr;
  std::string io_name;
  http::Limits limits;
  unsigned worker_id = 0;
  uint64_t id_seed = 0;
  uint64_t next_request = 0;
  uint32_t next_backend = 0;
  bool draining = false;
  size_t live_upstreams = 0;
  Session* sessions = nullptr;  // intrusive list of open client sessions
  size_t session_count = 0;
};

}  // namespace corral::proxy
