#include "corral/core/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "corral/core/clock.h"
#include "corral/core/fd.h"

namespace corral::core {
namespace {

// sd_notify(3)'s protocol, which systemd documents as stable for reimplementation: one
// datagram of newline-separated assignments to the AF_UNIX socket NOTIFY_SOCKET names (a
// path, or "@name" in the abstract namespace). Anything else (unset, other socket kinds) is
// a no-op, as is a send that fails: the service manager is not waiting then.
void sd_notify(int /*unset_environment*/, const char* msg) {
  const char* e = std::getenv("NOTIFY_SOCKET");
  if (!e || (e[0] != '/' && e[0] != '@')) return;
  size_t len = std::strlen(e);
  sockaddr_un a{};
  if (len >= sizeof a.sun_path) return;
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, e, len);
  if (a.sun_path[0] == '@') a.sun_path[0] = 0;
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return;
  ssize_t n = ::sendto(fd.get(), msg, std::strlen(msg), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&a),
                       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  (void)n;
}

// sd_watchdog_enabled(3): WATCHDOG_USEC, for this process when WATCHDOG_PID is set.
int sd_watchdog_enabled(int /*unset_environment*/, uint64_t* usec) {
  const char* u = std::getenv("WATCHDOG_USEC");
  if (!u) return 0;
  const char* p = std::getenv("WATCHDOG_PID");
  if (p && std::strtoll(p, nullptr, 10) != ::getpid()) return 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(u, &end, 10);
  if (end == u || *end || v == 0) return -1;
  *usec = v;
  return 1;
}

}  // namespace

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
