#include "corral/core/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

namespace corral::core {

std::string SockAddr::ip() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
  } else if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string SockAddr::to_string() const {
  int port = storage.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port)
                                           : ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  std::string h = ip();
  if (storage.ss_family == AF_INET6) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

bool split_host_port(std::string_view s, std::string& host, int& port) {
  std::string_view h, p;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) return false;
  }
  if (p.empty() || p.size() > 5) return false;
  int v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 65535) return false;
  host.assign(h.empty() ? "0.0.0.0" : h);
  port = v;
  return true;
}

bool resolve_all(std::string_view host, int port, std::vector<SockAddr>& out, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string h(host);
  std::string p = std::to_string(port);
  int rc = getaddrinfo(h.c_str(), p.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    err = "cannot resolve '" + h + "': " + gai_strerror(rc);
    return false;
  }
  out.clear();
  for (addrinfo* a = res; a; a = a->ai_next) {
    SockAddr s;
    std::memcpy(&s.storage, a->ai_addr, a->ai_addrlen);
    s.len = a->ai_addrlen;
    bool seen = false;
    for (const SockAddr& o : out) seen = seen || (o.len == s.len && std::memcmp(&o.storage, &s.storage, s.len) == 0);
    if (!seen) out.push_back(s);
  }
  freeaddrinfo(res);
  return true;
}

bool resolve(std::string_view host, int port, SockAddr& out, std::string& err) {
  std::vector<SockAddr> all;
  if (!resolve_all(host, port, all, err)) return false;
  out = all.front();
  return true;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

UniqueFd tcp_socket(const SockAddr& addr) {
  UniqueFd fd(::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd) set_nodelay(fd.get());
  return fd;
}

UniqueFd listen_tcp(const SockAddr& addr, int backlog, std::string& err) {
  UniqueFd fd(::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    err = std::strerror(errno);
    return fd;
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd.get(), addr.get(), addr.len) != 0 || ::listen(fd.get(), backlog) != 0) {
    err = "cannot listen on " + addr.to_string() + ": " + std::strerror(errno);
    fd.reset();
  }
  return fd;
}

std::string peer_ip(int fd) {
  SockAddr a;
  a.len = sizeof a.storage;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.len) != 0) return {};
  if (a.storage.ss_family != AF_INET && a.storage.ss_family != AF_INET6) return {};
  return a.ip();
}

bool send_all(int fd, std::string_view data, int timeout_ms) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace corral::core
