// Monotonic microseconds, for durations measured at the proxy.
#pragma once
#include <time.h>

#include <cstdint>

namespace corral::core {

inline int64_t mono_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace corral::core
