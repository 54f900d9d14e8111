// What `corral keys create|set` flags and the admin API's JSON may say about a
// key, validated in this one place: the CLI parses text, the admin API reads
// JSON types, both hand typed values to the same setters, so a value is
// accepted or refused with the same words either way. Errors name no field:
// callers prefix "--rpm" or "rpm".
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corral/auth/key.h"

namespace corral::auth {

// Fields a request names; unset ones keep their value (set, PATCH) or take the default (create).
struct KeySpec {
  std::optional<bool> admin;
  std::optional<std::vector<std::string>> models;
  std::optional<uint32_t> rpm, concurrency;
  std::optional<uint64_t> tpm;
  std::optional<Priority> priority;
  std::optional<int64_t> expires_in_ms;  // 0 = never
  std::optional<std::string> note;
  bool empty() const {
    return !admin && !models && !rpm && !concurrency && !tpm && !priority && !expires_in_ms && !note;
  }
};

inline constexpr uint32_t kMaxRpm = 100000;  // the request window keeps one timestamp per allowed request
inline constexpr uint64_t kMaxTpm = 10000000000ull;
inline constexpr uint32_t kMaxConcurrency = 100000;
inline constexpr size_t kMaxModels = 100;

enum class FieldKind : uint8_t { flag, count, text, list };
struct Field {
  std::string_view name;  // also the CLI flag without "--" and the JSON member
  FieldKind kind;
};
inline constexpr Field kFields[] = {
    {"admin", FieldKind::flag},   {"models", FieldKind::list},       {"rpm", FieldKind::count},
    {"tpm", FieldKind::count},    {"concurrency", FieldKind::count}, {"priority", FieldKind::text},
    {"expires", FieldKind::text}, {"note", FieldKind::text},
};
const Field* find_field(std::string_view name);

// What a field of this kind takes ("expected a whole number"), for a value of the wrong type.
std::string_view expected(const Field& f);

// One setter per kind, for a field of that kind; each false with err saying what was expected.
void set_flag(KeySpec& s, bool admin);
bool set_count(KeySpec& s, const Field& f, uint64_t v, std::string& err);
bool set_text(KeySpec& s, const Field& f, std::string_view v, std::string& err);
bool set_list(KeySpec& s, std::span<const std::string> models, std::string& err);
// A CLI value: "10" for counts, "a,b" for lists, "true|false" for flags.
bool set_from_text(KeySpec& s, const Field& f, std::string_view text, std::string& err);

// 1..64 of [A-Za-z0-9._-], starting with a letter or digit: key names go into
// logs, metric labels and URL paths unquoted.
bool valid_key_name(std::string_view name, std::string& err);

// "30d", "12h", "90m", "45s", "2w" or "never" (0).
bool parse_expiry(std::string_view s, int64_t& ms, std::string& err);

// Writes the fields spec names into key; expiry counts from now_ms.
void apply(const KeySpec& spec, Key& key, int64_t now_ms);

}  // namespace corral::auth
