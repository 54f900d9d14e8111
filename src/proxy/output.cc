#include "corral/proxy/output.h"

namespace corral::proxy {

void ClientOutput::push(const char* p, uint32_t n, const core::IoBuf* buf) {
  segs_.push_back({p, n, buf ? buf->owner : nullptr, buf ? buf->id : uint16_t(0)});
  queued_ += n;
}

void ClientOutput::flush(transport::Transport& t) {
  if (t.send_busy() || empty() || !t.is_open()) return;
  const Segment& s = segs_[pos_];
  t.send(s.p, s.n);
}

uint32_t ClientOutput::sent() {
  Segment s = segs_[pos_++];
  queued_ -= s.n;
  if (s.owner) s.owner->release(s.id);
  if (pos_ == segs_.size()) {
    segs_.clear();
    pos_ = 0;
  }
  return s.n;
}

void ClientOutput::clear() {
  for (size_t i = pos_; i < segs_.size(); ++i) {
    if (segs_[i].owner) segs_[i].owner->release(segs_[i].id);
  }
  segs_.clear();
  pos_ = 0;
  queued_ = 0;
}

}  // namespace corral::proxy
