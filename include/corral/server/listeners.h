// The addresses corral listens on, with what each is for, and the TLS
// listener's certificate (read at start, read again on SIGHUP).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "corral/config/config.h"
#include "corral/core/published.h"
#include "corral/server/worker.h"
#include "corral/transport/tls.h"

namespace corral::server {

struct Listeners {
  std::vector<ListenSpec> specs;  // listen, then tls_listen and metrics.listen when set
  core::Published<transport::TlsServerContext> tls;
  uint64_t tls_version = 0;
};

// false with err naming the key whose address or certificate is bad.
bool resolve_listeners(const config::Config& cfg, Listeners& out, std::string& err);
// The TLS listener's certificate and key read again; false (the old ones serve on) with err.
bool reload_tls(const config::Config& cfg, Listeners& l, std::string& err);

}  // namespace corral::server
