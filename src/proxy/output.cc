#include "corral/proxy/output.h"

namespace corral::proxy {
namespace {
constexpr size_t kKeepSegments = 16;  // what an ordinary answer queues at once
}  // namespace

void ClientOutput::push(const char* p, uint32_t n, const core::IoBuf* buf) {
  segs_.push_back({p, n, buf ? buf->owner : nullptr, buf ? buf->id : uint16_t(0), false});
  queued_ += n;
}

void ClientOutput::push_owned(std::string bytes) {
  if (bytes.empty()) return;
  if (!owned_) owned_ = std::make_unique<std::deque<std::string>>();
  owned_->push_back(std::move(bytes));
  const std::string& s = owned_->back();  // a deque keeps its elements in place as it grows
  segs_.push_back({s.data(), static_cast<uint32_t>(s.size()), nullptr, 0, true});
  queued_ += static_cast<uint32_t>(s.size());
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
  if (s.owned) owned_->pop_front();
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
  if (owned_) owned_->clear();
  pos_ = 0;
  queued_ = 0;
}

void ClientOutput::trim() {
  if (!empty()) return;
  owned_.reset();
  if (segs_.capacity() > kKeepSegments) std::vector<Segment>().swap(segs_);
}

}  // namespace corral::proxy
