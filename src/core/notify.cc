#include "corral/core/notify.h"

#include <systemd/sd-daemon.h>

#include <string>

#include "corral/core/clock.h"

namespace corral::core {

void notify_ready(std::string_view status) {
  std::string msg = "READY=1";
  if (!status.empty()) msg += "\nSTATUS=" + std::string(status);
  sd_notify(0, msg.c_str());
}

// MONOTONIC_USEC lets systemd 253+ (Type=notify-reload) tell this reload from an older one.
void notify_reloading() {
  std::string msg = "RELOADING=1\nSTATUS=reloading configuration\nMONOTONIC_USEC=" + std::to_string(mono_us());
  sd_notify(0, msg.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=draining in-flight requests"); }

void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

uint32_t watchdog_bounded_ms(uint32_t ms) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return ms;
  uint64_t half_ms = usec / 2000;
  return half_ms < ms ? static_cast<uint32_t>(half_ms > 0 ? half_ms : 1) : ms;
}

}  // namespace corral::core
