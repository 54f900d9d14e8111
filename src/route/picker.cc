#include "corral/route/picker.h"

#include <algorithm>

namespace corral::route {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool has_room(const Backend& b, const Candidate& c) {
  return c.max_concurrent == 0 || b.inflight.load(std::memory_order_relaxed) < c.max_concurrent;
}

// Not tried yet and the circuit lets requests through (or would let a trial through).
bool usable(const Backend& b, const Candidate& c, const PickRequest& r, bool ignore_circuit) {
  if (r.tried && r.tried->test(c.slot)) return false;
  if (ignore_circuit) return true;
  Circuit st = circuit_state(b, r.now_ms);
  return st == Circuit::closed || (st == Circuit::half_open && !b.probing.load(std::memory_order_relaxed));
}

bool commit(Backend& b, const Candidate& c, uint64_t now_ms, bool ignore_circuit) {
  if (!try_admit(b, c.max_concurrent)) return false;
  if (ignore_circuit || circuit_allows(b, now_ms)) return true;
  release(b);
  return false;
}

// Rendezvous hashing over the group's usable candidates: the same conversation
// lands on the same backend while it is usable and has room.
bool pick_affine(const Candidate* const* group, size_t n, BackendTable& t, const PickRequest& r, Pick& out) {
  const Candidate* best = nullptr;
  uint64_t best_score = 0;
  for (size_t i = 0; i < n; ++i) {
    const Candidate& c = *group[i];
    if (!usable(t[c.slot], c, r, false)) continue;
    uint64_t score = mix(r.affinity ^ c.key_hash);
    if (!best || score > best_score) best = &c, best_score = score;
  }
  if (!best || !has_room(t[best->slot], *best) || !commit(t[best->slot], *best, r.now_ms, false)) return false;
  out = {PickStatus::ok, best->slot};
  return true;
}

// The less loaded of two random picks; a small tier is scanned whole (least
// in flight, ties broken by a random start), which is exact and just as cheap.
// routing.balance random: any of them.
size_t least_loaded(const Candidate* const* room, size_t n, BackendTable& t, uint64_t& rnd, bool random) {
  constexpr size_t kScanWhole = 8;
  if (n == 1) return 0;
  rnd = mix(rnd + 0x9e3779b97f4a7c15ull);
  if (random) return rnd % n;
  if (n <= kScanWhole) {
    size_t start = rnd % n, best = start;
    uint32_t best_load = t[room[best]->slot].inflight.load(std::memory_order_relaxed);
    for (size_t k = 1; k < n; ++k) {
      size_t j = (start + k) % n;  // every one once, from a random start
      uint32_t l = t[room[j]->slot].inflight.load(std::memory_order_relaxed);
      if (l < best_load) best = j, best_load = l;
    }
    return best;
  }
  size_t a = rnd % n, b = (rnd >> 32) % (n - 1);
  if (b >= a) ++b;
  uint32_t la = t[room[a]->slot].inflight.load(std::memory_order_relaxed);
  uint32_t lb = t[room[b]->slot].inflight.load(std::memory_order_relaxed);
  return lb < la ? b : a;
}

// One pick over a sorted candidate list; the state that carries across its groups.
struct Picking {
  BackendTable& t;
  const PickRequest& r;
  bool random;
  uint64_t rnd;
  bool ignore_circuit = false;
  const Candidate* first_full = nullptr;
  Pick out;
};

// A group of equally preferred candidates: the conversation's own (affinity),
// else the least loaded among those with room.
bool pick_group(const Candidate* const* group, size_t count, Picking& p) {
  if (p.r.affinity && !p.ignore_circuit && pick_affine(group, count, p.t, p.r, p.out)) return true;
  const Candidate* room[kMaxSlots];
  size_t n = 0;
  for (size_t i = 0; i < count; ++i) {
    const Candidate* c = group[i];
    if (!usable(p.t[c->slot], *c, p.r, p.ignore_circuit)) continue;
    if (has_room(p.t[c->slot], *c)) room[n++] = c;
    else if (!p.first_full) p.first_full = c;
  }
  while (n > 0) {
    size_t i = least_loaded(room, n, p.t, p.rnd, p.random);
    if (commit(p.t[room[i]->slot], *room[i], p.r.now_ms, p.ignore_circuit)) {
      p.out = {PickStatus::ok, room[i]->slot};
      return true;
    }
    if (!p.first_full) p.first_full = room[i];
    room[i] = room[--n];
  }
  return false;
}

// Consecutive candidates of equal tier from `list`, in order, until one is picked.
bool pick_by_tier(const Candidate* const* list, size_t n, Picking& p) {
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && list[j]->tier == list[i]->tier) ++j;
    if (pick_group(list + i, j - i, p)) return true;
    i = j;
  }
  return false;
}

// Any of them usable (full or not): the model runs there.
bool any_usable(const Candidate* const* list, size_t n, BackendTable& t, const PickRequest& r) {
  for (size_t i = 0; i < n; ++i) {
    if (usable(t[list[i]->slot], *list[i], r, false)) return true;
  }
  return false;
}

// Tiers in order; before the members that would have to load the model, those
// already loading it for an earlier request (when loaded-model preference is on).
// While the model runs somewhere, a second copy goes only where it fits beside
// what is loaded: making room would unload a model others are using, so the
// request waits for its own model instead.
Pick pick_from(const std::vector<Candidate>& cs, BackendTable& t, const PickRequest& r, const RoutingSnapshot& s) {
  Picking p{t, r, s.routing.balance_random, r.random, false, nullptr, {}};
  size_t cold = cs.size();  // the first candidate not loaded by /api/ps
  for (size_t i = 0; i < cs.size() && cold == cs.size(); ++i) {
    if (cs[i].tier >= kRoomTier) cold = i;
  }
  const Candidate* list[kMaxSlots];
  size_t loaded = 0, loading = 0, rest = 0;
  for (size_t i = 0; i < cold && loaded < kMaxSlots; ++i) list[loaded++] = &cs[i];
  if (pick_by_tier(list, loaded, p)) return p.out;  // the common case: loaded there, with room
  bool follow = s.routing.prefer_loaded && !r.model.empty() && !r.pull && r.backend.empty();
  if (follow) {
    for (size_t i = cold; i < cs.size() && loaded + loading < kMaxSlots; ++i) {
      if (is_loading(t[cs[i].slot], r.model, r.now_ms)) list[loaded + loading++] = &cs[i];
    }
  }
  bool running = follow && any_usable(list, loaded + loading, t, r);
  // Members just sent another model to load come last: the room they show may be taken.
  for (bool placed : {false, true}) {
    for (size_t i = cold; i < cs.size() && loaded + loading + rest < kMaxSlots; ++i) {
      if (running && cs[i].tier >= kEvictTier) break;
      uint64_t v = t[cs[i].slot].placed_version.load(std::memory_order_relaxed);
      if ((follow && v && v + 1 >= s.version) == placed) list[loaded + loading + rest++] = &cs[i];
    }
  }
  // Open circuits are skipped while another candidate is left; when every one is
  // open, they are tried anyway (as nginx never fails its last server).
  for (bool ignore_circuit : {false, true}) {
    p.ignore_circuit = ignore_circuit;
    if (ignore_circuit && pick_by_tier(list, loaded, p)) return p.out;
    if (pick_by_tier(list + loaded, loading, p)) return p.out;
    if (pick_by_tier(list + loaded + loading, rest, p)) {
      if (follow) {
        note_loading(t[p.out.slot], r.model, r.now_ms);
        t[p.out.slot].placed_version.store(s.version, std::memory_order_relaxed);
      }
      p.out.cold = !r.model.empty() && !r.pull && r.backend.empty();
      return p.out;
    }
    if (p.first_full) return {PickStatus::busy, p.first_full->slot};
  }
  return {PickStatus::unavailable, 0};
}

}  // namespace

const std::vector<Candidate>* candidates_for(const RoutingSnapshot& s, std::string_view model, PickStatus& why) {
  if (model.empty()) {
    why = PickStatus::unavailable;
    return &s.any;
  }
  if (const ModelRoute* route = s.route(model)) {
    why = route->too_big ? PickStatus::too_big : PickStatus::unavailable;
    return &route->candidates;
  }
  why = s.unknown_lists.empty() ? PickStatus::not_found : PickStatus::unavailable;
  return &s.unknown_lists;
}

Pick pick(const RoutingSnapshot& s, BackendTable& table, const PickRequest& r) {
  PickStatus why;
  const std::vector<Candidate>* cs;
  std::vector<Candidate> pulls;
  if (!r.backend.empty()) {
    for (const MemberView& m : s.members) {
      if (m.cfg.name == r.backend && m.healthy) pulls.push_back({m.slot, m.cfg.max_concurrent, 0, m.key_hash});
    }
    cs = &pulls;
    why = PickStatus::unavailable;
  } else if (r.pull) {
    pulls = pull_candidates(s, r.model);
    cs = &pulls;
    why = PickStatus::unavailable;
  } else {
    cs = candidates_for(s, r.model, why);
  }
  if (cs->empty()) return {why, 0};
  return pick_from(*cs, table, r, s);
}

std::vector<uint8_t> holders(const RoutingSnapshot& s, std::string_view model) {
  std::vector<uint8_t> out;
  bool bare = model.find(':') == std::string_view::npos;
  for (const MemberView& m : s.members) {
    if (!m.healthy) continue;
    for (const ModelInfo& mi : m.models) {
      std::string_view n = mi.name;
      if (n == model || (bare && n.starts_with(model) && n.substr(model.size()) == ":latest")) {
        out.push_back(m.slot);
        break;
      }
    }
  }
  return out;
}

int last_resort(const RoutingSnapshot& s, const SlotSet& tried) {
  const MemberView* best = nullptr;
  for (const MemberView& m : s.members) {
    if (m.cfg.enabled && !tried.test(m.slot) && (!best || m.cfg.priority < best->cfg.priority)) best = &m;
  }
  return best ? best->slot : -1;
}

std::vector<Candidate> pull_candidates(const RoutingSnapshot& s, std::string_view model) {
  const ModelRoute* route = s.route(model);
  MemoryEstimator memory(s.models_cfg);
  int64_t need = route && route->memory_bytes >= 0 ? route->memory_bytes : memory(model, -1);
  std::vector<Candidate> out;
  for (const MemberView& m : s.members) {
    if (!m.healthy || !m.cfg.enabled || !m.cfg.accept_pulls || !fits(m.cfg, need)) continue;
    bool has = std::any_of(m.models.begin(), m.models.end(), [&](const ModelInfo& mi) { return mi.name == model; });
    out.push_back({m.slot, m.cfg.max_concurrent, (has ? 0u : 1u << 20) + m.cfg.priority, m.key_hash});
  }
  std::stable_sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) { return a.tier < b.tier; });
  return out;
}

}  // namespace corral::route
