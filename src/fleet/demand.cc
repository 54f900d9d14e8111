#include "corral/fleet/demand.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace corral::fleet {

Wakeup::Wakeup() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void Wakeup::signal() noexcept {
  if (armed_.load(std::memory_order_relaxed) || armed_.exchange(true, std::memory_order_acq_rel)) return;
  uint64_t one = 1;
  ssize_t n = ::write(fd_.get(), &one, sizeof one);
  (void)n;  // EAGAIN: the counter is full, so the control thread is woken anyway
}

// Read first, then re-arm: a signal() in between skips its write, but the caller is awake
// and collects after this; a signal() after it writes again.
void Wakeup::clear() noexcept {
  uint64_t v;
  ssize_t n = ::read(fd_.get(), &v, sizeof v);
  (void)n;
  armed_.store(false, std::memory_order_release);
}

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
