// Clocks: monotonic microseconds for durations measured at the proxy, wall
// clock for timestamps, and the one ISO 8601 form corral prints them in.
#pragma once
#include <time.h>

#include <cstdint>
#include <string>

namespace corral::core {

inline int64_t mono_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Unix time in microseconds.
inline int64_t wall_us() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// "2026-11-27T07:01:32.123Z" (UTC, milliseconds).
std::string iso_time(int64_t unix_ms);

}  // namespace corral::core
