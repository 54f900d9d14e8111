// The control thread: health checks and discovery of every fleet member off
// the hot path (asynchronous probes on its own epoll loop, with the same HTTP
// client the workers use), DNS re-resolution, config reload; publishes a new
// routing snapshot after every round.
#pragma once
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "corral/auth/watcher.h"
#include "corral/config/config.h"
#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"
#include "corral/route/backend.h"
#include "corral/route/lifecycle.h"
#include "corral/route/probe.h"
#include "corral/route/snapshot.h"
#include "corral/upstream/pool.h"

namespace corral::route {

class Control {
 public:
  Control(BackendTable& table, SnapshotBox& box);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Resolves the configured backends and publishes a first snapshot (nothing
  // probed yet). Blocking; false with err when a backend does not resolve.
  bool configure(const config::Config& cfg, std::string& err);
  // SIGHUP: the same, applied by the control thread before its next round.
  bool reload(const config::Config& cfg, std::string& err);
  void start();
  // Waits until the first round has been published (true) or ms passed.
  bool wait_first_round(uint32_t ms);
  void refresh_soon();  // any thread: rediscover every member now (after a pull or delete)
  // Before start(): keys.db is checked for changes at every tick (auth on).
  void watch_keys(auth::KeyWatcher* w) { keys_ = w; }
  // Before start(): backend lifecycles the control thread runs (supervised, on demand).
  void run_lifecycles(Lifecycle* l) { life_ = l; }
  void stop();

 private:
  struct Member {
    Backend* b;
    MemberView view;
    uint32_t good = 0, bad = 0;
    bool probed = false;
  };
  struct Resolved {
    config::Config cfg;
    std::vector<std::pair<size_t, core::SockAddr>> addrs;           // backend index → address
    std::vector<std::shared_ptr<transport::TlsClientContext>> tls;  // per backend index; null for http://
  };
  bool make_tls(Resolved& r, std::string& err);
  bool resolve(const config::Config& cfg, Resolved& out, std::string& err);
  void apply(Resolved r);
  void resolve_dns();
  void tick();
  void start_round(bool discover);
  bool round_finished();
  void probe_done();
  void end_round();
  void judge(Member& m, bool ok, const std::string& err, MemberView probed);
  void publish();
  void add_remote_addresses(Resolved& r);
  std::string lifecycle_states(const std::vector<LifecycleView>& lives) const;
  std::string scaling_states() const;
  void tick_lifecycles(int64_t now_ms);
  void watch_lifecycle_fds();

  BackendTable& table_;
  SnapshotBox& box_;
  auth::KeyWatcher* keys_ = nullptr;
  Lifecycle* life_ = nullptr;
  bool life_begun_ = false, life_stopping_ = false;
  std::vector<int> watched_;       // descriptors of the lifecycles being watched
  bool rewatch_ = false;           // one was handled: a hook or child may have closed it and reopened the number
  std::string published_lives_;    // their states in the last snapshot
  std::string published_scaling_;  // the scaling groups' decisions and load in it
  config::Config cfg_;
  std::vector<Member> members_;
  uint64_t version_ = 0;
  std::thread thread_;

  // The control thread's own loop and connections.
  core::BufferPool buffers_;
  std::unique_ptr<core::Loop> loop_;
  std::unique_ptr<upstream::Pool> pool_;
  std::vector<std::unique_ptr<MemberProbe>> probes_;  // one per member of the round in progress
  std::vector<Backend*> probed_;         // the member each probe is for: on-demand members come and go mid-round
  std::optional<Resolved> next_config_;  // a reload waiting for the round in progress to end
  bool round_active_ = false;
  bool want_refresh_ = false;
  bool starting_ = false;
  uint64_t next_round_ms_ = 0;
  uint64_t next_discovery_ms_ = 0;

  // Set by other threads.
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Resolved> pending_;
  std::map<std::string, std::shared_ptr<transport::TlsClientContext>> tls_by_name_;  // kept across reloads
  bool stopping_ = false, first_done_ = false;
  std::atomic<bool> refresh_{false};
};

}  // namespace corral::route
