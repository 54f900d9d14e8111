// Writing JSON by appending to a std::string (reading is simdjson's). The
// writer puts commas itself: after a value or a closed container the next
// item gets one, after an opening bracket or a key it does not.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace corral::api {

// `s` escaped for the inside of a JSON string literal (no quotes added).
void json_escape(std::string& out, std::string_view s);

// `s` as a JSON string literal, quotes included. `s` must be UTF-8 (simdjson
// validated everything corral reads); control characters, '"' and '\' are escaped.
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& number(int64_t v);
  JsonWriter& boolean(bool b) { return raw(b ? "true" : "false"); }
  JsonWriter& null() { return raw("null"); }
  // A value that is already JSON text (a schema, a number as the client wrote it).
  JsonWriter& raw(std::string_view json);

 private:
  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void comma() {
    if (need_comma_) out_.push_back(',');
  }

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace corral::api
