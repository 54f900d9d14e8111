#include "corral/api/prompt.h"

#include <string.h>

#include <algorithm>
#include <array>
#include <string>

namespace corral::api {
namespace {

constexpr std::array<std::string_view, kCategoryCount> kCategoryNames = {
    "code", "question", "creative", "analysis", "translation", "summarization", "chat", "other"};
constexpr std::array<std::string_view, kComplexityCount> kComplexityNames = {"low", "medium", "high"};

// Lower-cased copy of the first kScanChars characters.
std::string lowered(std::string_view s) {
  std::string out(s.substr(0, kScanChars));
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;  // ASCII; no locale calls
  return out;
}

// glibc's memmem is much faster than std::string::find for these scans.
bool contains(const std::string& text, std::string_view w) {
  return memmem(text.data(), text.size(), w.data(), w.size()) != nullptr;
}

bool any_of(const std::string& text, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (contains(text, w)) return true;
  }
  return false;
}

bool starts_with_any(const std::string& text, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    if (text.starts_with(w)) return true;
  }
  return false;
}

}  // namespace

size_t count_words(std::string_view s) {
  size_t n = 0;
  bool in = false;
  for (char c : s) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

int count_keywords(std::string_view s) {
  std::string t = lowered(s);
  int hits = 0;
  for (std::string_view w : {"architect", "design", "refactor", "scalab", "distributed", "optimiz", "algorithm",
                             "microservice", "migrat", "concurren"}) {
    if (contains(t, w)) ++hits;
  }
  return hits;
}

std::string_view category_name(Category c) { return kCategoryNames[c]; }
std::string_view complexity_name(ComplexityClass c) { return kComplexityNames[c]; }

Category categorize(std::string_view prompt) {
  std::string t = lowered(prompt);
  size_t b = t.find_first_not_of(" \n\t\r");
  t.erase(0, b == std::string::npos ? t.size() : b);
  if (t.empty()) return kCategoryOther;
  if (any_of(t, {"translate", "translation", "in french", "in spanish", "in german", "into english", "to english"}))
    return kCategoryTranslation;
  if (any_of(t, {"summarize", "summarise", "summary", "tl;dr", "tldr", "key points"})) return kCategorySummarization;
  if (any_of(t, {"```",       "function",  "code",  "python",  "javascript",   "typescript", "c++", "rust",
                 "golang",    "sql query", "regex", "compile", "stack trace",  "exception",  "bug", "debug",
                 "implement", "refactor",  "def ",  "class ",  "api endpoint", "unit test"}))
    return kCategoryCode;
  if (any_of(t, {"poem", "story", "lyrics", "haiku", "creative", "imagine", "fiction", "song", "write a letter"}))
    return kCategoryCreative;
  if (any_of(t, {"analyze", "analyse", "analysis", "compare", "evaluate", "pros and cons", "assess", "trade-off",
                 "tradeoff", "critique"}))
    return kCategoryAnalysis;
  if (t.find('?') != std::string::npos ||
      starts_with_any(t, {"what", "why", "how", "who", "when", "where", "which", "is ", "are ", "can ", "does ", "do ",
                          "should ", "explain"}))
    return kCategoryQuestion;
  if (t.size() < 80 || starts_with_any(t, {"hi", "hello", "hey", "thanks", "thank you", "good morning"}))
    return kCategoryChat;
  return kCategoryOther;
}

Complexity estimate(const PromptFacts& f) {
  int score = static_cast<int>(std::min<size_t>(f.words, 300) * 50 / 300);
  score += std::min(f.keyword_hits, 2) * 15;
  if (f.num_ctx > 32768) score += 20;
  else if (f.num_ctx > 8192) score += 10;
  if (f.messages > 20) score += 10;
  else if (f.messages > 10) score += 5;
  Complexity c;
  c.score = std::min(score, 100);
  c.cls = (f.words > 300 || c.score >= 70) ? kHigh : c.score >= 30 ? kMedium : kLow;
  return c;
}

uint64_t prefix_hash(std::string_view model, std::string_view system, std::string_view first_user) {
  if (system.empty() && first_user.empty()) return 0;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over a bounded prefix of each part
  for (std::string_view part : {model, system, first_user}) {
    for (char c : part.substr(0, kHashChars)) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;
  }
  return h ? h : 1;
}

}  // namespace corral::api
