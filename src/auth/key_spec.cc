#include "corral/auth/key_spec.h"

#include <algorithm>
#include <charconv>

namespace corral::auth {

const Field* find_field(std::string_view name) {
  for (const Field& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string_view expected(const Field& f) {
  switch (f.kind) {
    case FieldKind::flag:
      return "expected true or false";
    case FieldKind::count:
      return "expected a whole number";
    case FieldKind::list:
      return "expected a list of model names";
    case FieldKind::text:
      break;
  }
  return "expected a string";
}

void set_flag(KeySpec& s, bool v) { s.admin = v; }

bool set_count(KeySpec& s, const Field& f, uint64_t v, std::string& err) {
  uint64_t max = f.name == "rpm" ? kMaxRpm : f.name == "tpm" ? kMaxTpm : kMaxConcurrency;
  if (v > max) {
    err = "expected a whole number from 0 (no limit) to " + std::to_string(max);
    return false;
  }
  if (f.name == "rpm") s.rpm = static_cast<uint32_t>(v);
  else if (f.name == "tpm") s.tpm = v;
  else s.concurrency = static_cast<uint32_t>(v);
  return true;
}

namespace {

bool printable(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool valid_model(std::string_view m, std::string& err) {
  bool ok = !m.empty() && m.size() <= 200 && printable(m) && m.find_first_of(" ,") == std::string_view::npos &&
            m.find('*') >= m.size() - 1;
  if (!ok)
    err = std::string(1, '\'').append(m).append("' is not a model name (no spaces or commas; '*' only at the end)");
  return ok;
}

}  // namespace

bool parse_expiry(std::string_view s, int64_t& ms, std::string& err) {
  if (s == "never") {
    ms = 0;
    return true;
  }
  int64_t n = 0;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && n < 1000000) n = n * 10 + (s[i++] - '0');
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
  int64_t mult = 0;
  for (const Unit& u : kUnits) mult = s.substr(i) == u.name ? u.ms : mult;
  if (i == 0 || n == 0 || mult == 0 || n * mult > 100ll * 365 * 86400000) {
    err = "expected a duration like 30d, 12h, 90m, 45s or 2w (at most 100 years), or never";
    return false;
  }
  ms = n * mult;
  return true;
}

bool set_text(KeySpec& s, const Field& f, std::string_view v, std::string& err) {
  if (f.name == "priority") {
    Priority p;
    if (!parse_priority(v, p)) {
      err = "expected high, normal or low";
      return false;
    }
    s.priority = p;
    return true;
  }
  if (f.name == "expires") {
    int64_t ms;
    if (!parse_expiry(v, ms, err)) return false;
    s.expires_in_ms = ms;
    return true;
  }
  if (f.name == "note") {
    if (v.size() > 500 || !printable(v)) {
      err = "expected at most 500 characters on one line";
      return false;
    }
    s.note = std::string(v);
    return true;
  }
  err = expected(f);
  return false;
}

bool set_list(KeySpec& s, std::span<const std::string> v, std::string& err) {
  if (v.size() > kMaxModels) {
    err = "at most " + std::to_string(kMaxModels) + " models";
    return false;
  }
  for (const std::string& m : v) {
    if (!valid_model(m, err)) return false;
  }
  s.models = std::vector<std::string>(v.begin(), v.end());
  return true;
}

bool set_from_text(KeySpec& s, const Field& f, std::string_view text, std::string& err) {
  switch (f.kind) {
    case FieldKind::flag:
      if (text != "true" && text != "false") {
        err = expected(f);
        return false;
      }
      set_flag(s, text == "true");
      return true;
    case FieldKind::count: {
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        err = "expected a whole number, got '" + std::string(text) + "'";
        return false;
      }
      return set_count(s, f, v, err);
    }
    case FieldKind::list: {
      std::vector<std::string> items;
      for (size_t start = 0; start < text.size();) {
        size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) items.emplace_back(text.substr(start, comma - start));
        start = comma + 1;
      }
      return set_list(s, items, err);
    }
    case FieldKind::text:
      break;
  }
  return set_text(s, f, text, err);
}

bool valid_key_name(std::string_view name, std::string& err) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && name.size() <= 64 && alnum(name[0]) &&
            std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
  if (!ok) {
    err = "key name '" + std::string(name) + "': expected 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit";
  }
  return ok;
}

void apply(const KeySpec& spec, Key& key, int64_t now_ms) {
  if (spec.admin) key.admin = *spec.admin;
  if (spec.models) key.models = *spec.models;
  if (spec.rpm) key.limits.rpm = *spec.rpm;
  if (spec.tpm) key.limits.tpm = *spec.tpm;
  if (spec.concurrency) key.limits.concurrency = *spec.concurrency;
  if (spec.priority) key.priority = *spec.priority;
  if (spec.expires_in_ms) key.expires_ms = *spec.expires_in_ms == 0 ? 0 : now_ms + *spec.expires_in_ms;
  if (spec.note) key.note = *spec.note;
}

}  // namespace corral::auth
