// Requests waiting for a place at a backend that is at max_concurrent: a
// bounded FIFO per worker, retried whenever a place frees up. Never unbounded:
// a full queue answers 503 with Retry-After.
#pragma once
#include <cstddef>
#include <cstdint>

namespace corral::proxy {

class Session;

struct Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  Session* session = nullptr;
  int64_t since_us = 0;
  uint8_t first_choice = 0;  // the backend it counts as queued for
  bool queued = false;
};

class AdmissionQueue {
 public:
  void push(Waiter& w);
  void remove(Waiter& w);
  size_t size() const { return size_; }
  // Calls f(session) for each waiter in order; f may remove the one it is given.
  template <typename F>
  void for_each(F&& f) {
    for (Waiter* w = head_; w;) {
      Waiter* next = w->next;
      f(*w->session);
      w = next;
    }
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace corral::proxy
