// Drives requests over keep-alive connections on one corral core::Loop and
// measures each one: status, time to first token, inter-token gaps, total,
// tokens and bytes.
#pragma once
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "conversation.h"
#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"
#include "corral/core/net.h"
#include "histogram.h"
#include "options.h"

namespace load {

struct Results {
  uint64_t ok = 0, errors = 0, tokens = 0, bytes = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  Histogram total_us, ttft_us, itl_us;
  double seconds = 0;
};

class Conn;

class Runner {
 public:
  Runner(const Options& o, const corral::core::SockAddr& target);
  ~Runner();
  // Runs the whole load (warm-up included) and returns the measured part.
  Results run(bool progress);
  // The next request, per endpoint/model/prompt; `conversation`: its chat's id (0: none).
  std::string request_bytes(uint64_t& conversation);

  // Used by connections.
  corral::core::Loop& loop() { return *loop_; }
  const corral::core::SockAddr& target() const { return target_; }
  void done(Conn& c, bool ok, const std::string& error_kind, bool reusable);
  void closed(Conn& c);

 private:
  void tick();
  bool more_to_start() const;
  void start_one(int64_t scheduled_us);
  std::string prompt();
  const std::string& pick_model();

  const Options& o_;
  corral::core::SockAddr target_;
  std::unique_ptr<corral::core::BufferPool> pool_;
  std::unique_ptr<corral::core::Loop> loop_;
  std::vector<Conn*> idle_;
  std::vector<Conn*> all_;  // every open connection
  size_t live_ = 0, busy_ = 0;
  uint64_t started_ = 0, finished_ = 0;
  int64_t t0_us_ = 0, measure_from_us_ = 0, end_us_ = 0, next_arrival_us_ = 0, last_progress_us_ = 0;
  bool progress_ = false;
  std::mt19937_64 rng_{42};
  Conversations chats_;
  Results r_;
};

}  // namespace load
