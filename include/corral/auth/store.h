// Where keys live. Narrow on purpose: the SQLite store (one file beside the
// analytics store) is the first; a shared PostgreSQL store for several
// replicas implements the same calls. A store object is used by one thread at
// a time (the CLI, the control thread, the admin API's thread each open their own).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corral/auth/key.h"
#include "corral/config/config.h"

namespace corral::auth {

enum class StoreStatus : uint8_t { ok, not_found, exists, error };

struct LastUsed {
  std::string name;
  int64_t unix_ms = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // The store's name in messages: the keys.db path.
  virtual const std::string& where() const = 0;
  // Every key, revoked ones included, by name.
  virtual bool load(std::vector<Key>& out, std::string& err) = 0;
  virtual StoreStatus get(std::string_view name, Key& out, std::string& err) = 0;
  // exists when the name is taken.
  virtual StoreStatus insert(const Key& key, std::string& err) = 0;
  // Reads the key, lets change edit it and writes it back in one transaction (no
  // lost update between two editors); out is the key as written. The name,
  // created and last-used times are kept whatever change does.
  virtual StoreStatus modify(std::string_view name, const std::function<void(Key&)>& change, Key& out,
                             std::string& err) = 0;
  // Last-used times in one write for the whole batch; a time never moves back.
  virtual bool touch(std::span<const LastUsed> batch, std::string& err) = 0;
  // Whether keys changed since the previous call, by anyone (another process
  // included); the first call says true. Cheap enough to ask twice a second.
  virtual bool changed(bool& out, std::string& err) = 0;
};

// keys.db in the data directory.
std::string keys_db_path(const config::Config& cfg);

// Opens (creating with mode 0600) the SQLite store at path: WAL, a busy timeout
// of busy_ms, schema version checked. A corrupt, foreign or unreadable file is
// an error naming it.
std::unique_ptr<KeyStore> open_sqlite_store(const std::string& path, std::string& err, int busy_ms = 1000);

}  // namespace corral::auth
