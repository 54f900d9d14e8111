#include "corral/fleet/demand.h"

namespace corral::fleet {

Demand::Demand(unsigned workers, std::shared_ptr<Wakeup> wakeup)
    : slots_(workers ? workers : 1), wakeup_(std::move(wakeup)) {}

void Demand::note(unsigned worker) noexcept {
  // The slot's line is this worker's alone, so the add is uncontended.
  slots_[worker % slots_.size()].count.fetch_add(1, std::memory_order_relaxed);
  if (pending_.load(std::memory_order_relaxed) || pending_.exchange(true, std::memory_order_acq_rel)) return;
  if (wakeup_) wakeup_->signal();
}

// The exchange pairs with note()'s: either this sees the note's count, or the note sees
// pending false and wakes the control thread again.
uint64_t Demand::collect() noexcept {
  pending_.exchange(false, std::memory_order_acq_rel);
  uint64_t total = 0;
  for (const Slot& s : slots_) total += s.count.load(std::memory_order_relaxed);
  return total;
}

}  // namespace corral::fleet
