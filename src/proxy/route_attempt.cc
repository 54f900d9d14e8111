#include "corral/proxy/route_attempt.h"

#include <algorithm>

#include "corral/core/clock.h"
#include "corral/proxy/context.h"

namespace corral::proxy {

void RouteAttempt::begin() {
  tried_.reset();
  attempts_ = 0;
  fail_status_ = 0;
  fail_why_.reset();
}

route::Pick RouteAttempt::pick(WorkerContext& ctx, const RouteQuestion& q, int skip) const {
  const route::RoutingSnapshot& s = ctx.snapshot();
  route::SlotSet tried = tried_;
  if (skip >= 0) tried.set(static_cast<size_t>(skip));
  route::PickRequest pr;
  pr.model = q.model;
  pr.pull = q.pull;
  pr.affinity = s.routing.affinity ? q.affinity : 0;
  pr.backend = q.pull ? q.pinned_backend : std::string_view();
  pr.tried = &tried;
  pr.now_ms = static_cast<uint64_t>(core::mono_us() / 1000);
  pr.random = ctx.random();
  return route::pick(s, *ctx.fleet->table, pr);
}

void RouteAttempt::weigh(WorkerContext& ctx, std::string_view backend, std::string_view model, int complexity) {
  fleet::ScalingLoad* load = ctx.fleet->scaling;
  if (!load || weighed_group_ >= 0) return;
  int g = load->group_of(backend);
  if (g < 0) return;
  weighed_group_ = static_cast<int16_t>(g);
  weight_milli_ = load->weight_milli(g, model, complexity);
  load->add(g, weight_milli_);
}

bool RouteAttempt::take_fleet_place(WorkerContext& ctx) {
  uint32_t limit = ctx.cfg->max_in_flight;
  if (limit == 0 || fleet_place_) return true;
  std::atomic<uint32_t>& n = ctx.fleet->in_flight;
  uint32_t cur = n.load(std::memory_order_relaxed);
  while (cur < limit) {
    if (n.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed)) return fleet_place_ = true;
  }
  return false;
}

void RouteAttempt::release(WorkerContext& ctx) {
  if (weighed_group_ >= 0) {
    ctx.fleet->scaling->add(weighed_group_, -weight_milli_);
    weighed_group_ = -1;
  }
  bool others = false;  // whether waiters elsewhere may take what is given back
  if (fleet_place_) {
    fleet_place_ = false;
    ctx.fleet->in_flight.fetch_sub(1, std::memory_order_relaxed);
    others = ctx.fleet->waiting.load(std::memory_order_relaxed) > 0;
  }
  if (admitted_ >= 0) {
    route::Backend& b = ctx.backend(static_cast<uint8_t>(admitted_));
    admitted_ = -1;
    route::release(b);
    others = others || b.queued.load(std::memory_order_relaxed) > 0;
  } else if (!others) {
    return;
  }
  if (ctx.waiting.size()) ctx.loop->wake();
  if (others) wake_other_workers(ctx);
}

// The place goes to the more important waiter wherever it waits: not waking this
// worker for a retry of its own (outranked) waiters keeps them from spinning.
bool RouteAttempt::yield_to_higher(WorkerContext& ctx, uint8_t slot, uint8_t priority, bool queued) {
  route::Backend& b = ctx.backend(slot);
  if (!route::outranked(b, priority)) return false;
  route::release(b);
  if (!queued && ctx.waiting.size()) ctx.loop->wake();
  wake_other_workers(ctx);
  return true;
}

void RouteAttempt::wake_other_workers(WorkerContext& ctx) {
  for (const auto& slot : ctx.fleet->loops) {
    core::Loop* l = slot.load(std::memory_order_acquire);
    if (l && l != ctx.loop) l->wake();
  }
}

void RouteAttempt::failed(uint8_t slot, int status, std::string why) {
  tried_.set(slot);
  ++attempts_;
  fail_status_ = status;
  if (fail_why_) *fail_why_ = std::move(why);
  else fail_why_ = std::make_unique<std::string>(std::move(why));
}

void RouteAttempt::enqueue(WorkerContext& ctx, Session& s, uint8_t first_choice, uint8_t priority) {
  waiter_.session = &s;
  waiter_.first_choice = first_choice;
  waiter_.priority = priority;
  waiter_.since_us = core::mono_us();
  if (first_choice != kNoBackend) {  // waiting for a backend that is not up yet counts for none
    route::Backend& b = ctx.backend(first_choice);
    b.queued.fetch_add(1, std::memory_order_relaxed);
    b.queued_by_priority[std::min<size_t>(priority, b.queued_by_priority.size() - 1)].fetch_add(
        1, std::memory_order_relaxed);
    metrics::bump(ctx.metrics->queue_in[first_choice]);
  }
  if (ctx.cfg->max_in_flight) {
    counted_waiting_ = true;
    ctx.fleet->waiting.fetch_add(1, std::memory_order_relaxed);
  }
  ctx.waiting.push(waiter_);
}

void RouteAttempt::leave_queue(WorkerContext& ctx) {
  if (!waiter_.queued) return;
  ctx.waiting.remove(waiter_);
  if (counted_waiting_) {
    counted_waiting_ = false;
    ctx.fleet->waiting.fetch_sub(1, std::memory_order_relaxed);
  }
  if (waiter_.first_choice != kNoBackend) {
    route::Backend& b = ctx.backend(waiter_.first_choice);
    b.queued.fetch_sub(1, std::memory_order_relaxed);
    b.queued_by_priority[std::min<size_t>(waiter_.priority, b.queued_by_priority.size() - 1)].fetch_sub(
        1, std::memory_order_relaxed);
    metrics::bump(ctx.metrics->queue_out[waiter_.first_choice]);
  }
  ctx.metrics->queue_wait.observe(1, double(core::mono_us() - waiter_.since_us) / 1e6);
}

}  // namespace corral::proxy
