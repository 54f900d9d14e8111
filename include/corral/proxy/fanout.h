// One request sent to several backends at once, on the worker's loop and its
// keep-alive pool: merged /api/tags, /api/ps and /v1/models, and /api/delete,
// /api/copy on every backend that has the model. Each leg's answer is kept
// whole (bounded); the owner merges them when all are in.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "corral/api/merge.h"
#include "corral/upstream/client.h"

namespace corral::proxy {

struct WorkerContext;

struct LegResult {
  uint8_t slot = 0;
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::string error;
};

class FanoutUser {
 public:
  virtual void fanout_done() = 0;

 protected:
  ~FanoutUser() = default;
};

class Fanout {
 public:
  // requests[i] (head + body) goes to slots[i]; done fires once, from the loop.
  Fanout(WorkerContext& ctx, FanoutUser& user, const std::vector<uint8_t>& slots, std::vector<std::string> requests,
         uint64_t deadline_ms);
  ~Fanout();  // legs still out are abandoned (their connections closed)
  void start();
  void tick(uint64_t now_ms);
  const std::vector<LegResult>& results() const { return results_; }
  std::vector<api::LegAnswer> answers() const;

 private:
  struct Leg;
  void leg_done();
  WorkerContext& ctx_;
  FanoutUser& user_;
  std::vector<std::unique_ptr<Leg>> legs_;
  std::vector<LegResult> results_;
  size_t pending_ = 0;
  uint64_t deadline_ms_;
};

}  // namespace corral::proxy
