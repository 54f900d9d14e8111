// Drives fleet objects the way the control thread does: poll their descriptors, hand the
// ready ones back, until a condition holds or a bound (10 s) passes.
#pragma once
#include <poll.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "corral/core/clock.h"

namespace corral::fleet::testing {

inline int64_t now_ms() { return core::mono_us() / 1000; }

// fds(out) appends descriptors; ready(fd) handles one. Returns done() at the end.
inline bool poll_until(const std::function<void(std::vector<pollfd>&)>& fds, const std::function<void(int)>& ready,
                       const std::function<bool()>& done, int64_t limit_ms = 10000) {
  int64_t end = now_ms() + limit_ms;
  while (!done() && now_ms() < end) {
    std::vector<pollfd> p;
    fds(p);
    ::poll(p.data(), p.size(), 20);
    for (const pollfd& q : p) {
      if (q.revents) ready(q.fd);
    }
  }
  return done();
}

// A process that is gone or a zombie waiting for its new parent counts as dead.
inline bool process_gone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

inline bool wait_gone(int pid, int64_t limit_ms = 10000) {
  int64_t end = now_ms() + limit_ms;
  while (!process_gone(pid) && now_ms() < end) ::poll(nullptr, 0, 10);
  return process_gone(pid);
}

}  // namespace corral::fleet::testing
