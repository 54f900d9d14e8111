#include "sim_body.h"

namespace sim {

using simdjson::SUCCESS;

Body::Body(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      empty_ = false;
      break;
    }
  }
  if (empty_) return;
  auto err = parser.parse(text.data(), text.size()).get(root_);
  if (err != SUCCESS) {
    error_ = simdjson::error_message(err);
    return;
  }
  if (!root_.is_object()) {
    error_ = "request body is not a JSON object";
    return;
  }
  ok_ = true;
}

bool Body::has(const char* key) const { return ok_ && root_[key].error() == SUCCESS; }

std::string Body::str(const char* key) const {
  std::string_view v;
  if (ok_ && root_[key].get(v) == SUCCESS) return std::string(v);
  return "";
}

bool Body::flag(const char* key, bool dflt) const {
  bool v;
  if (ok_ && root_[key].get(v) == SUCCESS) return v;
  return dflt;
}

static bool as_int(simdjson::dom::element e, int64_t& out) {
  if (e.get(out) == SUCCESS) return true;
  double d;
  if (e.get(d) == SUCCESS) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

int64_t Body::integer(const char* key, int64_t dflt) const {
  simdjson::dom::element e;
  int64_t v;
  if (ok_ && root_[key].get(e) == SUCCESS && as_int(e, v)) return v;
  return dflt;
}

int64_t Body::integer(const char* key, const char* sub, int64_t dflt) const {
  simdjson::dom::element e;
  int64_t v;
  if (ok_ && root_[key][sub].get(e) == SUCCESS && as_int(e, v)) return v;
  return dflt;
}

bool Body::object_flag(const char* key, const char* sub, bool dflt) const {
  bool v;
  if (ok_ && root_[key][sub].get(v) == SUCCESS) return v;
  return dflt;
}

std::vector<std::string> Body::strings(const char* key) const {
  std::vector<std::string> out;
  if (!ok_) return out;
  std::string_view s;
  simdjson::dom::array arr;
  if (root_[key].get(s) == SUCCESS) {
    out.emplace_back(s);
  } else if (root_[key].get(arr) == SUCCESS) {
    for (auto v : arr) {
      if (v.get(s) == SUCCESS) out.emplace_back(s);
    }
  }
  return out;
}

bool Body::has_messages() const {
  simdjson::dom::array arr;
  return ok_ && root_["messages"].get(arr) == SUCCESS && arr.size() > 0;
}

std::vector<Body::Message> Body::messages() const {
  std::vector<Message> out;
  simdjson::dom::array arr;
  if (!ok_ || root_["messages"].get(arr) != SUCCESS) return out;
  for (auto m : arr) {
    Message msg;
    std::string_view v;
    simdjson::dom::array parts;
    if (m["role"].get(v) == SUCCESS) msg.role = v;
    if (m["content"].get(v) == SUCCESS) {
      msg.text = v;
    } else if (m["content"].get(parts) == SUCCESS) {
      for (auto p : parts) {
        if (p["text"].get(v) != SUCCESS) continue;
        if (!msg.text.empty()) msg.text += ' ';
        msg.text += v;
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

int64_t Body::message_words() const {
  int64_t n = 0;
  for (const Message& m : messages()) n += count_words(m.text);
  return n;
}

int64_t count_words(std::string_view s) {
  int64_t n = 0;
  bool in = false;
  for (char c : s) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

}  // namespace sim
