// API keys in the running server (auth on): the store, the table the workers
// read, the control thread's watcher and the /admin/keys thread.
#pragma once
#include <memory>
#include <string>

#include "corral/admin/key_admin.h"
#include "corral/auth/store.h"
#include "corral/auth/table.h"
#include "corral/auth/watcher.h"
#include "corral/config/config.h"

namespace corral::server {

struct Keys {
  std::unique_ptr<auth::KeyStore> store;
  auth::KeyTableBox box;
  std::unique_ptr<auth::KeyWatcher> watcher;
  std::unique_ptr<admin::KeyAdmin> admin;
};

// Opens keys.db and publishes the first table (auth on); false with err naming
// the file when it cannot be read. With auth off, warns once when corral
// listens beyond loopback, where anyone who can reach it uses every backend.
bool start_keys(const config::Config& cfg, const std::string& listen_ip, Keys& k, std::string& err);
void stop_keys(Keys& k);

}  // namespace corral::server
