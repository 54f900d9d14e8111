// The immutable routing snapshot: what the control thread knows about every
// fleet member (health, models, loaded models) turned into per-model candidate
// lists in preference order. Built on the control thread, published with a
// version number; workers swap their copy when the version moves, never lock
// on the request path.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "corral/api/endpoint.h"
#include "corral/config/config.h"
#include "corral/core/published.h"
#include "corral/route/lifecycle.h"
#include "corral/transport/tls.h"

namespace corral::route {

struct ModelInfo {
  std::string name;
  int64_t size = 0;  // bytes, from /api/tags
};

struct LoadedModel {
  std::string name;
  int64_t size = 0;
  int64_t size_vram = 0;
  std::string expires_at;
};

// One member as the control thread last saw it.
struct MemberView {
  uint8_t slot = 0;
  config::BackendConfig cfg;                         // the configured backend (shared by a DNS backend's members)
  std::shared_ptr<transport::TlsClientContext> tls;  // https:// backends: verification and resumed sessions
  std::string address;                               // ip:port
  bool healthy = false;
  bool models_known = false;  // /api/tags answered
  std::vector<ModelInfo> models;
  std::vector<LoadedModel> loaded;  // /api/ps
  std::string version;
  double latency_ms = -1;
  std::string last_error;
  int64_t last_seen_unix = 0;
  uint64_t key_hash = 0;  // for affinity (rendezvous hashing)
};

// The API a configured backend speaks.
inline api::Dialect dialect_of(const config::BackendConfig& b) {
  switch (b.kind) {
    case config::BackendKind::openai:
      return api::Dialect::openai;
    case config::BackendKind::anthropic:
      return api::Dialect::anthropic;
    case config::BackendKind::ollama:
      break;
  }
  return api::Dialect::ollama;
}

struct Candidate {
  uint8_t slot;
  uint32_t max_concurrent;  // 0 = unlimited
  uint32_t tier;            // lower is preferred: one of the tiers below, plus priority
  uint64_t key_hash;
};

// Candidate tiers: the model is loaded there (/api/ps); it would fit beside what is
// loaded (max_memory_gb less their size_vram); it is there (room unknown: no
// max_memory_gb); it is there, but room would have to be made; the member's model
// list is unknown.
inline constexpr uint32_t kLoadedTier = 0, kRoomTier = 1u << 20, kPresentTier = 2u << 20, kEvictTier = 3u << 20,
                          kUnknownTier = 4u << 20;

struct ModelRoute {
  std::vector<Candidate> candidates;  // healthy, enabled, fitting; by tier
  int64_t memory_bytes = -1;          // -1: unknown
  bool assigned = false;              // models.assignments named the backend
  bool too_big = false;               // someone has it, but no healthy member fits it
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct RoutingSnapshot {
  uint64_t version = 0;
  std::vector<MemberView> members;
  int16_t member_of_slot[256];  // index into members, -1 when the slot is not a member now
  std::unordered_map<std::string, ModelRoute, StringHash, std::equal_to<>> models;  // tagged and bare ":latest" names
  std::vector<Candidate> any;            // healthy enabled members by priority: requests without a model
  std::vector<Candidate> unknown_lists;  // healthy members whose model list is unknown: tried for any model
  config::RoutingConfig routing;
  config::ModelsConfig models_cfg;
  std::vector<LifecycleView> lifecycles;  // supervised and on-demand backends
  std::vector<ScalingView> scaling;       // scaling groups' last decisions

  const MemberView* member(uint8_t slot) const {
    return member_of_slot[slot] < 0 ? nullptr : &members[static_cast<size_t>(member_of_slot[slot])];
  }
  const ModelRoute* route(std::string_view model) const;
  // An on-demand backend that is not up but would serve `model`: its models list
  // names it, or lists nothing and no running member has the model.
  const LifecycleView* on_demand_for(std::string_view model) const;
  const LifecycleView* lifecycle(std::string_view backend) const;
};

// Memory a model needs: reported size → memory_overrides → memory_patterns; -1
// unknown. 1 GB = 10^9 bytes, as `ollama list` shows sizes.
class MemoryEstimator {
 public:
  explicit MemoryEstimator(const config::ModelsConfig& cfg);
  int64_t operator()(std::string_view model, int64_t reported) const;

 private:
  struct Pattern;
  const config::ModelsConfig& cfg_;
  std::vector<std::shared_ptr<Pattern>> patterns_;
};
bool fits(const config::BackendConfig& b, int64_t memory_bytes);

// Builds the per-model candidate lists from the members' state.
std::shared_ptr<const RoutingSnapshot> build_snapshot(std::vector<MemberView> members, const config::Config& cfg,
                                                      uint64_t version, std::vector<LifecycleView> lifecycles = {},
                                                      std::vector<ScalingView> scaling = {});

// Where the current snapshot lives. Workers keep a copy and reload it only when
// version() moved: one relaxed-acquire load per request.
class SnapshotBox : public core::Published<const RoutingSnapshot> {
 public:
  void publish(std::shared_ptr<const RoutingSnapshot> s) {
    uint64_t v = s->version;
    Published::publish(std::move(s), v);
  }
};

}  // namespace corral::route
