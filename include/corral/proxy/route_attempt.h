// Routing one request across the fleet: which backends were tried, how many
// attempts, the admission place it holds, its place in the wait queue, and the
// last failure to relay when no backend is left. The PickRequest is built here
// and only here, so every attempt (first pick, failover, queue retry) asks the
// picker the same question.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "corral/proxy/admission.h"
#include "corral/route/picker.h"

namespace corral::proxy {

struct WorkerContext;

// What routing needs to know about the request.
struct RouteQuestion {
  std::string_view model;
  bool pull = false;
  uint64_t affinity = 0;
  std::string_view pinned_backend;  // X-Corral-Backend on pull-like requests
};

// A waiter's first choice when it waits for an on-demand backend to come up.
inline constexpr uint8_t kNoBackend = 255;

class RouteAttempt {
 public:
  void begin();  // a new request: nothing tried, nothing held
  // Picks among the candidates not tried yet, also skipping `skip` (>= 0).
  route::Pick pick(WorkerContext& ctx, const RouteQuestion& q, int skip = -1) const;
  void admitted(uint8_t slot) { admitted_ = slot; }
  // A place under limits.max_in_flight, held until release(); true also when there is no limit.
  bool take_fleet_place(WorkerContext& ctx);
  void release(WorkerContext& ctx);  // gives back the admission place and the scaling weight, wakes waiters
  // The place just taken on slot, given back when a more important request (on
  // any worker) waits for that backend: it leaves its queue first. True then.
  bool yield_to_higher(WorkerContext& ctx, uint8_t slot, uint8_t priority, bool queued);
  // Counts the request in the scaling load of `backend`'s group, once, until release().
  void weigh(WorkerContext& ctx, std::string_view backend, std::string_view model, int complexity);
  // The attempt on slot failed before any response byte reached the client.
  void failed(uint8_t slot, int status, std::string why);
  bool attempts_left(uint32_t max_attempts) const { return attempts_ < max_attempts; }
  bool any_failed() const { return attempts_ > 0; }
  uint8_t attempts() const { return attempts_; }
  const route::SlotSet& tried() const { return tried_; }
  int fail_status() const { return fail_status_; }
  std::string fail_why() const { return fail_why_ ? *fail_why_ : std::string(); }

  void enqueue(WorkerContext& ctx, Session& s, uint8_t first_choice, uint8_t priority);
  void leave_queue(WorkerContext& ctx);
  bool queued() const { return waiter_.queued; }

 private:
  static void wake_other_workers(WorkerContext& ctx);

  route::SlotSet tried_;
  uint8_t attempts_ = 0;
  int16_t admitted_ = -1;         // backend slot whose admission place this request holds
  bool fleet_place_ = false;      // holds one of limits.max_in_flight's places
  bool counted_waiting_ = false;  // counted in Fleet::waiting
  int16_t weighed_group_ = -1;    // scaling group this request is counted in
  int64_t weight_milli_ = 0;
  int fail_status_ = 0;
  std::unique_ptr<std::string> fail_why_;  // made on a failure (most requests have none)
  Waiter waiter_;
};

}  // namespace corral::proxy
