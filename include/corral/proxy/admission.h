// Requests waiting for a place at a backend that is at max_concurrent: a
// bounded queue per worker, retried whenever a place frees up, higher-priority
// keys first (FIFO within a priority). Never unbounded: a full queue answers
// 503 with Retry-After, shedding its newest lowest-priority waiter first when a
// more important request arrives.
#pragma once
#include <cstddef>
#include <cstdint>

namespace corral::proxy {

class Session;

inline constexpr uint8_t kPriorities = 3;  // auth::Priority: high, normal, low

struct Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  Session* session = nullptr;
  int64_t since_us = 0;
  uint8_t first_choice = 0;  // the backend it counts as queued for
  uint8_t priority = 1;      // 0 is the most important
  bool queued = false;
};

class AdmissionQueue {
 public:
  void push(Waiter& w);
  void remove(Waiter& w);
  size_t size() const { return size_; }
  // The newest waiter of the lowest priority below `priority`, or null: the one to shed for it.
  Waiter* shed_for(uint8_t priority);
  // Calls f(session) for each waiter, most important first, FIFO within a
  // priority; f may remove the one it is given.
  template <typename F>
  void for_each(F&& f) {
    for (auto& q : queues_) {
      for (Waiter* w = q.head; w;) {
        Waiter* next = w->next;
        f(*w->session);
        w = next;
      }
    }
  }

 private:
  struct Fifo {
    Waiter* head = nullptr;
    Waiter* tail = nullptr;
  };
  Fifo queues_[kPriorities];
  size_t size_ = 0;
};

}  // namespace corral::proxy
