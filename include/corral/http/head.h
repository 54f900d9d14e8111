// A parsed HTTP message head: start line plus headers, stored in one arena.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corral::http {

struct HeaderRef {
  uint32_t name_off, name_len, value_off, value_len;
};

class Head {
 public:
  std::string_view method() const { return method_; }
  std::string_view url() const { return view(url_off_, url_len_); }
  std::string_view path() const;  // url without query
  int status() const { return status_; }
  int http_minor() const { return minor_; }

  size_t header_count() const { return headers_.size(); }
  std::string_view name(size_t i) const { return view(headers_[i].name_off, headers_[i].name_len); }
  std::string_view value(size_t i) const { return view(headers_[i].value_off, headers_[i].value_len); }
  // First header named `name` (case-insensitive), or empty view.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const;

  // Builders used by the parser.
  void clear();
  void release_memory();  // clear() and give the storage back (idle connections)
  void append_url(const char* p, size_t n);
  void append_field(const char* p, size_t n);
  void append_value(const char* p, size_t n);
  void end_header() { in_value_ = true; }
  void set_start(std::string_view method, int status, int minor);

 private:
  std::string_view view(uint32_t off, uint32_t len) const { return {arena_.data() + off, len}; }
  std::string arena_;
  std::vector<HeaderRef> headers_;
  std::string_view method_;
  uint32_t url_off_ = 0, url_len_ = 0;
  int status_ = 0;
  int minor_ = 1;
  bool in_value_ = false;
};

bool iequals(std::string_view a, std::string_view b);
// True when comma-separated `list` contains `token` (case-insensitive).
bool has_token(std::string_view list, std::string_view token);

}  // namespace corral::http
