#include "sim_json.h"

#include <cstdio>

namespace sim {

void append_json_string(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
      case '>':
      case '&':
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else if (c == 0xe2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xa8 || static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
          out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";  // as Go does
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Json::value_prefix() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) s_ += ',';
    first_.back() = false;
  }
}

Json& Json::begin_object() {
  value_prefix();
  s_ += '{';
  first_.push_back(true);
  return *this;
}
Json& Json::end_object() {
  s_ += '}';
  first_.pop_back();
  return *this;
}
Json& Json::begin_array() {
  value_prefix();
  s_ += '[';
  first_.push_back(true);
  return *this;
}
Json& Json::end_array() {
  s_ += ']';
  first_.pop_back();
  return *this;
}
Json& Json::key(std::string_view k) {
  value_prefix();
  append_json_string(s_, k);
  s_ += ':';
  after_key_ = true;
  return *this;
}
Json& Json::str(std::string_view v) {
  value_prefix();
  append_json_string(s_, v);
  return *this;
}
Json& Json::num(int64_t v) {
  value_prefix();
  s_ += std::to_string(v);
  return *this;
}
Json& Json::real(double v) {
  value_prefix();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  s_ += buf;
  return *this;
}
Json& Json::boolean(bool v) {
  value_prefix();
  s_ += v ? "true" : "false";
  return *this;
}
Json& Json::null() {
  value_prefix();
  s_ += "null";
  return *this;
}
Json& Json::raw(std::string_view json) {
  value_prefix();
  s_ += json;
  return *this;
}

}  // namespace sim
