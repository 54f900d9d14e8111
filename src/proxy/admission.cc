#include "corral/proxy/admission.h"

namespace corral::proxy {

void AdmissionQueue::push(Waiter& w) {
  Fifo& q = queues_[w.priority < kPriorities ? w.priority : kPriorities - 1];
  w.prev = q.tail;
  w.next = nullptr;
  if (q.tail) q.tail->next = &w;
  else q.head = &w;
  q.tail = &w;
  w.queued = true;
  ++size_;
}

void AdmissionQueue::remove(Waiter& w) {
  if (!w.queued) return;
  Fifo& q = queues_[w.priority < kPriorities ? w.priority : kPriorities - 1];
  if (w.prev) w.prev->next = w.next;
  else q.head = w.next;
  if (w.next) w.next->prev = w.prev;
  else q.tail = w.prev;
  w.prev = w.next = nullptr;
  w.queued = false;
  --size_;
}

Waiter* AdmissionQueue::shed_for(uint8_t priority) {
  for (int p = kPriorities - 1; p > priority; --p) {
    if (queues_[p].tail) return queues_[p].tail;
  }
  return nullptr;
}

}  // namespace corral::proxy
