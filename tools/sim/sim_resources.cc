#include "sim_resources.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace sim {

// What one slot's KV cache holds: the prompt it evaluated last and the reply it generated.
struct Slot {
  bool busy = false;
  int64_t last_used = 0;
  std::vector<uint64_t> hash;
  std::vector<int64_t> tokens;
  int64_t reply_tokens = 0;
};

// One model in (or on its way into) VRAM.
struct Runner {
  std::string model;
  int64_t size = 0;
  int64_t load_started = 0, ready_at = 0, last_used = 0;
  int64_t keep_alive_ms = 0;
  bool evict_when_idle = false;  // chosen to make room: unloaded once its requests are done
  int active = 0;                // tickets in a slot
  std::deque<Ticket*> waiting;   // given to this model, waiting for a slot
  std::vector<Slot> slots;
};

namespace {

// CPU layers are this much slower than GPU ones (a model bigger than VRAM runs partly on CPU).
constexpr double kCpuPenalty = 10;

void erase(std::deque<Ticket*>& q, Ticket* t) {
  auto it = std::find(q.begin(), q.end(), t);
  if (it != q.end()) q.erase(it);
}

}  // namespace

Ticket::~Ticket() { res_.release(*this, res_.clock_); }

Resources::Resources(const ResourceOptions& o) : o_(o), vram_bytes_(static_cast<int64_t>(o.vram_gb * 1e9)) {}

Resources::~Resources() = default;

int64_t Resources::wall(double model_ms) const { return std::llround(model_ms * 1e6 * o_.time_scale); }

int64_t Resources::to_model(int64_t wall_ns) const { return std::llround(double(wall_ns) / o_.time_scale); }

int64_t Resources::vram_used() const {
  int64_t used = 0;
  for (const auto& r : runners_) used += std::min(r->size, vram_bytes_);
  return used;
}

Runner* Resources::find(const std::string& model) const {
  for (const auto& r : runners_) {
    if (r->model == model) return r.get();
  }
  return nullptr;
}

bool Resources::idle(const Runner& r) const { return r.active == 0 && r.waiting.empty(); }

// Below max_loaded and within VRAM; a model bigger than VRAM loads only alone (partly on CPU).
bool Resources::fits(int64_t size) const {
  if (runners_.empty()) return true;
  if (static_cast<int>(runners_.size()) >= o_.max_loaded) return false;
  int64_t used = 0;
  for (const auto& r : runners_) used += r->size;
  return used + size <= vram_bytes_;
}

double Resources::slowdown(const Runner& r) const {
  double f = 1 + o_.slot_slowdown * std::max(0, busy_ - 1);
  if (r.size > vram_bytes_ && r.size > 0) f *= 1 + (kCpuPenalty - 1) * double(r.size - vram_bytes_) / double(r.size);
  return f;
}

int64_t Resources::token_ns(const Ticket& t, int64_t base_ms) const {
  return t.runner_ ? wall(double(base_ms) * slowdown(*t.runner_)) : wall(double(base_ms));
}

bool Resources::admit(Ticket& t, int64_t now) {
  clock_ = std::max(clock_, now);
  expire(now);
  schedule(now);
  if (waiting_ >= o_.max_queue) {
    t.state_ = Ticket::State::refused;
    ++stats_.refused;
    return false;
  }
  t.admitted_at = now;
  t.state_ = Ticket::State::queued;
  pending_.push_back(&t);
  ++waiting_;
  schedule(now);
  return true;
}

void Resources::release(Ticket& t, int64_t now) {
  clock_ = std::max(clock_, now);
  Ticket::State was = t.state_;
  t.state_ = Ticket::State::done;
  t.wake_ = nullptr;
  switch (was) {
    case Ticket::State::queued:
      erase(pending_, &t);
      --waiting_;
      break;
    case Ticket::State::assigned:
      erase(t.runner_->waiting, &t);
      --waiting_;
      idle_check(*t.runner_, now);
      break;
    case Ticket::State::running: {
      Runner& r = *t.runner_;
      Slot& s = r.slots[static_cast<size_t>(t.slot_)];
      s.busy = false;
      s.last_used = now;
      s.hash = t.job_.prefix_hash;
      s.tokens = t.job_.prefix_tokens;
      s.reply_tokens = t.job_.tokens;
      --r.active;
      --busy_;
      r.last_used = now;
      fill_slots(r, now);
      idle_check(r, now);
      break;
    }
    default:
      return;
  }
  t.runner_ = nullptr;
  schedule(now);
}

// Ollama's scheduler: requests are placed in arrival order. A model that is
// loaded (or loading) takes its requests; a new one loads when it fits, else the
// least recently used idle model is unloaded; when none is idle, the least
// recently used is marked to go once idle, and everything waits until it has.
void Resources::schedule(int64_t now) {
  while (!blocked_ && !pending_.empty()) {
    Ticket& t = *pending_.front();
    Runner* r = find(t.job_.model);
    if (!r && fits(t.job_.size)) r = start_load(t.job_, now);
    if (r) {
      pending_.pop_front();
      assign(t, *r, now);
      continue;
    }
    Runner* victim = nullptr;
    for (const auto& x : runners_) {
      if (idle(*x) && (!victim || x->last_used < victim->last_used)) victim = x.get();
    }
    if (victim) {
      drop(*victim, stats_.evictions);
      continue;
    }
    bool marked = std::any_of(runners_.begin(), runners_.end(), [](const auto& x) { return x->evict_when_idle; });
    if (!marked) {
      auto lru = std::min_element(runners_.begin(), runners_.end(),
                                  [](const auto& a, const auto& b) { return a->last_used < b->last_used; });
      (*lru)->evict_when_idle = true;
    }
    blocked_ = true;
  }
}

Runner* Resources::start_load(const Job& j, int64_t now) {
  auto r = std::make_unique<Runner>();
  r->model = j.model;
  r->size = j.size;
  r->load_started = r->last_used = now;
  double load_ms = double(j.size) / 1e9 * o_.load_s_per_gb * 1000;
  r->ready_at = now + wall(load_ms);
  r->keep_alive_ms = j.keep_alive_ms;
  r->slots.resize(static_cast<size_t>(o_.num_parallel));
  ++stats_.loads;
  stats_.load_ns += std::llround(load_ms * 1e6);
  runners_.push_back(std::move(r));
  return runners_.back().get();
}

bool Resources::preload(const std::string& model, int64_t size, int64_t now) {
  if (find(model)) return true;
  if (!fits(size)) return false;
  Job j;
  j.model = model;
  j.size = size;
  j.keep_alive_ms = o_.keep_alive_ms;
  ResourceStats before = stats_;  // present at start: not a cold load
  start_load(j, now)->ready_at = now;
  stats_ = before;
  return true;
}

void Resources::unload(const std::string& model, int64_t now) {
  clock_ = std::max(clock_, now);
  Runner* r = find(model);
  if (!r) return;
  r->keep_alive_ms = 0;
  idle_check(*r, now);
  schedule(now);
}

void Resources::assign(Ticket& t, Runner& r, int64_t now) {
  t.runner_ = &r;
  t.state_ = Ticket::State::assigned;
  r.waiting.push_back(&t);
  r.keep_alive_ms = t.job_.keep_alive_ms;  // each request sets the model's keep_alive, as in Ollama
  r.last_used = now;
  fill_slots(r, now);
}

void Resources::fill_slots(Runner& r, int64_t now) {
  while (r.active < o_.num_parallel && !r.waiting.empty()) {
    Ticket* t = r.waiting.front();
    r.waiting.pop_front();
    start(*t, r, now);
  }
}

// The free slot whose cache shares the longest prefix with the job (the least
// recently used among equals); `cached` is the prompt tokens it already holds.
int Resources::pick_slot(Runner& r, const Job& j, int64_t& cached) const {
  int best = -1;
  cached = 0;
  for (size_t i = 0; i < r.slots.size(); ++i) {
    const Slot& s = r.slots[i];
    if (s.busy) continue;
    size_t k = 0;
    while (k < s.hash.size() && k < j.prefix_hash.size() && s.hash[k] == j.prefix_hash[k]) ++k;
    int64_t c = k ? j.prefix_tokens[k - 1] : 0;
    // All it served matched: the next message is its own reply, sent back by the client.
    if (k && k == s.hash.size() && k < j.prefix_hash.size())
      c += std::min(s.reply_tokens, j.prefix_tokens[k] - j.prefix_tokens[k - 1]);
    if (best < 0 || c > cached || (c == cached && s.last_used < r.slots[static_cast<size_t>(best)].last_used)) {
      best = static_cast<int>(i);
      cached = c;
    }
  }
  return best;
}

void Resources::start(Ticket& t, Runner& r, int64_t now) {
  --waiting_;
  ++r.active;
  ++busy_;
  int64_t cached = 0;
  t.slot_ = pick_slot(r, t.job_, cached);
  r.slots[static_cast<size_t>(t.slot_)].busy = true;
  int64_t prompt = t.job_.prompt_tokens();
  int64_t evaluate = std::max<int64_t>(prompt - cached, prompt > 0 ? 1 : 0);
  if (evaluate < prompt) {
    ++stats_.prefix_hits;
    stats_.prefix_tokens_saved += prompt - evaluate;
  }
  int64_t begin = std::max(now, r.ready_at);
  int64_t eval = wall(double(evaluate) * o_.prompt_ms_per_token * slowdown(r) + double(t.job_.fixed_ms));
  t.load_ns = to_model(std::max<int64_t>(0, r.ready_at - std::max(t.admitted_at, r.load_started)));
  t.prompt_eval_ns = to_model(eval);
  t.prompt_eval_count = evaluate;
  t.first_at_ = begin + eval;
  t.state_ = Ticket::State::running;
  r.last_used = now;
  if (t.wake_) {
    auto wake = std::move(t.wake_);
    t.wake_ = nullptr;
    wake();
  }
}

void Resources::idle_check(Runner& r, int64_t now) {
  (void)now;
  if (!idle(r)) return;
  if (r.evict_when_idle) drop(r, stats_.evictions);
  else if (r.keep_alive_ms == 0) drop(r, stats_.unloads);
}

// Unloads r (which must be idle); any unload lets a blocked scheduler look again.
void Resources::drop(Runner& r, int64_t& counter) {
  ++counter;
  blocked_ = false;
  runners_.erase(std::find_if(runners_.begin(), runners_.end(), [&](const auto& x) { return x.get() == &r; }));
}

void Resources::expire(int64_t now) {
  for (size_t i = 0; i < runners_.size();) {
    Runner& r = *runners_[i];
    int64_t idle_since = std::max(r.last_used, r.ready_at);
    bool due = idle(r) && r.keep_alive_ms >= 0 && now >= idle_since + wall(double(r.keep_alive_ms));
    if (due) drop(r, stats_.expirations);
    else ++i;
  }
}

std::vector<LoadedView> Resources::loaded(int64_t now) {
  clock_ = std::max(clock_, now);
  expire(now);
  schedule(now);
  std::vector<const Runner*> order;
  for (const auto& r : runners_) order.push_back(r.get());
  auto earlier = [](const Runner* a, const Runner* b) { return a->last_used < b->last_used; };
  std::stable_sort(order.begin(), order.end(), earlier);
  std::vector<LoadedView> out;
  for (const Runner* r : order) {
    LoadedView v{r->model, r->size, std::min(r->size, vram_bytes_), -1};
    if (r->keep_alive_ms >= 0) {
      int64_t ka = wall(double(r->keep_alive_ms));
      v.expires_in_ns = idle(*r) ? std::max<int64_t>(0, std::max(r->last_used, r->ready_at) + ka - now) : ka;
    }
    out.push_back(v);
  }
  return out;
}

bool parse_keep_alive(const std::string& s, int64_t& ms) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double seconds = std::strtod(s.c_str(), &end);
  if (!errno && *end == 0 && std::isfinite(seconds)) {  // a bare number: seconds
    ms = seconds < 0 ? -1 : std::llround(seconds * 1000);
    return true;
  }
  // Go's time.ParseDuration: [-]{number unit}..., units ns us µs ms s m h.
  size_t i = 0;
  bool negative = s[0] == '-';
  if (s[0] == '-' || s[0] == '+') ++i;
  double total_ms = 0;
  if (i == s.size()) return false;
  while (i < s.size()) {
    const char* start = s.c_str() + i;
    errno = 0;
    double v = std::strtod(start, &end);
    if (end == start || errno || v < 0) return false;
    i += static_cast<size_t>(end - start);
    size_t u = i;
    while (i < s.size() && !(s[i] >= '0' && s[i] <= '9') && s[i] != '.') ++i;
    std::string unit = s.substr(u, i - u);
    double scale = unit == "h"                           ? 3600e3
                   : unit == "m"                         ? 60e3
                   : unit == "s"                         ? 1e3
                   : unit == "ms"                        ? 1
                   : unit == "us" || unit == "\xc2\xb5s" ? 1e-3
                   : unit == "ns"                        ? 1e-6
                                                         : -1;
    if (scale < 0) return false;
    total_ms += v * scale;
  }
  ms = negative && total_ms > 0 ? -1 : std::llround(total_ms);
  return true;
}

}  // namespace sim
