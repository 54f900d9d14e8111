// Process wiring: workers (one per CPU), the control thread (health checks,
// discovery, routing snapshots), and signal handling on the main thread
// (SIGTERM/SIGINT drain, SIGHUP config reload).
#pragma once
#include <string>

#include "corral/config/config.h"

namespace corral::server {

// Where SIGHUP reads the configuration again from.
struct ReloadSource {
  const config::Flags* flags = nullptr;
  char** envp = nullptr;
};

// Runs corral until a termination signal has been handled; returns the exit code.
int run(const config::Config& cfg, const ReloadSource& src = {});

}  // namespace corral::server
