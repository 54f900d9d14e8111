// How workers tell the control thread that requests want an on-demand backend, without
// blocking or locking: each worker bumps its own counter slot (single writer, one cache line
// per worker, as the metrics shards) and, the first time since the control thread last looked,
// writes the control thread's eventfd. The control thread sums the slots each round; a total
// that moved means requests arrived (start the backend, and they count as activity).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "corral/core/wakeup.h"
#include "corral/route/lifecycle.h"

namespace corral::fleet {

// The control thread's eventfd (it polls fd() beside its timers).
using Wakeup = core::Wakeup;

class Demand final : public route::DemandSignal {
 public:
  // workers: how many worker threads may call note(); wakeup may be null (no early wake-up).
  Demand(unsigned workers, std::shared_ptr<Wakeup> wakeup);

  // Worker thread `worker`: one request routed to, or waiting for, this backend. Wait-free.
  void note(unsigned worker) noexcept override;
  // Control thread: requests noted so far (only grows).
  uint64_t collect() noexcept;

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> count{0};
  };
  std::vector<Slot> slots_;
  std::shared_ptr<Wakeup> wakeup_;
  alignas(64) std::atomic<bool> pending_{false};
};

}  // namespace corral::fleet
