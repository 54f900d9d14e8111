// corral-sim: the Ollama and OpenAI-compatible endpoints.
#pragma once
#include <string>
#include <string_view>

#include "sim_body.h"
#include "sim_config.h"
#include "sim_http.h"
#include "sim_resources.h"
#include "sim_state.h"

namespace sim {

struct Ctx {
  const Options& opt;
  State& state;
  Stats& stats;
  Resources* res = nullptr;  // the resource model (--vram-gb), else null
};

// Answers one complete request (sim_api.cc). Never blocks: delays and
// streaming are described in the Reply and carried out by the connection.
Reply route(const Request& req, Ctx& ctx);

// Text generation (sim_gen.cc). `model_name` is the name as the client sent it.
Reply ollama_generate(const Request& req, const Body& body, const std::string& model_name, bool chat, Ctx& ctx);
Reply openai_generate(const Request& req, const Body& body, const std::string& model_name, bool chat, Ctx& ctx);

// Embeddings (sim_embed.cc) for /api/embed, /api/embeddings and /v1/embeddings.
Reply embed_reply(std::string_view path, const Request& req, const Body& body, const std::string& model_name);

// {"error":{"message","type","param","code"}} as Ollama's OpenAI layer sends.
Reply openai_error(int status, std::string_view message);

// Deterministic token text: "token<i>" + pad dots + " ".
std::string token_text(int i, int pad);

}  // namespace sim
