// Embeddings: /api/embed, /api/embeddings (legacy), /v1/embeddings.
#include <cmath>

#include "sim_api.h"
#include "sim_json.h"

namespace sim {
namespace {

constexpr int kDims = 8;

// A unit vector derived from the text's hash: same text, same vector.
void vector_json(Json& j, std::string_view text) {
  uint64_t x = fnv1a(text);
  double v[kDims], norm = 0;
  for (double& d : v) {
    x += 0x9e3779b97f4a7c15ull;  // splitmix64
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    d = static_cast<double>(z >> 11) / static_cast<double>(1ull << 53) * 2.0 - 1.0;
    norm += d * d;
  }
  norm = std::sqrt(norm);
  j.begin_array();
  for (double d : v) j.real(norm > 0 ? d / norm : 0);
  j.end_array();
}

}  // namespace

Reply embed_reply(std::string_view path, const Request& req, const Body& body, const std::string& model_name) {
  Json j;
  if (path == "/api/embeddings") {
    std::string prompt = body.str("prompt");
    j.begin_object().key("embedding");
    if (prompt.empty()) j.begin_array().end_array();
    else vector_json(j, prompt);
    j.end_object();
  } else {
    std::vector<std::string> inputs = body.strings("input");
    if (path == "/v1/embeddings" && inputs.empty()) return openai_error(400, "invalid input type");
    int64_t words = 0;
    for (const std::string& s : inputs) words += std::max<int64_t>(1, count_words(s));
    if (path == "/api/embed") {
      j.begin_object().str("model", model_name).key("embeddings").begin_array();
      for (const std::string& s : inputs) vector_json(j, s);
      j.end_array();
      int64_t prompt_ns = words * 100000;
      j.num("total_duration", 1000000 + prompt_ns + req.knobs.ttft_ms * int64_t{1000000}).num("load_duration", 1000000);
      j.num("prompt_eval_count", words).end_object();
    } else {
      j.begin_object().str("object", "list").key("data").begin_array();
      for (size_t i = 0; i < inputs.size(); ++i) {
        j.begin_object().str("object", "embedding").key("embedding");
        vector_json(j, inputs[i]);
        j.num("index", static_cast<int64_t>(i)).end_object();
      }
      j.end_array().str("model", model_name);
      j.key("usage").begin_object().num("prompt_tokens", words).num("total_tokens", words).end_object();
      j.end_object();
    }
  }
  Reply r = json_reply(200, j.take());
  r.delay_ms = req.knobs.ttft_ms;
  return r;
}

}  // namespace sim
