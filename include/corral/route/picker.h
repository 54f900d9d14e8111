// Choosing the backend for one request (on the worker, lock-free): explicit
// assignment, else the model's candidates in preference order (loaded, then
// priority), least outstanding requests among equals (a tier of up to 8
// compared whole, else power of two choices), admission against max_concurrent, circuit breaker, failover exclusions
// and optional session affinity. Measured in bench/micro (BM_Pick*).
#pragma once
#include <bitset>
#include <cstdint>
#include <string_view>
#include <vector>

#include "corral/route/backend.h"
#include "corral/route/snapshot.h"

namespace corral::route {

using SlotSet = std::bitset<256>;

struct PickRequest {
  std::string_view model;  // empty: any backend will do
  bool pull = false;       // /api/pull, /api/create: where it fits best, not where it is
  uint64_t affinity = 0;   // 0: none; else keep equal hashes on one backend
  const SlotSet* tried = nullptr;
  uint64_t now_ms = 0;
  uint64_t random = 0;       // a fresh random number per call
  std::string_view backend;  // X-Corral-Backend: only members of this configured backend
};

enum class PickStatus : uint8_t {
  ok,           // slot admitted (release() it when done)
  busy,         // candidates exist but are all at max_concurrent: queue and retry
  not_found,    // no member has the model
  too_big,      // members have it, none with enough max_memory_gb
  unavailable,  // members have it but none is healthy / closed-circuit / untried
};

struct Pick {
  PickStatus status = PickStatus::unavailable;
  uint8_t slot = 0;  // ok: the backend; busy: the first choice (for queue accounting)
  // ok: the backend's /api/ps did not list the model and no earlier request is
  // loading it there: this one starts a load (rediscover soon, so routing sees it).
  bool cold = false;
};

Pick pick(const RoutingSnapshot& s, BackendTable& table, const PickRequest& r);

// When no member is healthy: the best enabled member not tried yet (the connect
// tells the truth), or -1.
int last_resort(const RoutingSnapshot& s, const SlotSet& tried);

// Healthy members whose model list has the model (for /api/delete, /api/copy).
std::vector<uint8_t> holders(const RoutingSnapshot& s, std::string_view model);

// Candidates for a pull/create of `model`: accepts pulls, healthy, fits; has it first, then priority.
std::vector<Candidate> pull_candidates(const RoutingSnapshot& s, std::string_view model);

// The candidates a model-bearing request considers (nullptr: none known).
const std::vector<Candidate>* candidates_for(const RoutingSnapshot& s, std::string_view model, PickStatus& why);

}  // namespace corral::route
