// Buffers for bytes a transport produces itself (TLS plaintext), handed up
// like the loop's receive buffers and given back through the same release():
// one set per loop, growing on demand, kept for reuse. Backpressure above
// bounds how many are in use.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "corral/core/loop.h"

namespace corral::transport {

class PlainBuffers final : public core::BufferOwner {
 public:
  explicit PlainBuffers(uint32_t size) : size_(size) {}
  // A free buffer's id; -1 when 65,536 are in use.
  int take();
  char* data(uint16_t id) const { return bufs_[id].get(); }
  uint32_t size() const { return size_; }
  void release(uint16_t id) override { free_.push_back(id); }
  size_t in_use() const { return bufs_.size() - free_.size(); }

 private:
  uint32_t size_;
  std::vector<std::unique_ptr<char[]>> bufs_;
  std::vector<uint16_t> free_;
};

}  // namespace corral::transport
