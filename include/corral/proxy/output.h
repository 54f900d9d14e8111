// What goes out to the client, in order: byte ranges that are either corral's
// own (a head it wrote) or a backend's receive buffer, sent as they are and
// released once sent. One send in flight at a time.
#pragma once
#include <cstdint>
#include <vector>

#include "corral/core/loop.h"
#include "corral/transport/transport.h"

namespace corral::proxy {

class ClientOutput {
 public:
  // Queues n bytes at p; buf (may be null) is released once they are sent.
  void push(const char* p, uint32_t n, const core::IoBuf* buf = nullptr);
  // Starts sending the next range unless a send is in flight.
  void flush(transport::Transport& t);
  // The range in flight was sent: its size (its buffer released).
  uint32_t sent();
  bool empty() const { return pos_ >= segs_.size(); }
  uint32_t queued_bytes() const { return queued_; }
  void clear();  // releases every buffer still queued (connection gone)

 private:
  struct Segment {
    const char* p;
    uint32_t n;
    core::BufferOwner* owner;  // null: corral's own bytes
    uint16_t id;
  };
  std::vector<Segment> segs_;
  size_t pos_ = 0;
  uint32_t queued_ = 0;
};

}  // namespace corral::proxy
