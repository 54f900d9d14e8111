#include "corral/server/listeners.h"

namespace corral::server {
namespace {

bool resolve_one(const std::string& address, const char* key, ListenerRole role, Listeners& out, std::string& err) {
  std::string host;
  int port;
  ListenSpec spec{{}, role};
  if (!core::split_host_port(address, host, port) || !core::resolve(host, port, spec.addr, err)) {
    err = std::string(key) + ": " + (err.empty() ? "expected HOST:PORT, got '" + address + "'" : err);
    return false;
  }
  out.specs.push_back(spec);
  return true;
}

}  // namespace

bool resolve_listeners(const config::Config& cfg, Listeners& out, std::string& err) {
  if (!resolve_one(cfg.listen, "listen", ListenerRole::client, out, err)) return false;
  if (!cfg.metrics.listen.empty() &&
      !resolve_one(cfg.metrics.listen, "metrics.listen", ListenerRole::admin, out, err)) {
    return false;
  }
  if (cfg.tls_listen.address.empty()) return true;
  return resolve_one(cfg.tls_listen.address, "tls_listen.address", ListenerRole::client_tls, out, err) &&
         reload_tls(cfg, out, err);
}

bool reload_tls(const config::Config& cfg, Listeners& l, std::string& err) {
  if (cfg.tls_listen.address.empty()) return true;
  auto ctx = transport::TlsServerContext::create(cfg.tls_listen.cert, cfg.tls_listen.key, err);
  if (!ctx) {
    err = "tls_listen: " + err;
    return false;
  }
  l.tls.publish(std::move(ctx), ++l.tls_version);
  return true;
}

}  // namespace corral::server
