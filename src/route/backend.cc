#include "corral/route/backend.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "corral/core/log.h"

namespace corral::route {

bool resolve_backends(const config::Config& cfg, BackendList& out, std::string& err) {
  for (const config::BackendConfig& b : cfg.backends) {
    auto be = std::make_unique<Backend>();
    be->cfg = b;
    if (!core::resolve(b.host, b.port, be->addr, err)) {
      err = "backend " + b.url + ": " + err;
      return false;
    }
    be->host_header = b.host.find(':') != std::string::npos ? "[" + b.host + "]:" + std::to_string(b.port)
                                                             : b.host + ":" + std::to_string(b.port);
    out.push_back(std::move(be));
  }
  return true;
}

static bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}

bool probe(const core::SockAddr& addr, uint32_t timeout_ms, std::string& err) {
  core::UniqueFd fd = core::tcp_socket(addr);
  if (!fd) {
    err = std::strerror(errno);
    return false;
  }
  int timeout = static_cast<int>(timeout_ms);
  if (::connect(fd.get(), addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
    err = std::strerror(errno);
    return false;
  }
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (!wait_fd(fd.get(), POLLOUT, timeout) || getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
      soerr != 0) {
    err = soerr ? std::strerror(soerr) : "connect timed out";
    return false;
  }
  static constexpr char kReq[] = "GET / HTTP/1.1\r\nHost: corral-health\r\nConnection: close\r\n\r\n";
  if (::send(fd.get(), kReq, sizeof kReq - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof kReq - 1)) {
    err = "send failed";
    return false;
  }
  char buf[16] = {};
  size_t got = 0;
  while (got < 12 && wait_fd(fd.get(), POLLIN, timeout)) {
    ssize_t n = ::recv(fd.get(), buf + got, 12 - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < 12 || std::memcmp(buf, "HTTP/1.", 7) != 0) {
    err = "no HTTP response";
    return false;
  }
  if (buf[9] >= '5') {
    err = std::string("status ") + std::string(buf + 9, 3);
    return false;
  }
  return true;
}

HealthChecker::HealthChecker(BackendList& b, uint32_t interval_ms, uint32_t timeout_ms)
    : backends_(b), interval_ms_(interval_ms), timeout_ms_(timeout_ms) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::check_all() {
  for (auto& b : backends_) {
    std::string err;
    bool up = probe(b->addr, timeout_ms_, err);
    bool was = b->up.exchange(up, std::memory_order_relaxed);
    if (up != was) {
      log::write(up ? log::Level::info : log::Level::warn, up ? "backend_up" : "backend_down",
                 "backend=" + b->cfg.url + (up ? "" : " error=" + log::quote(err)));
    }
  }
}

void HealthChecker::start() { thread_ = std::thread([this] { run(); }); }

void HealthChecker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; })) {
    lock.unlock();
    check_all();
    lock.lock();
  }
}

}  // namespace corral::route
