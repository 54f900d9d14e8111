// An eventfd one thread sleeps on and any thread may signal, without blocking or
// locking: signals between two clear() calls cost one write(2) in all.
#pragma once
#include <atomic>

#include "corral/core/fd.h"

namespace corral::core {

class Wakeup {
 public:
  Wakeup();
  int fd() const { return fd_.get(); }
  void signal() noexcept;  // never blocks (EFD_NONBLOCK; a full counter is already a wake-up)
  void clear() noexcept;   // the sleeper, when fd() polled readable
  // The sleeper: returns when signalled (and clears) or after timeout_ms.
  void wait(int timeout_ms) noexcept;

 private:
  UniqueFd fd_;
  std::atomic<bool> armed_{false};
};

}  // namespace corral::core
