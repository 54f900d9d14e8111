#include "corral/core/log.h"

#include <unistd.h>

#include "corral/core/clock.h"

namespace corral::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

bool parse_level(std::string_view s, Level& out) {
  for (int i = 0; i < 4; ++i) {
    if (s == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void set_level(Level l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }

bool enabled(Level l) { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }

void write(Level l, std::string_view event, std::string_view fields) {
  if (!enabled(l)) return;
  std::string ts = core::iso_time(core::wall_us() / 1000);
  std::string line;
  line.reserve(64 + event.size() + fields.size());
  line.append("ts=").append(ts).append(" level=").append(kNames[static_cast<int>(l)]);
  line.append(" event=").append(event);
  if (!fields.empty()) line.append(" ").append(fields);
  line.push_back('\n');
  ssize_t rc = ::write(2, line.data(), line.size());
  (void)rc;
}

std::string quote(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\\') plain = false;
  }
  if (plain) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  out.push_back('"');
  return out;
}

}  // namespace corral::log
