// corral-sim: the model list (shared, mutable, mutex-protected) and the
// counters behind GET /sim/stats (atomics shared by all loop threads).
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sim_config.h"

namespace sim {

struct Model {
  std::string name;  // tagged, e.g. "llama3.2:latest"
  int64_t size = 0;
  bool loaded = false;
  std::string modified_at;  // RFC 3339
};

class State {
 public:
  explicit State(const std::vector<ModelSpec>& specs);
  std::vector<Model> models();
  bool find(std::string_view name, Model* out);  // name canonicalized first
  // Adds the model (or refreshes modified_at when it exists); returns its size.
  int64_t add(std::string_view name, int64_t size);
  bool remove(std::string_view name);
  void set_loaded(std::string_view name, bool loaded);

 private:
  std::mutex mu_;
  std::vector<Model> models_;
};

struct Stats {
  std::atomic<int64_t> connections_open{0}, connections_total{0}, requests_total{0}, streams_aborted{0},
      faults_injected{0};
};

// "llama3.2" -> "llama3.2:latest"; "ns/x:tag" unchanged.
std::string canonical_name(std::string_view name);

// Deterministic per-name metadata.
uint64_t fnv1a(std::string_view s, uint64_t seed = 0);
std::string model_digest(std::string_view name);  // 64 hex chars, no "sha256:"
std::string model_family(std::string_view name);
bool is_embedding_model(std::string_view name);
std::string parameter_size(const Model& m);
std::string details_json(const Model& m);  // the "details" object

// Times: RFC 3339 UTC with fixed-width fraction (stable byte lengths), unix seconds.
std::string rfc3339_now(int64_t offset_seconds = 0);
int64_t unix_now();

}  // namespace sim
