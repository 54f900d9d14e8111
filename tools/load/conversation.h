// corral-load's multi-turn chats (--turns, --system-words). A chat request is
// a new conversation or the next turn of one whose last answer has come back;
// it carries the whole conversation so far (the model's shared system prompt,
// every question and every answer), as chat clients send it. Consecutive turns
// share their prefix, which a backend that served the previous one has cached.
#pragma once
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace load {

class Conversations {
 public:
  // Each conversation has `turns` turns; `system_words`: a system prompt per model (0: none).
  Conversations(int turns, size_t system_words) : turns_(turns), system_words_(system_words) {}

  struct Turn {
    uint64_t id = 0;
    std::string model;
    std::string messages;  // a JSON array
  };
  // With probability 1 - 1/turns the next turn of a conversation waiting for
  // one (when there is one), else a new conversation with `new_model`.
  Turn next(std::mt19937_64& rng, const std::string& new_model, const std::string& question);
  // Its answer came back with `tokens` tokens: the conversation may go on.
  void answered(uint64_t id, int64_t tokens);
  void failed(uint64_t id);  // a conversation whose turn failed ends
  size_t waiting() const { return idle_.size(); }

  static std::string system_prompt(const std::string& model, size_t words);

 private:
  struct Conversation {
    std::string model;
    std::vector<std::string> messages;  // JSON objects
    int turns = 0;
  };
  static constexpr size_t kMaxWaiting = 1000;  // oldest waiting conversations are dropped beyond this

  int turns_;
  size_t system_words_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Conversation> live_;
  std::deque<uint64_t> idle_;  // answered, not yet continued; oldest first
};

}  // namespace load
