// Backends corral forwards to, and the control thread that health-checks them.
// Workers read `up` with relaxed loads; only the control thread writes it.
#pragma once
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "corral/config/config.h"
#include "corral/core/net.h"

namespace corral::route {

struct Backend {
  config::BackendConfig cfg;
  core::SockAddr addr;
  std::string host_header;  // Host sent upstream: "host:port"
  std::atomic<bool> up{true};
  std::atomic<int64_t> models_loaded{-1};  // from /api/ps; -1 until known
  std::atomic<int64_t> vram_bytes{-1};
};

using BackendList = std::vector<std::unique_ptr<Backend>>;

// Resolves every configured backend once (blocking; at start-up).
bool resolve_backends(const config::Config& cfg, BackendList& out, std::string& err);

// A blocking GET for the control thread: status (0 on failure, err set) and body.
int http_get(const core::SockAddr& addr, const char* path, uint32_t timeout_ms, std::string& body, std::string& err);

// One probe: GET / answered with a status below 500.
bool probe(const core::SockAddr& addr, uint32_t timeout_ms, std::string& err);

// Loaded models and their VRAM from an /api/ps body; false when it is not one.
bool parse_ps(const std::string& body, int64_t& models, int64_t& vram);

class HealthChecker {
 public:
  HealthChecker(BackendList& backends, uint32_t interval_ms, uint32_t timeout_ms);
  ~HealthChecker();
  void check_all();  // one round, on the caller's thread
  void start();      // background rounds every interval
  void stop();

 private:
  void run();
  BackendList& backends_;
  uint32_t interval_ms_, timeout_ms_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace corral::route
