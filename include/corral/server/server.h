// Process wiring: workers (one per CPU), the control thread (health checks),
// and signal handling on the main thread (SIGTERM/SIGINT drain, SIGHUP reserved).
#pragma once
#include <string>

#include "corral/config/config.h"

namespace corral::server {

// Runs corral until a termination signal has been handled; returns the exit code.
int run(const config::Config& cfg);

}  // namespace corral::server
