// Service manager notifications (systemd's sd_notify protocol, Type=notify):
// readiness, reload, stop and watchdog keep-alives. Each is a no-op when the
// process was not started with NOTIFY_SOCKET (not under systemd, or Type=simple).
#pragma once
#include <cstdint>
#include <string_view>

namespace corral::core {

// READY=1: listeners open and the first discovery round done (or waited for).
void notify_ready(std::string_view status = {});
// RELOADING=1 while SIGHUP re-reads the config; notify_ready() ends it.
void notify_reloading();
// STOPPING=1 when draining starts.
void notify_stopping();
// WATCHDOG=1 from the control thread after each round (WatchdogSec=).
void notify_watchdog();

// The longest a thread that pings the watchdog may wait between pings: ms, or half
// of the service manager's watchdog interval when that is shorter.
uint32_t watchdog_bounded_ms(uint32_t ms);

}  // namespace corral::core
