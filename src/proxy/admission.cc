#include "corral/proxy/admission.h"

namespace corral::proxy {

void AdmissionQueue::push(Waiter& w) {
  w.prev = tail_;
  w.next = nullptr;
  if (tail_) tail_->next = &w;
  else head_ = &w;
  tail_ = &w;
  w.queued = true;
  ++size_;
}

void AdmissionQueue::remove(Waiter& w) {
  if (!w.queued) return;
  if (w.prev) w.prev->next = w.next;
  else head_ = w.next;
  if (w.next) w.next->prev = w.prev;
  else tail_ = w.prev;
  w.prev = w.next = nullptr;
  w.queued = false;
  --size_;
}

}  // namespace corral::proxy
