// corral-sim: generation replies played on the resource model's schedule
// (--vram-gb): they wait for a slot and a loaded model, then stream at the
// per-token time of a GPU that is as busy as it is now.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "sim_body.h"
#include "sim_config.h"
#include "sim_http.h"
#include "sim_resources.h"
#include "sim_state.h"

namespace sim {

// Ollama's answer when its queue is full (HTTP 503).
extern const char* const kServerBusy;

// What a request actually cost, in model time, for Ollama's final statistics.
struct Measured {
  int64_t load_ns = 0, prompt_eval_ns = 0, prompt_eval_count = 0, eval_ns = 0, total_ns = 0;
};

// The scheduler's view of a generation request: its model, prompt prefixes
// (each chat message, else the whole prompt), tokens and keep_alive.
Job make_job(const Body& body, bool chat, const Model& m, const Knobs& k, int tokens, const ResourceOptions& o);

// `inner` played with the scheduler's times: its first `tokens` chunks are
// tokens, the rest go out right after them. nullptr when the queue is full.
std::unique_ptr<Producer> paced(Resources& res, Job job, std::unique_ptr<Producer> inner, int tokens,
                                int token_delay_ms, std::shared_ptr<Measured> measured);

// A whole body (stream: false), built when due after `tokens` silent token steps;
// the connection sends it as one Content-Length body (Reply::buffered).
std::unique_ptr<Producer> whole_body(int tokens, std::function<std::string()> body);

}  // namespace sim
