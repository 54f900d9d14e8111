// Addresses and sockets: parsing host:port, listeners, non-blocking client sockets.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "corral/core/fd.h"

namespace corral::core {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string to_string() const;  // "1.2.3.4:80" or "[::1]:80"
  std::string ip() const;
};

// Splits "host:port" / "[v6]:port" / ":port"; false on malformed input.
bool split_host_port(std::string_view s, std::string& host, int& port);

// Resolves a numeric or named host (blocking getaddrinfo; call off the hot path).
bool resolve(std::string_view host, int port, SockAddr& out, std::string& err);
// Every distinct address of host (all A/AAAA records), in resolver order.
bool resolve_all(std::string_view host, int port, std::vector<SockAddr>& out, std::string& err);

// SO_REUSEPORT listener, non-blocking. Returns invalid fd and sets err on failure.
UniqueFd listen_tcp(const SockAddr& addr, int backlog, std::string& err);

// Non-blocking TCP socket of addr's family with TCP_NODELAY.
UniqueFd tcp_socket(const SockAddr& addr);

// errno from socket() that is corral's own shortage (descriptors, buffers,
// memory), not a backend's fault: never counted against a backend's health.
inline bool local_shortage(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

void set_nodelay(int fd);

// Writes all of data to a (possibly non-blocking) socket, waiting up to
// timeout_ms for room each time; false when the peer is gone or too slow.
bool send_all(int fd, std::string_view data, int timeout_ms);

// The address at the other end of a connected socket, as text (empty when unknown).
std::string peer_ip(int fd);

}  // namespace corral::core
