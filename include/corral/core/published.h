// A value one thread publishes and others read without locking per use
// (routing snapshots, key tables, the TLS listener's certificate): a reader
// keeps its copy and takes the new one only when the version moved — one
// acquire load in the common case. Values are immutable once published.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace corral::core {

template <typename T>
class Published {
 public:
  void publish(std::shared_ptr<T> v, uint64_t version) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = std::move(v);
    }
    version_.store(version, std::memory_order_release);
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<T> get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  // A reader's copy, replaced only when the version moved.
  void refresh(std::shared_ptr<T>& mine, uint64_t& mine_version) const {
    uint64_t v = version();
    if (mine && v == mine_version) return;
    mine = get();
    mine_version = v;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<T> current_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace corral::core
