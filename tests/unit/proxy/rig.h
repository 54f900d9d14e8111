// A worker without threads or sockets for Session tests: a FakeLoop, the
// fleet's slots and a hand-built routing snapshot, a metrics shard and an
// upstream pool. The test plays the client and every backend.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../../support/fake_loop.h"
#include "corral/proxy/context.h"
#include "corral/route/backend.h"
#include "corral/route/control.h"
#include "corral/route/snapshot.h"

namespace corral::test {

struct BackendSpec {
  std::string name;
  std::vector<std::string> models;  // discovered names
  uint32_t max_concurrent = 0;
};

class Rig {
 public:
  explicit Rig(std::initializer_list<BackendSpec> backends, const std::string& yaml = "");
  Rig(const Rig&) = delete;
  ~Rig();
  FakeLoop loop;
  config::Config cfg;
  route::BackendTable table;
  route::SnapshotBox box;
  route::Control control{table, box};
  metrics::Registry registry{1, 100};
  std::unique_ptr<upstream::Pool> pool;
  proxy::Fleet fleet;
  proxy::WorkerContext ctx;

  int connect_client();  // a new client connection with its Session
  void send(int client, const std::string& raw) {
    loop.deliver(client, raw);
    loop.settle();
  }
  const std::string& to_client(int client) { return loop.peer(client).received; }
  // The backend connection opened last, connected (or the pooled one in use).
  int accept_upstream();
  void answer(int upstream, const std::string& raw) {
    loop.deliver(upstream, raw);
    loop.settle();
  }
  std::string backend_of(int upstream) const;  // which backend a connection goes to
  void tick(uint64_t advance_ms);              // moves the clock and runs the worker's tick
  metrics::Shard& shard() { return registry.shard(0); }
};

// "GET /x HTTP/1.1" + headers + body with Content-Length.
std::string http_request(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& headers = "");
std::string http_response(int status, const std::string& body, const std::string& headers = "");

}  // namespace corral::test
