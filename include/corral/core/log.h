// Structured logging: one line per event, key=value pairs, level-filtered.
#pragma once
#include <atomic>
#include <string>
#include <string_view>

namespace corral::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

bool parse_level(std::string_view s, Level& out);
void set_level(Level l);
bool enabled(Level l);

// Writes "ts=… level=… event=<event> <fields>\n" to stderr in one write(2).
void write(Level l, std::string_view event, std::string_view fields = {});

// Quotes a value for key=value output when it has spaces, quotes or '='.
std::string quote(std::string_view v);

}  // namespace corral::log
