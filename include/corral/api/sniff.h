// What corral reads from a request body without changing it: model, stream
// flag, prompt size, category, complexity, affinity key and a preview.
// Measured in bench/micro (BM_AnalyzeRequest2KB).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/api/prompt.h"

namespace corral::api {

struct RequestInfo {
  bool json = false;   // body parsed as a JSON object
  std::string model;   // empty when absent
  bool stream = true;  // Ollama's default; OpenAI endpoints default to false (caller decides)
  bool has_stream = false;
  size_t prompt_chars = 0;
  Category category = kCategoryOther;
  Complexity complexity;
  std::string source;          // /api/copy's source model
  uint64_t prefix_hash = 0;    // model + system prompt + first user message; 0 when there is no prompt
  std::string prompt_preview;  // opening bytes of the prompt (last user message), when asked for
};

// Reads a JSON request body. `body` must have simdjson's padding capacity past
// its size (see pad()); it is not modified. preview_bytes > 0 keeps that many
// opening bytes of the prompt in prompt_preview.
RequestInfo analyze_request(std::string& body, size_t preview_bytes = 0);

// Makes sure body has the spare capacity simdjson reads past the end.
void pad(std::string& body);

}  // namespace corral::api
