// What goes out to the client, in order: byte ranges that are either corral's
// own (a head it wrote), a backend's receive buffer (sent as it is and
// released once sent), or bytes corral made for this answer (a translated
// chunk) and owns until they are sent. One send in flight at a time.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "corral/core/loop.h"
#include "corral/transport/transport.h"

namespace corral::proxy {

class ClientOutput {
 public:
  // Queues n bytes at p; buf (may be null) is released once they are sent.
  void push(const char* p, uint32_t n, const core::IoBuf* buf = nullptr);
  // Queues bytes the output keeps until they are sent.
  void push_owned(std::string bytes);
  // Starts sending the next range unless a send is in flight.
  void flush(transport::Transport& t);
  // The range in flight was sent: its size (its buffer released).
  uint32_t sent();
  bool empty() const { return pos_ >= segs_.size(); }
  uint32_t queued_bytes() const { return queued_; }
  void clear();  // releases every buffer still queued (connection gone)
  void trim();   // nothing queued: gives back the owned bytes' deque and a segment list grown past a few

 private:
  struct Segment {
    const char* p;
    uint32_t n;
    core::BufferOwner* owner;  // null: corral's own bytes
    uint16_t id;
    bool owned;  // the front of owned_
  };
  std::vector<Segment> segs_;
  // In the order their segments go out (a deque keeps them in place as it grows, so a send in
  // flight keeps its bytes); made on first use: libstdc++'s deque allocates 576 bytes when
  // constructed, and most answers own no bytes.
  std::unique_ptr<std::deque<std::string>> owned_;
  uint32_t pos_ = 0;
  uint32_t queued_ = 0;
};

}  // namespace corral::proxy
