// An on-demand backend's hook (start, stop, status): a command run in its own process
// group with a time-out, polled by the control thread like a Child. Its environment is
// corral's (so EXOSCALE_API_KEY, EXOSCALE_ZONE, OLLAMA_MODEL… reach it) plus
// CORRAL_BACKEND_NAME, CORRAL_HOOK and what the driver adds. Its answer is the last
// non-empty stdout line, a JSON object: {"url": "http://…", other fields for /status}.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corral/fleet/child.h"

namespace corral::fleet {

struct HookSpec {
  std::string backend;  // CORRAL_BACKEND_NAME
  std::string action;   // CORRAL_HOOK: start | stop | status
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // more variables (CORRAL_REMOTE_URL…)
  uint32_t timeout_ms = 300000;
  uint32_t kill_grace_ms = 5000;  // after the time-out: SIGTERM, then SIGKILL this much later
};

// One field of the answer other than url, with its value as JSON text ("\"ch-gva-2\"", "50",
// "true"), ready to be written into /status. Objects, arrays and null are left out.
struct HookField {
  std::string key;
  std::string json;
};

struct HookAnswer {
  std::string url;                // empty when the object has no string "url"
  std::vector<HookField> fields;  // in the order printed
};

// Parses one line as a JSON object; false with err when it is not one.
bool parse_hook_answer(std::string_view line, HookAnswer& out, std::string& err);

inline constexpr size_t kStderrTail = 2048;

struct HookResult {
  ExitStatus exit;
  bool timed_out = false;
  std::string last_line;             // last non-empty stdout line
  std::optional<HookAnswer> answer;  // last_line as a JSON object
  std::string answer_error;          // why last_line is not one (empty when it is, or there was none)
  std::string stderr_tail;           // the last kStderrTail bytes of stderr

  bool ok() const { return !timed_out && exit.success(); }
  // For /status "error": "start hook timed out after 600s: <stderr tail>", "… exited with code=2: …".
  std::string describe(std::string_view action, uint32_t timeout_ms) const;
};

class Hook {
 public:
  // false with err when the command could not be started (not found, not executable).
  bool start(const HookSpec& spec, int64_t now_ms, std::string& err);
  bool running() const { return child_ && child_->running(); }

  void poll_fds(std::vector<pollfd>& out) const;
  bool on_ready(int fd);
  // The time-out: SIGTERM to the group, SIGKILL after kill_grace_ms.
  void on_tick(int64_t now_ms);
  int64_t next_deadline_ms() const;
  // SIGKILL to the group (corral is stopping); the result then says signal=SIGKILL.
  void kill();

  // The result, once, after the hook has exited.
  std::optional<HookResult> take_result();

 private:
  void on_line(Stream s, std::string_view line);

  std::unique_ptr<Child> child_;
  HookSpec spec_;
  Child::OnLine log_;
  int64_t deadline_ms_ = -1;
  HookResult result_;
};

}  // namespace corral::fleet
