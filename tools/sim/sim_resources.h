// corral-sim: what an Ollama server's GPU has to give, from Ollama's documented
// settings (off unless --vram-gb is given). VRAM holds at most max_loaded models
// (OLLAMA_MAX_LOADED_MODELS); a cold model takes load time per GB; a model that
// does not fit waits until the least recently used idle one is unloaded, and
// meanwhile every new request queues behind it, as Ollama's scheduler does; an
// idle model is unloaded keep_alive after its last use (OLLAMA_KEEP_ALIVE, the
// request's keep_alive). Each model has num_parallel slots (OLLAMA_NUM_PARALLEL);
// requests beyond them wait, and more than max_queue waiting (OLLAMA_MAX_QUEUE)
// are refused with 503. Per-token time grows with the slots in use on the GPU,
// and each slot keeps the KV cache of what it served last: a prompt that starts
// with those messages is evaluated only from where they end.
//
// Times are wall-clock nanoseconds in, model durations scaled by time_scale
// (wall seconds per model second) so a benchmark can run a fleet's hour in
// minutes. One loop thread owns it: no locks; callers pass `now`.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sim {

struct ResourceOptions {
  double vram_gb = 0;    // 0: resource model off
  int max_loaded = 3;    // Ollama: 3 per GPU
  int num_parallel = 4;  // Ollama: 4, or 1 when memory is short
  int max_queue = 512;
  int64_t keep_alive_ms = 300000;  // model time; < 0: forever
  double load_s_per_gb = 1.0;
  double time_scale = 1.0;
  double prompt_ms_per_token = 0.5;
  double slot_slowdown = 0.1;  // each further busy slot on the GPU adds this to per-token time
  bool enabled() const { return vram_gb > 0; }
};

// One generation as the scheduler sees it.
struct Job {
  std::string model;  // canonical name
  int64_t size = 0;   // bytes
  // Per prompt message (chat) or one entry for a whole prompt: a hash of it and
  // every message before it, and the prompt tokens up to and including it.
  std::vector<uint64_t> prefix_hash;
  std::vector<int64_t> prefix_tokens;
  int tokens = 0;             // to generate
  int64_t keep_alive_ms = 0;  // model time; < 0: forever; 0: unload once idle
  int64_t fixed_ms = 0;       // added to the prompt evaluation (X-Sim-TTFT-Ms)
  int64_t prompt_tokens() const { return prefix_tokens.empty() ? 0 : prefix_tokens.back(); }
};

struct Runner;
class Resources;

// A job's place in the scheduler. Leaving (destruction) frees its slot or its
// place in a queue, so an aborted stream gives everything back.
class Ticket {
 public:
  enum class State { fresh, queued, assigned, running, refused, done };
  Ticket(Resources& res, Job job) : res_(res), job_(std::move(job)) {}
  ~Ticket();
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;

  State state() const { return state_; }
  const Job& job() const { return job_; }
  // Running: when the first token is due (model loaded, prompt evaluated).
  int64_t first_token_at() const { return first_at_; }
  // Called once when a queued ticket starts running (the connection waits for it).
  void on_start(std::function<void()> wake) { wake_ = std::move(wake); }

  // Final statistics (model-time nanoseconds), Ollama's names.
  int64_t admitted_at = 0;
  int64_t load_ns = 0, prompt_eval_ns = 0;
  int64_t prompt_eval_count = 0;  // tokens evaluated (the cached ones are not)

 private:
  friend class Resources;
  Resources& res_;
  Job job_;
  State state_ = State::fresh;
  Runner* runner_ = nullptr;
  int slot_ = -1;
  int64_t first_at_ = 0;
  std::function<void()> wake_;
};

struct LoadedView {
  std::string name;
  int64_t size = 0, size_vram = 0;
  int64_t expires_in_ns = 0;  // wall time from now; < 0: never
};

struct ResourceStats {
  int64_t loads = 0, evictions = 0, expirations = 0, unloads = 0, refused = 0;
  int64_t prefix_hits = 0, prefix_tokens_saved = 0;
  int64_t load_ns = 0;  // model time spent loading
};

class Resources {
 public:
  explicit Resources(const ResourceOptions& o);
  ~Resources();
  Resources(const Resources&) = delete;
  Resources& operator=(const Resources&) = delete;

  const ResourceOptions& options() const { return o_; }
  // Queues the ticket (it may start at once); false when the queue is full (503).
  bool admit(Ticket& t, int64_t now);
  // The ticket is done (or its client gone): its slot or queue place is given
  // back. Idempotent; a ticket's destructor calls it with the last time seen.
  void release(Ticket& t, int64_t now);
  // A model loaded at start (corral-sim's ":loaded"); false when it does not fit.
  bool preload(const std::string& model, int64_t size, int64_t now);
  // keep_alive 0 with an empty prompt: unloaded now when idle, else once idle.
  void unload(const std::string& model, int64_t now);
  // Wall time until the next token of a running ticket: the base per-token time
  // (model ms) scaled, slowed by the busy slots and by layers that spilled to CPU.
  int64_t token_ns(const Ticket& t, int64_t base_ms) const;
  int64_t to_model(int64_t wall_ns) const;

  std::vector<LoadedView> loaded(int64_t now);  // /api/ps, least recently used first
  const ResourceStats& stats() const { return stats_; }
  int64_t waiting() const { return waiting_; }
  int busy_slots() const { return busy_; }
  int64_t vram_used() const;

 private:
  friend class Ticket;
  void schedule(int64_t now);
  bool fits(int64_t size) const;
  Runner* find(const std::string& model) const;
  Runner* start_load(const Job& j, int64_t now);
  void assign(Ticket& t, Runner& r, int64_t now);
  void fill_slots(Runner& r, int64_t now);
  void start(Ticket& t, Runner& r, int64_t now);
  int pick_slot(Runner& r, const Job& j, int64_t& cached) const;
  void idle_check(Runner& r, int64_t now);
  void drop(Runner& r, int64_t& counter);
  void expire(int64_t now);
  bool idle(const Runner& r) const;
  double slowdown(const Runner& r) const;
  int64_t wall(double model_ms) const;

  ResourceOptions o_;
  int64_t vram_bytes_;
  std::vector<std::unique_ptr<Runner>> runners_;
  std::deque<Ticket*> pending_;  // not yet given to a model, in arrival order
  bool blocked_ = false;         // the head waits for a model to be unloaded
  int64_t waiting_ = 0;          // pending plus waiting for a slot
  int busy_ = 0;                 // slots in use on the GPU
  int64_t clock_ = 0;            // last `now` seen, for tickets leaving
  ResourceStats stats_;
};

// Ollama's keep_alive: a duration string ("10m", "1h30m", "-1m"), a number of
// seconds, negative for forever. Model-time ms; false when malformed.
bool parse_keep_alive(const std::string& s, int64_t& ms);

}  // namespace sim
