#include "corral/core/buffer_pool.h"

#include <sys/mman.h>

#include <new>

namespace corral::core {

BufferPool::BufferPool(uint32_t count, uint32_t size) : count_(count), size_(size) {
  void* p =
      mmap(nullptr, static_cast<size_t>(count) * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<char*>(p);
  free_.reserve(count);
  for (uint32_t i = count; i > 0; --i) free_.push_back(static_cast<uint16_t>(i - 1));
}

BufferPool::~BufferPool() { munmap(base_, static_cast<size_t>(count_) * size_); }

int BufferPool::take() {
  if (free_.empty()) return -1;
  uint16_t id = free_.back();
  free_.pop_back();
  return id;
}

}  // namespace corral::core
