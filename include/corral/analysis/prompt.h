// What corral reads from a request body without changing it: model, stream
// flag, and a cheap look at the prompt — a category (seed 004) and a
// complexity estimate (seed 001). Bounded work: text past kScanChars is counted, not scanned.
// Measured in bench/micro (BM_AnalyzeRequest2KB).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace corral::analysis {

enum Category : uint8_t { kCode, kQuestion, kCreative, kAnalysis, kTranslation, kSummarization, kChat, kCategoryOther, kCategoryCount };
enum ComplexityClass : uint8_t { kLow, kMedium, kHigh, kComplexityCount };

std::string_view category_name(Category c);
std::string_view complexity_name(ComplexityClass c);

struct Complexity {
  int score = 0;  // 0..100
  ComplexityClass cls = kLow;
};

struct PromptFacts {
  size_t words = 0;       // across prompt, system and all messages
  size_t messages = 0;    // chat turns
  uint32_t num_ctx = 0;   // options.num_ctx, 0 when absent
  int keyword_hits = 0;   // architecture/design/refactor-style words
};

inline constexpr size_t kScanChars = 1024;  // intent is in the opening words

Category categorize(std::string_view prompt);
Complexity estimate(const PromptFacts& f);

struct RequestInfo {
  bool json = false;      // body parsed as a JSON object
  std::string model;      // empty when absent
  bool stream = true;     // Ollama's default; OpenAI endpoints default to false (caller decides)
  bool has_stream = false;
  size_t prompt_chars = 0;
  Category category = kCategoryOther;
  Complexity complexity;
  std::string source;        // /api/copy's source model
  uint64_t prefix_hash = 0;  // model + system prompt + first user message; 0 when there is no prompt
  std::string prompt_preview;  // opening bytes of the prompt (last user message), when asked for
};

// The conversation identity session affinity keys on; only the first kHashChars of each part count.
inline constexpr size_t kHashChars = 4096;
uint64_t prefix_hash(std::string_view model, std::string_view system, std::string_view first_user);

// Reads a JSON request body. `body` must have SIMDJSON padding capacity past
// its size (see padded()); it is not modified. preview_bytes > 0 keeps that
// many opening bytes of the prompt in prompt_preview.
RequestInfo analyze_request(std::string& body, size_t preview_bytes = 0);

// Makes sure body has the spare capacity simdjson reads past the end.
void pad(std::string& body);

}  // namespace corral::analysis
