#include "conversation.h"

#include <algorithm>

#include "corral/api/json.h"

namespace load {
namespace {

std::string message(const char* role, const std::string& text) {
  std::string escaped;
  corral::api::json_escape(escaped, text);
  return std::string("{\"role\":\"") + role + "\",\"content\":\"" + escaped + "\"}";
}

}  // namespace

std::string Conversations::system_prompt(const std::string& model, size_t words) {
  static const char* kWords[] = {"you",  "are",     "a",    "helpful", "assistant", "answer", "briefly", "and",
                                 "cite", "sources", "when", "asked",   "about",     "the",    "company", "policy"};
  std::mt19937_64 rng(std::hash<std::string>{}(model));  // the same text for every conversation of a model
  std::string s;
  for (size_t i = 0; i < words; ++i) s += std::string(i ? " " : "") + kWords[rng() % 16];
  return s;
}

Conversations::Turn Conversations::next(std::mt19937_64& rng, const std::string& new_model,
                                        const std::string& question) {
  bool go_on = !idle_.empty() && std::uniform_int_distribution<int>(1, turns_)(rng) > 1;
  uint64_t id;
  if (go_on) {
    size_t i = std::uniform_int_distribution<size_t>(0, idle_.size() - 1)(rng);
    id = idle_[i];
    idle_.erase(idle_.begin() + static_cast<long>(i));
  } else {
    id = next_id_++;
    Conversation& c = live_[id];
    c.model = new_model;
    if (system_words_) c.messages.push_back(message("system", system_prompt(new_model, system_words_)));
  }
  Conversation& c = live_[id];
  c.messages.push_back(message("user", question));
  ++c.turns;
  Turn t{id, c.model, "["};
  for (size_t i = 0; i < c.messages.size(); ++i) t.messages += (i ? "," : "") + c.messages[i];
  t.messages += "]";
  return t;
}

void Conversations::answered(uint64_t id, int64_t tokens) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  if (it->second.turns >= turns_) {
    live_.erase(it);
    return;
  }
  // The answer as the client got it back: one word per token (what the backend counts).
  std::string text;
  for (int64_t i = 0; i < std::min<int64_t>(tokens, 4096); ++i) text += i ? " tok" : "tok";
  it->second.messages.push_back(message("assistant", text));
  idle_.push_back(id);
  if (idle_.size() > kMaxWaiting) {
    live_.erase(idle_.front());
    idle_.pop_front();
  }
}

void Conversations::failed(uint64_t id) { live_.erase(id); }

}  // namespace load
