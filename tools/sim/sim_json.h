// corral-sim: a small JSON writer with Go-compatible string escaping.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sim {

// Appends s as a quoted JSON string. Escapes like Go's encoding/json (which
// Ollama uses): control characters, quotes, backslashes and the HTML-sensitive
// <, >, & as \u003c, \u003e, \u0026.
void append_json_string(std::string& out, std::string_view s);

// Builds one JSON value; commas between members are placed automatically.
//   Json j; j.begin_object().str("model", m).num("eval_count", 8).end_object();
class Json {
 public:
  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  Json& key(std::string_view k);

  Json& str(std::string_view v);
  Json& num(int64_t v);
  Json& real(double v);
  Json& boolean(bool v);
  Json& null();
  Json& raw(std::string_view json);  // an already serialized value

  Json& str(std::string_view k, std::string_view v) { return key(k).str(v); }
  Json& num(std::string_view k, int64_t v) { return key(k).num(v); }
  Json& boolean(std::string_view k, bool v) { return key(k).boolean(v); }
  Json& raw(std::string_view k, std::string_view json) { return key(k).raw(json); }

  const std::string& text() const { return s_; }
  std::string take() { return std::move(s_); }

 private:
  void value_prefix();
  std::string s_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

}  // namespace sim
