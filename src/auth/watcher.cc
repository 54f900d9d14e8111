#include "corral/auth/watcher.h"

#include <vector>

#include "corral/core/clock.h"
#include "corral/core/log.h"

namespace corral::auth {

bool KeyWatcher::reload(std::string& err) {
  bool changed = false;
  if (!store_.changed(changed, err)) return false;
  if (!changed && table_ && error_.empty()) return true;  // after a failure, load again whatever changed says
  std::vector<Key> keys;
  if (!store_.load(keys, err)) return false;
  size_t active = 0;
  for (const Key& k : keys) active += k.state == KeyState::active;
  size_t total = keys.size();
  table_ = KeyTable::build(std::move(keys), table_.get(), ++version_);
  box_.publish(table_);
  log::write(log::Level::info, "keys_loaded",
             "keys=" + std::to_string(total) + " active=" + std::to_string(active) +
                 " version=" + std::to_string(version_) + " file=" + log::quote(store_.where()));
  return true;
}

bool KeyWatcher::start(int64_t now_us, std::string& err) {
  next_check_us_ = now_us + opts_.check_interval_us;
  next_touch_us_ = now_us + opts_.touch_interval_us;
  return reload(err);
}

void KeyWatcher::poll(int64_t now_us) {
  if (now_us >= next_check_us_) {
    next_check_us_ = now_us + opts_.check_interval_us;
    std::string err;
    if (reload(err)) {
      if (!error_.empty()) log::write(log::Level::info, "keys_reload_recovered", "file=" + log::quote(store_.where()));
      error_.clear();
    } else if (err != error_) {
      error_ = err;
      log::write(log::Level::error, "keys_reload_failed",
                 "error=" + log::quote(err) + " kept_version=" + std::to_string(table_ ? table_->version() : 0));
    }
  }
  if (now_us >= next_touch_us_) {
    next_touch_us_ = now_us + opts_.touch_interval_us;
    std::string err;
    if (flush_last_used(now_us, err)) {
      touch_error_.clear();
    } else if (err != touch_error_) {
      touch_error_ = err;
      log::write(log::Level::warn, "keys_last_used_failed", "error=" + log::quote(err));
    }
  }
}

bool KeyWatcher::flush_last_used(int64_t now_us, std::string& err) {
  if (!table_) return true;
  std::vector<LastUsed> batch;
  std::vector<std::pair<const std::string*, int64_t>> seen;
  int64_t wall_ms = core::wall_us() / 1000;
  for (const KeyEntry& e : table_->entries()) {
    int64_t used = e.limiter.usage().last_used_us.load(std::memory_order_relaxed);
    auto it = written_.find(e.key.name);
    if (used == 0 || (it != written_.end() && it->second == used)) continue;
    batch.push_back({e.key.name, wall_ms - (now_us - used) / 1000});
    seen.emplace_back(&e.key.name, used);
  }
  if (!store_.touch(batch, err)) return false;
  for (const auto& [name, used] : seen) written_[*name] = used;
  return true;
}

}  // namespace corral::auth
