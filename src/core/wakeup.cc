#include "corral/core/wakeup.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace corral::core {

Wakeup::Wakeup() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void Wakeup::signal() noexcept {
  if (armed_.load(std::memory_order_relaxed) || armed_.exchange(true, std::memory_order_acq_rel)) return;
  uint64_t one = 1;
  ssize_t n = ::write(fd_.get(), &one, sizeof one);
  (void)n;  // EAGAIN: the counter is full, so the sleeper is woken anyway
}

// Read first, then re-arm: a signal() in between skips its write, but the caller is awake
// and looks after this; a signal() after it writes again.
void Wakeup::clear() noexcept {
  uint64_t v;
  ssize_t n = ::read(fd_.get(), &v, sizeof v);
  (void)n;
  armed_.store(false, std::memory_order_release);
}

void Wakeup::wait(int timeout_ms) noexcept {
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) clear();
}

}  // namespace corral::core
