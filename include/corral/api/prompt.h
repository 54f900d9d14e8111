// A cheap look at a prompt: a category (seed 004) and a complexity estimate
// (seed 001). Bounded work: text past kScanChars is counted, not scanned.
#pragma once
#include <cstdint>
#include <string_view>

namespace corral::api {

enum Category : uint8_t {
  kCategoryCode,
  kCategoryQuestion,
  kCategoryCreative,
  kCategoryAnalysis,
  kCategoryTranslation,
  kCategorySummarization,
  kCategoryChat,
  kCategoryOther,
  kCategoryCount
};
enum ComplexityClass : uint8_t { kLow, kMedium, kHigh, kComplexityCount };

std::string_view category_name(Category c);
std::string_view complexity_name(ComplexityClass c);

struct Complexity {
  int score = 0;  // 0..100
  ComplexityClass cls = kLow;
};

struct PromptFacts {
  size_t words = 0;      // across prompt, system and all messages
  size_t messages = 0;   // chat turns
  uint32_t num_ctx = 0;  // options.num_ctx, 0 when absent
  int keyword_hits = 0;  // architecture/design/refactor-style words
};

inline constexpr size_t kScanChars = 1024;  // intent is in the opening words

Category categorize(std::string_view prompt);
size_t count_words(std::string_view s);
// Architecture/design/refactor-style words in the opening kScanChars of s.
int count_keywords(std::string_view s);
Complexity estimate(const PromptFacts& f);

// The conversation identity session affinity keys on; only the first kHashChars of each part count.
inline constexpr size_t kHashChars = 4096;
uint64_t prefix_hash(std::string_view model, std::string_view system, std::string_view first_user);

}  // namespace corral::api
