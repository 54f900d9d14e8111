// corral-sim: read-only access to a JSON request body (simdjson DOM).
#pragma once
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sim {

class Body {
 public:
  // Parses with a per-thread parser: use one Body at a time per thread, and
  // only while handling the request.
  explicit Body(std::string_view text);

  bool empty() const { return empty_; }
  bool ok() const { return ok_; }  // a JSON object
  const std::string& error() const { return error_; }

  bool has(const char* key) const;
  std::string str(const char* key) const;  // "" when absent or not a string
  bool flag(const char* key, bool dflt) const;
  // Integer at root[key] or root[key][sub]; dflt when absent.
  int64_t integer(const char* key, int64_t dflt) const;
  int64_t integer(const char* key, const char* sub, int64_t dflt) const;
  bool object_flag(const char* key, const char* sub, bool dflt) const;

  // Texts of a string-or-array-of-strings field ("input", "prompt").
  std::vector<std::string> strings(const char* key) const;
  // "messages"[]: role and text (content string, or its [{type:"text",text}] parts joined by spaces).
  struct Message {
    std::string role, text;
  };
  std::vector<Message> messages() const;
  // Words in "messages"[].content.
  int64_t message_words() const;
  bool has_messages() const;  // a non-empty "messages" array

 private:
  simdjson::dom::element root_;
  bool empty_ = true, ok_ = false;
  std::string error_;
};

int64_t count_words(std::string_view s);

}  // namespace sim
