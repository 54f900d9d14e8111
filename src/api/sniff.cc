#include "corral/api/sniff.h"

#include <simdjson.h>

namespace corral::api {
namespace {

// A message's text: a string (Ollama, OpenAI), or the first text part of a
// list of parts (OpenAI content parts, Anthropic content blocks).
std::string_view text_of(simdjson::simdjson_result<simdjson::ondemand::value> r) {
  simdjson::ondemand::value v;
  if (r.get(v) != simdjson::SUCCESS) return {};
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) return s;
  simdjson::ondemand::array parts;
  if (v.get_array().get(parts) != simdjson::SUCCESS) return {};
  for (auto part : parts) {
    simdjson::ondemand::object po;
    if (part.get_object().get(po) != simdjson::SUCCESS) continue;
    if (po["text"].get_string().get(s) == simdjson::SUCCESS) return s;
  }
  return {};
}

}  // namespace

void pad(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
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
    if (keyword_scan.size() < kScanChars)
      keyword_scan.append(s.substr(0, kScanChars - keyword_scan.size())).push_back(' ');
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
      std::string_view s = text_of(value);  // Anthropic's system may be a list of blocks
      if (!s.empty()) {
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
          if (k == "role" && mf.value().get_string().get(role) != simdjson::SUCCESS) role = {};
          if (k == "content") content = text_of(mf.value());
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

}  // namespace corral::api
