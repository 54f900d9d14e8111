#include "corral/analysis/prompt.h"

#include <simdjson.h>

#include <array>
#include <string.h>

#include <cctype>

namespace corral::analysis {
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

}  // namespace

std::string_view category_name(Category c) { return kCategoryNames[c]; }
std::string_view complexity_name(ComplexityClass c) { return kComplexityNames[c]; }

Category categorize(std::string_view prompt) {
  std::string t = lowered(prompt);
  size_t b = t.find_first_not_of(" \n\t\r");
  t.erase(0, b == std::string::npos ? t.size() : b);
  if (t.empty()) return kCategoryOther;
  if (any_of(t, {"translate", "translation", "in french", "in spanish", "in german", "into english", "to english"}))
    return kTranslation;
  if (any_of(t, {"summarize", "summarise", "summary", "tl;dr", "tldr", "key points"})) return kSummarization;
  if (any_of(t, {"```", "function", "code", "python", "javascript", "typescript", "c++", "rust", "golang", "sql query",
                 "regex", "compile", "stack trace", "exception", "bug", "debug", "implement", "refactor", "def ",
                 "class ", "api endpoint", "unit test"}))
    return kCode;
  if (any_of(t, {"poem", "story", "lyrics", "haiku", "creative", "imagine", "fiction", "song", "write a letter"}))
    return kCreative;
  if (any_of(t, {"analyze", "analyse", "analysis", "compare", "evaluate", "pros and cons", "assess", "trade-off",
                 "tradeoff", "critique"}))
    return kAnalysis;
  if (t.find('?') != std::string::npos ||
      starts_with_any(t, {"what", "why", "how", "who", "when", "where", "which", "is ", "are ", "can ", "does ",
                          "do ", "should ", "explain"}))
    return kQuestion;
  if (t.size() < 80 || starts_with_any(t, {"hi", "hello", "hey", "thanks", "thank you", "good morning"})) return kChat;
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

void pad(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
}

RequestInfo analyze_request(std::string& body, size_t preview_bytes) {
  RequestInfo info;
  thread_local simdjson::ondemand::parser parser;
  pad(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(body.data(), body.size(), body.capacity()).get(doc) != simdjson::SUCCESS) return info;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return info;
  info.json = true;
  PromptFacts facts;
  std::string_view last_user, first_user, system;
  std::string_view prompt;
  std::string keyword_scan;  // opening text of each part, for the keyword count
  auto add_text = [&](std::string_view s) {
    facts.words += count_words(s);
    if (keyword_scan.size() < kScanChars) keyword_scan.append(s.substr(0, kScanChars - keyword_scan.size())).push_back(' ');
    info.prompt_chars += s.size();
  };
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return info;
    auto value = field.value();
    if (key == "model" || (key == "name" && info.model.empty())) {  // "name": Ollama's older field
      std::string_view m;
      if (value.get_string().get(m) == simdjson::SUCCESS) info.model.assign(m);
    } else if (key == "source") {  // /api/copy
      std::string_view m;
      if (value.get_string().get(m) == simdjson::SUCCESS) info.source.assign(m);
    } else if (key == "stream") {
      bool s;
      if (value.get_bool().get(s) == simdjson::SUCCESS) info.stream = s, info.has_stream = true;
    } else if (key == "prompt" || key == "system" || key == "input") {
      std::string_view s;
      if (value.get_string().get(s) == simdjson::SUCCESS) {
        add_text(s);
        if (key != "system") prompt = s;
        else system = s;
      }
    } else if (key == "messages") {
      simdjson::ondemand::array arr;
      if (value.get_array().get(arr) != simdjson::SUCCESS) continue;
      for (auto m : arr) {
        ++facts.messages;
        simdjson::ondemand::object mo;
        if (m.get_object().get(mo) != simdjson::SUCCESS) continue;
        std::string_view role, content;
        for (auto mf : mo) {
          std::string_view k;
          if (mf.unescaped_key().get(k) != simdjson::SUCCESS) break;
          std::string_view* dst = k == "role" ? &role : k == "content" ? &content : nullptr;
          if (dst && mf.value().get_string().get(*dst) != simdjson::SUCCESS) *dst = {};
        }
        add_text(content);
        if (role == "user" && first_user.empty()) first_user = content;
        if (role == "system" && system.empty()) system = content;
        if (role == "user") last_user = content;
      }
    } else if (key == "options") {
      simdjson::ondemand::object opts;
      if (value.get_object().get(opts) != simdjson::SUCCESS) continue;
      uint64_t ctx;
      if (opts["num_ctx"].get_uint64().get(ctx) == simdjson::SUCCESS) facts.num_ctx = static_cast<uint32_t>(ctx);
    }
  }
  facts.keyword_hits = count_keywords(keyword_scan);
  info.category = categorize(last_user.empty() ? prompt : last_user);
  if (preview_bytes > 0) info.prompt_preview.assign((last_user.empty() ? prompt : last_user).substr(0, preview_bytes));
  info.prefix_hash = prefix_hash(info.model, system, first_user.empty() ? prompt : first_user);
  info.complexity = estimate(facts);
  return info;
}

}  // namespace corral::analysis
