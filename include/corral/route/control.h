// The control thread: health checks and discovery of every fleet member off
// the hot path, DNS re-resolution, config reload; publishes a new routing
// snapshot after every round.
#pragma once
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "corral/config/config.h"
#include "corral/route/backend.h"
#include "corral/route/snapshot.h"

namespace corral::route {

class Control {
 public:
  Control(BackendTable& table, SnapshotBox& box) : table_(table), box_(box) {}
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
    std::vector<std::pair<size_t, core::SockAddr>> addrs;  // backend index → address
  };
  bool resolve(const config::Config& cfg, Resolved& out, std::string& err);
  void apply(Resolved r);
  void resolve_dns();
  void round(bool discover);
  void judge(Member& m, bool ok, const std::string& err, MemberView probed);
  void publish();
  void run();

  BackendTable& table_;
  SnapshotBox& box_;
  config::Config cfg_;
  std::vector<Member> members_;
  uint64_t version_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Resolved> pending_;
  bool stopping_ = false, refresh_ = false, first_done_ = false;
};

}  // namespace corral::route
