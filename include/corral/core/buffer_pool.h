// Fixed-size receive buffers owned by one worker. The io_uring loop registers
// them as a provided-buffer ring; the epoll loop hands them out from a free list.
// Memory is mapped once and touched lazily, so unused buffers cost no RSS.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace corral::core {

class BufferPool {
 public:
  BufferPool(uint32_t count, uint32_t size);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  uint32_t count() const { return count_; }
  uint32_t size() const { return size_; }
  char* data(uint16_t id) const { return base_ + static_cast<size_t>(id) * size_; }

  // Free-list interface (epoll loop). take() returns -1 when exhausted.
  int take();
  void put(uint16_t id) { free_.push_back(id); }
  size_t available() const { return free_.size(); }

 private:
  char* base_ = nullptr;
  uint32_t count_;
  uint32_t size_;
  std::vector<uint16_t> free_;
};

}  // namespace corral::core
