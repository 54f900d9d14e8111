#include "corral/analytics/query.h"

#include <charconv>
#include <cstdlib>
#include <ctime>

namespace corral::analytics {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool parse_iso(std::string_view s, int64_t& ms) {
  tm t{};
  int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return false;
  size_t i = 10;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    if (!digits(s, i + 1, 2, h) || s.size() < i + 6 || s[i + 3] != ':' || !digits(s, i + 4, 2, mi)) return false;
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!digits(s, i + 1, 2, sec)) return false;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        int scale = 100;
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) frac_ms += (s[i] - '0') * scale;
      }
    }
  }
  int64_t offset_min = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om = 0;
    if (!digits(s, i + 1, 2, oh)) return false;
    size_t j = i + 3;
    if (j < s.size() && s[j] == ':') ++j;
    if (j < s.size() && !digits(s, j, 2, om)) return false;
    offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i = j + (j < s.size() ? 2 : 0);
  }
  if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  t.tm_year = y - 1900, t.tm_mon = mo - 1, t.tm_mday = d, t.tm_hour = h, t.tm_min = mi, t.tm_sec = sec;
  ms = (int64_t(timegm(&t)) - offset_min * 60) * 1000 + frac_ms;
  return true;
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && out <= max;
}

bool parse_status(std::string_view v, Filters& f) {
  uint64_t code;
  if (v == "error" || v == "errors") f.errors_only = true;
  else if (v.size() == 3 && v[0] >= '1' && v[0] <= '5' && (v.substr(1) == "xx" || v.substr(1) == "XX"))
    f.status_class = v[0] - '0';
  else if (parse_uint(v, 599, code) && code >= 100) f.status = static_cast<int>(code);
  else return false;
  return true;
}

bool apply_param(std::string_view key, const std::string& v, Query& q, std::string& err) {
  Filters& f = q.f;
  uint64_t n;
  if (key == "start_time" || key == "end_time") {
    if (!parse_time(v, key == "start_time" ? f.start_ms : f.end_ms)) {
      err = std::string(key) + ": expected ISO 8601 (2026-11-27T07:00:00Z) or Unix seconds, got '" + v + "'";
      return false;
    }
  } else if (key == "model") f.model = v;
  else if (key == "prompt_search") f.prompt_search = v;
  else if (key == "user") f.user = v;
  else if (key == "backend") f.backend = v;
  else if (key == "endpoint") f.endpoint = v;
  else if (key == "status") {
    if (!parse_status(v, f)) {
      err = "status: expected an HTTP code (404), a class (5xx) or error, got '" + v + "'";
      return false;
    }
  } else if (key == "limit") {
    if (!parse_uint(v, ~0u, n) || n == 0) {
      err = "limit: expected a whole number from 1 to " + std::to_string(kSearchLimitMax) + ", got '" + v + "'";
      return false;
    }
    q.limit = static_cast<uint32_t>(n);
  } else if (key == "offset") {
    if (!parse_uint(v, ~0u, n)) {
      err = "offset: expected a whole number, got '" + v + "'";
      return false;
    }
    q.offset = static_cast<uint32_t>(n);
  } else if (key == "format") {
    if (v != "json" && v != "csv") {
      err = "format: expected json or csv, got '" + v + "'";
      return false;
    }
    q.csv = v == "csv";
  } else if (!key.empty() && key != "_") {  // "_": a cache-buster some clients add
    err =
        "unknown parameter '" + std::string(key) +
        "' (known: start_time, end_time, model, prompt_search, status, user, backend, endpoint, limit, offset, format)";
    return false;
  }
  return true;
}

}  // namespace

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else out += s[i];
  }
  return out;
}

bool parse_time(std::string_view s, int64_t& ms) {
  if (s.empty()) return false;
  if (s.find('-', 1) == std::string_view::npos) {  // Unix seconds, maybe with a fraction
    char* end = nullptr;
    std::string tmp(s);
    double v = std::strtod(tmp.c_str(), &end);
    if (!end || *end || !(v >= 0) || v > 1e11) return false;
    ms = static_cast<int64_t>(v * 1000);
    return true;
  }
  return parse_iso(s, ms);
}

bool parse_query(std::string_view path, std::string_view query, int64_t now_ms, Query& q, std::string& err) {
  while (path.size() > 10 && path.back() == '/') path.remove_suffix(1);
  if (path == "/analytics") q.kind = QueryKind::dashboard;
  else if (path == "/analytics/stats") q.kind = QueryKind::stats;
  else if (path == "/analytics/search") q.kind = QueryKind::search;
  else if (path == "/analytics/export") q.kind = QueryKind::export_;
  else {
    err = "no such analytics endpoint " + std::string(path) +
          " (try /analytics, /analytics/stats, /analytics/search, /analytics/export)";
    return false;
  }
  q.f.start_ms = q.kind == QueryKind::stats ? now_ms - 86400000 : 0;
  q.f.end_ms = now_ms + 1;
  bool limit_given = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = part.find('=');
    std::string key = url_decode(part.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1));
    limit_given = limit_given || key == "limit";
    if (!apply_param(key, value, q, err)) return false;
  }
  if (q.f.start_ms >= q.f.end_ms) {
    err = "start_time must be before end_time";
    return false;
  }
  if (q.kind == QueryKind::search && q.limit > kSearchLimitMax) q.limit = kSearchLimitMax;
  if (q.kind == QueryKind::export_ && !limit_given) q.limit = ~0u;  // everything that matches
  return true;
}

}  // namespace corral::analytics
