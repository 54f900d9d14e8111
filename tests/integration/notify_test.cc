// systemd Type=notify: corral started with NOTIFY_SOCKET pointing at a datagram
// socket this test listens on, as systemd would. READY=1 once it serves,
// RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM, and WATCHDOG=1
// from the control thread at least every half watchdog interval.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "harness.h"

using namespace harness;

namespace {

// The service manager's end: an AF_UNIX datagram socket at a fresh path, exported
// as NOTIFY_SOCKET for the corral started while it lives.
class NotifySocket {
 public:
  NotifySocket() {
    char dir[] = "/tmp/corral-notify-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind " + path_);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // The next datagram, or "" after timeout_ms.
  std::string next(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Datagrams until one contains `field` (returned), skipping others; "" after timeout_ms.
  std::string until(const std::string& field, int timeout_ms, std::vector<std::string>* skipped = nullptr) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count());
      if (left <= 0) return "";
      std::string m = next(left);
      if (m.find(field) != std::string::npos) return m;
      if (skipped && !m.empty()) skipped->push_back(m);
    }
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

constexpr char kQuiet[] = "health: {interval: 1h, timeout: 2s}\ndiscovery: {interval: 1h}\n";

}  // namespace

TEST(Notify, ReadyOnceServingReloadingAroundSighupStoppingOnSigterm) {
  Sim sim;
  NotifySocket sd;
  Corral corral({}, "auto", std::string(kQuiet) + "backends: [" + sim.url() + "]\n");
  std::string ready = sd.until("READY=1", 5000);
  ASSERT_NE(ready, "") << corral.log();
  EXPECT_NE(ready.find("STATUS=serving on 127.0.0.1:" + std::to_string(corral.port)), std::string::npos) << ready;
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200);

  corral.proc.signal(SIGHUP);
  std::string reloading = sd.until("RELOADING=1", 5000);
  ASSERT_NE(reloading, "") << corral.log();
  EXPECT_NE(reloading.find("MONOTONIC_USEC="), std::string::npos) << reloading;
  EXPECT_NE(sd.until("READY=1", 5000), "") << "no READY=1 after the reload; log:\n" << corral.log();

  corral.proc.signal(SIGTERM);
  std::vector<std::string> before;
  EXPECT_NE(sd.until("STOPPING=1", 5000, &before), "") << corral.log();
  for (const std::string& m : before) EXPECT_EQ(m.find("READY=1"), std::string::npos) << m;
}

TEST(Notify, ControlThreadPingsTheWatchdogWithinHalfItsInterval) {
  Sim sim;
  NotifySocket sd;
  setenv("WATCHDOG_USEC", "400000", 1);  // 0.4 s, far below health.interval (1 h)
  Corral corral({}, "auto", std::string(kQuiet) + "backends: [" + sim.url() + "]\n");
  int pings = 0;
  for (int i = 0; i < 4; ++i) pings += sd.until("WATCHDOG=1", 2000) != "";
  EXPECT_EQ(pings, 4) << corral.log();
}

TEST(Notify, NothingIsSentWithoutNotifySocket) {
  Sim sim;
  NotifySocket sd;
  unsetenv("NOTIFY_SOCKET");  // the socket is there, but corral is not told about it
  Corral corral({}, "auto", std::string(kQuiet) + "backends: [" + sim.url() + "]\n");
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200);
  EXPECT_EQ(sd.next(500), "");
}
