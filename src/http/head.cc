#include "corral/http/head.h"

namespace corral::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view Head::path() const {
  std::string_view u = url();
  size_t q = u.find('?');
  return q == std::string_view::npos ? u : u.substr(0, q);
}

std::string_view Head::get(std::string_view n) const {
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (iequals(name(i), n)) return value(i);
  }
  return {};
}

bool Head::has(std::string_view n) const {
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (iequals(name(i), n)) return true;
  }
  return false;
}

void Head::release_memory() {
  clear();
  std::string().swap(arena_);
  std::vector<HeaderRef>().swap(headers_);
}

void Head::clear() {
  arena_.clear();
  headers_.clear();
  method_ = {};
  url_off_ = url_len_ = 0;
  status_ = 0;
  minor_ = 1;
  in_value_ = false;
}

void Head::append_url(const char* p, size_t n) {
  if (url_len_ == 0) url_off_ = static_cast<uint32_t>(arena_.size());
  arena_.append(p, n);
  url_len_ += static_cast<uint32_t>(n);
}

void Head::append_field(const char* p, size_t n) {
  if (headers_.empty() || in_value_) {
    uint32_t off = static_cast<uint32_t>(arena_.size());
    headers_.push_back({off, 0, off, 0});
    in_value_ = false;
  }
  arena_.append(p, n);
  headers_.back().name_len += static_cast<uint32_t>(n);
  headers_.back().value_off = static_cast<uint32_t>(arena_.size());
}

void Head::append_value(const char* p, size_t n) {
  if (headers_.empty()) return;
  if (!in_value_) {
    headers_.back().value_off = static_cast<uint32_t>(arena_.size());
    in_value_ = true;
  }
  arena_.append(p, n);
  headers_.back().value_len += static_cast<uint32_t>(n);
}

void Head::set_start(std::string_view method, int status, int minor) {
  method_ = method;
  status_ = status;
  minor_ = minor;
}

}  // namespace corral::http
