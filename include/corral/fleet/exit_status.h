// How a backend process or hook ended: an exit code or the signal that killed it.
#pragma once
#include <string>

namespace corral::fleet {

struct ExitStatus {
  int code = -1;   // exit code; -1 when killed by a signal
  int signal = 0;  // the terminating signal; 0 when it exited

  static ExitStatus exited(int c) { return {c, 0}; }
  static ExitStatus killed(int s) { return {-1, s}; }
  bool success() const { return signal == 0 && code == 0; }
  // "code=0" or "signal=SIGKILL", for log lines and /status.
  std::string describe() const;
};

}  // namespace corral::fleet
