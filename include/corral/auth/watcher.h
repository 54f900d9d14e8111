// Keeps the published key table in step with the store, on the control thread:
// a key created, changed, revoked or rotated by `corral keys` in another
// process (or through the admin API) is live at the next check, twice a second.
// A reload that fails keeps the last good table and says so once per error.
// It also writes the keys' last-used times back, batched every few seconds.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "corral/auth/store.h"
#include "corral/auth/table.h"

namespace corral::auth {

class KeyWatcher {
 public:
  struct Options {
    int64_t check_interval_us = 500'000;    // how often the store is asked whether keys changed
    int64_t touch_interval_us = 5'000'000;  // how often last-used times are written
  };

  KeyWatcher(KeyStore& store, KeyTableBox& box) : KeyWatcher(store, box, Options{}) {}
  KeyWatcher(KeyStore& store, KeyTableBox& box, Options opts) : store_(store), box_(box), opts_(opts) {}

  // Loads and publishes the first table; false with err naming the file when the
  // store cannot be read (corral should not start then).
  bool start(int64_t now_us, std::string& err);
  // Call as often as convenient (monotonic µs); does work only when an interval is due.
  void poll(int64_t now_us);
  // Writes last-used times now (at shutdown); false with the store's error.
  bool flush_last_used(int64_t now_us, std::string& err);

  // Why the last reload failed; empty while the published table is current.
  const std::string& error() const { return error_; }
  std::shared_ptr<const KeyTable> table() const { return table_; }

 private:
  bool reload(std::string& err);

  KeyStore& store_;
  KeyTableBox& box_;
  Options opts_;
  std::shared_ptr<const KeyTable> table_;
  uint64_t version_ = 0;
  int64_t next_check_us_ = 0;
  int64_t next_touch_us_ = 0;
  std::string error_;
  std::string touch_error_;
  std::unordered_map<std::string, int64_t> written_;  // key → the last-used time (monotonic µs) last written
};

}  // namespace corral::auth
