// corral-sim: listening sockets and process limits.
#pragma once
#include <string>

namespace sim {

// A non-blocking TCP listener with SO_REUSEADDR and SO_REUSEPORT (so every
// loop thread can own one on the same port); -1 with err on failure, and
// *bad_host set when the host does not resolve. `joining`: another listener of
// this process already owns the port.
int listen_tcp(const std::string& host, int port, bool joining, std::string& err, bool* bad_host);
int local_port(int fd);
// Raises RLIMIT_NOFILE's soft limit to the hard limit (10k+ connections).
void raise_fd_limit();

}  // namespace sim
