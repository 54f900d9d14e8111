#include "corral/route/snapshot.h"

#include <algorithm>
#include <regex>

namespace corral::route {
namespace {

Candidate candidate(const MemberView& m, uint32_t tier) {
  return {m.slot, m.cfg.max_concurrent, tier + m.cfg.priority, m.key_hash};
}

// A member that has room for the model (`gb`: memory left over) or must make
// room (`gb`: memory to free): by priority, then the fewest GB, whole, so that
// big holes stay for big models and as little as possible is unloaded; equals
// are then balanced by outstanding requests.
Candidate fit_candidate(const MemberView& m, uint32_t tier, int64_t bytes) {
  uint32_t gb = static_cast<uint32_t>(std::clamp<int64_t>((bytes + 999999999) / 1000000000, 0, 1023));
  return {m.slot, m.cfg.max_concurrent, tier + std::min<uint32_t>(m.cfg.priority, 1023) * 1024 + gb, m.key_hash};
}

bool loaded_on(const MemberView& m, std::string_view model) {
  for (const LoadedModel& l : m.loaded) {
    if (l.name == model) return true;
  }
  return false;
}

bool routable(const MemberView& m) { return m.healthy && m.cfg.enabled; }

// Memory left beside the models in the member's /api/ps (0 once it holds
// max_loaded_models); -1 without max_memory_gb.
int64_t free_memory(const MemberView& m) {
  if (m.cfg.max_memory_gb <= 0) return -1;
  if (m.cfg.max_loaded_models && m.loaded.size() >= m.cfg.max_loaded_models) return 0;
  int64_t used = 0;
  for (const LoadedModel& l : m.loaded) used += l.size_vram > 0 ? l.size_vram : l.size;
  return static_cast<int64_t>(m.cfg.max_memory_gb * 1e9) - used;
}

// The bare name of a ":latest" model, which clients may use too; empty otherwise.
std::string_view bare_alias(std::string_view name) {
  constexpr std::string_view kLatest = ":latest";
  return name.ends_with(kLatest) ? name.substr(0, name.size() - kLatest.size()) : std::string_view();
}

using RouteMap = std::unordered_map<std::string, ModelRoute, StringHash, std::equal_to<>>;

void add_assignments(RouteMap& routes, const std::vector<MemberView>& members, const config::Config& cfg) {
  for (const auto& [model, backend] : cfg.models.assignments) {
    ModelRoute r;
    r.assigned = true;
    for (const MemberView& m : members) {
      if (m.cfg.name == backend && routable(m)) r.candidates.push_back(candidate(m, 0));
    }
    routes[model] = r;
  }
}

void add_reported(RouteMap& routes, const std::vector<MemberView>& members, const MemoryEstimator& memory,
                  bool prefer_loaded) {
  std::unordered_map<std::string_view, bool> unfit;  // model → present somewhere it does not fit
  for (const MemberView& m : members) {
    if (!m.models_known) continue;
    int64_t free = free_memory(m);
    for (const ModelInfo& mi : m.models) {
      ModelRoute& r = routes[mi.name];
      if (r.assigned) continue;
      if (r.memory_bytes < 0) r.memory_bytes = memory(mi.name, mi.size);
      if (!routable(m)) continue;
      if (!fits(m.cfg, r.memory_bytes)) {
        unfit[mi.name] = true;
        continue;
      }
      // Loaded: no load to wait for (without prefer_loaded: as good as room for it, needing none).
      bool loaded = loaded_on(m, mi.name), known = free >= 0 && r.memory_bytes >= 0;
      std::vector<Candidate>& cs = r.candidates;
      if (loaded && prefer_loaded) cs.push_back(candidate(m, kLoadedTier));
      else if (loaded) cs.push_back(free < 0 ? candidate(m, kPresentTier) : fit_candidate(m, kRoomTier, free));
      else if (!known) cs.push_back(candidate(m, kPresentTier));
      else if (r.memory_bytes <= free) cs.push_back(fit_candidate(m, kRoomTier, free - r.memory_bytes));
      else cs.push_back(fit_candidate(m, kEvictTier, r.memory_bytes - free));
    }
  }
  for (auto& [name, r] : routes) {
    if (!r.assigned && r.candidates.empty() && unfit.count(name)) r.too_big = true;
  }
}

}  // namespace

struct MemoryEstimator::Pattern {
  std::regex re;
  int64_t bytes;
};

MemoryEstimator::MemoryEstimator(const config::ModelsConfig& cfg) : cfg_(cfg) {
  for (const config::MemoryPattern& p : cfg.memory_patterns) {
    patterns_.push_back(
        std::make_shared<Pattern>(Pattern{std::regex(p.pattern), static_cast<int64_t>(p.memory_gb * 1e9)}));
  }
}

int64_t MemoryEstimator::operator()(std::string_view model, int64_t reported) const {
  if (reported > 0) return reported;
  std::string_view bare = bare_alias(model);
  for (const auto& [name, gb] : cfg_.memory_overrides) {
    if (name == model || (!bare.empty() && name == bare)) return static_cast<int64_t>(gb * 1e9);
  }
  std::string m(model);
  for (const auto& p : patterns_) {
    if (std::regex_match(m, p->re)) return p->bytes;
  }
  return -1;
}

bool fits(const config::BackendConfig& b, int64_t memory_bytes) {
  return b.max_memory_gb <= 0 || memory_bytes < 0 || static_cast<double>(memory_bytes) <= b.max_memory_gb * 1e9;
}

const ModelRoute* RoutingSnapshot::route(std::string_view model) const {
  auto it = models.find(model);
  if (it == models.end() && !bare_alias(model).empty())
    it = models.find(bare_alias(model));  // "x:latest" assigned as "x"
  return it == models.end() ? nullptr : &it->second;
}

std::shared_ptr<const RoutingSnapshot> build_snapshot(std::vector<MemberView> members, const config::Config& cfg,
                                                      uint64_t version, std::vector<LifecycleView> lifecycles,
                                                      std::vector<ScalingView> scaling) {
  auto s = std::make_shared<RoutingSnapshot>();
  s->version = version;
  s->lifecycles = std::move(lifecycles);
  s->scaling = std::move(scaling);
  s->routing = cfg.routing;
  s->models_cfg = cfg.models;
  s->members = std::move(members);
  std::fill(std::begin(s->member_of_slot), std::end(s->member_of_slot), int16_t{-1});
  for (size_t i = 0; i < s->members.size(); ++i) s->member_of_slot[s->members[i].slot] = static_cast<int16_t>(i);

  MemoryEstimator memory(s->models_cfg);
  add_assignments(s->models, s->members, cfg);
  add_reported(s->models, s->members, memory, cfg.routing.prefer_loaded);
  for (const MemberView& m : s->members) {
    if (!routable(m)) continue;
    s->any.push_back(candidate(m, 0));
    if (!m.models_known) s->unknown_lists.push_back(candidate(m, kUnknownTier));
  }
  auto by_tier = [](const Candidate& a, const Candidate& b) { return a.tier < b.tier; };
  std::stable_sort(s->any.begin(), s->any.end(), by_tier);
  std::vector<std::pair<std::string, ModelRoute>> aliases;
  for (auto& [name, r] : s->models) {
    if (!r.assigned) r.candidates.insert(r.candidates.end(), s->unknown_lists.begin(), s->unknown_lists.end());
    std::stable_sort(r.candidates.begin(), r.candidates.end(), by_tier);
    std::string_view bare = bare_alias(name);
    if (!bare.empty() && !s->models.count(bare)) aliases.emplace_back(std::string(bare), r);
  }
  for (auto& [name, r] : aliases) s->models.emplace(std::move(name), std::move(r));
  return s;
}

const LifecycleView* RoutingSnapshot::on_demand_for(std::string_view model) const {
  if (model.empty()) return nullptr;
  std::string tagged = model.find(':') == std::string_view::npos ? std::string(model) + ":latest" : std::string();
  for (const LifecycleView& l : lifecycles) {
    if (!l.on_demand || l.ready()) continue;
    const ModelRoute* r = route(model);
    if (l.models.empty() && (!r || r->candidates.empty())) return &l;
    for (const std::string& m : l.models) {
      if (m == model || m == tagged) return &l;
    }
  }
  return nullptr;
}

const LifecycleView* RoutingSnapshot::lifecycle(std::string_view backend) const {
  for (const LifecycleView& l : lifecycles) {
    if (l.name == backend) return &l;
  }
  return nullptr;
}

}  // namespace corral::route
