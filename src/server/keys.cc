#include "corral/server/keys.h"

#include "corral/auth/token.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"

namespace corral::server {
namespace {

bool loopback(const std::string& ip) { return ip.starts_with("127.") || ip == "::1"; }

}  // namespace

bool start_keys(const config::Config& cfg, const std::string& listen_ip, Keys& k, std::string& err) {
  if (!cfg.auth.enabled) {
    if (!loopback(listen_ip)) {
      log::write(log::Level::warn, "auth_off",
                 "listen=" + cfg.listen +
                     " action=\"anyone who can reach corral uses every backend; "
                     "turn auth on (auth.enabled: true, CORRAL_AUTH=on or --auth)\"");
    }
    return true;
  }
  if (!auth::digests_available(err)) return false;
  std::string path = auth::keys_db_path(cfg);
  k.store = auth::open_sqlite_store(path, err);
  if (!k.store) return false;
  k.watcher = std::make_unique<auth::KeyWatcher>(*k.store, k.box);
  if (!k.watcher->start(core::mono_us(), err)) return false;
  std::string analytics_db = cfg.analytics.backend == "sqlite" ? cfg.analytics.path : std::string();
  k.admin = std::make_unique<admin::KeyAdmin>(path, analytics_db);
  if (!k.admin->start(err)) return false;
  log::write(log::Level::info, "auth_on",
             "keys=" + log::quote(path) + " count=" + std::to_string(k.box.get()->entries().size()));
  return true;
}

void stop_keys(Keys& k) {
  if (k.admin) k.admin->stop();
  std::string err;
  if (k.watcher && !k.watcher->flush_last_used(core::mono_us(), err)) {
    log::write(log::Level::warn, "keys_last_used", "error=" + log::quote(err));
  }
}

}  // namespace corral::server
