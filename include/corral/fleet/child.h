// A child process run by the control thread: its own process group, a pidfd for exit
// notification, stdout and stderr through non-blocking pipes split into lines, every
// descriptor CLOEXEC. No thread per child: the control thread polls poll_fds() with its
// other descriptors and calls on_ready() for the ones that fired and on_tick() on time-outs.
// The child gets PR_SET_PDEATHSIG(SIGKILL), so it dies if the spawning thread does; its own
// children are reached through the group (terminate, kill).
#pragma once
#include <poll.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corral/core/fd.h"
#include "corral/fleet/exit_status.h"

namespace corral::fleet {

enum class Stream : uint8_t { out, err };
std::string_view stream_name(Stream s);  // "stdout" | "stderr"

// Splits a byte stream into lines: "\n" ends one (a "\r" before it is dropped), a line longer
// than max_line is cut into pieces of max_line bytes, flush() emits an unterminated last line.
class LineSplitter {
 public:
  using Emit = std::function<void(std::string_view)>;
  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}
  void feed(std::string_view bytes, const Emit& emit);
  void flush(const Emit& emit);

 private:
  size_t max_line_;
  std::string partial_;
};

struct SpawnSpec {
  std::vector<std::string> argv;                         // argv[0] without '/' is looked up in PATH
  std::vector<std::pair<std::string, std::string>> env;  // set on top of corral's environment
  size_t max_line = 4096;                                // longer output lines are split
  bool kill_group_on_exit = true;                        // SIGKILL what is left of the group when the leader exits
};

class Child {
 public:
  using OnLine = std::function<void(Stream, std::string_view)>;

  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // a child still running is killed (SIGKILL to the group) and reaped

  // Forks and execs; false with err ("exec ollama: No such file or directory") when it could not.
  bool spawn(const SpawnSpec& spec, OnLine on_line, std::string& err);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Appends {fd, POLLIN} for the pidfd and the open pipes.
  void poll_fds(std::vector<pollfd>& out) const;
  // Handles one descriptor that poll reported; false when it is not one of this child's.
  bool on_ready(int fd);
  // Sends SIGKILL when a terminate() deadline has passed.
  void on_tick(int64_t now_ms);
  // Earliest time on_tick has something to do, or -1.
  int64_t next_deadline_ms() const { return running() ? kill_at_ms_ : -1; }

  // SIGTERM to the whole group now, SIGKILL at now_ms + timeout_ms if it is still there.
  void terminate(int64_t now_ms, uint32_t timeout_ms);
  // SIGKILL to the whole group now.
  void kill();
  // Whether the group is SIGKILLed when the leader exits (hooks keep their background
  // processes after a normal exit, but not after a time-out).
  void set_kill_group_on_exit(bool on) { kill_group_on_exit_ = on; }

  // The exit status once the child has been reaped (then all its output has been delivered).
  const std::optional<ExitStatus>& exit_status() const { return status_; }

 private:
  void read_pipe(core::UniqueFd& fd, LineSplitter& lines, Stream s, bool to_eof);
  void reap();
  void close_pipes();

  pid_t pid_ = -1;
  core::UniqueFd pidfd_, out_, err_;
  LineSplitter out_lines_{4096}, err_lines_{4096};
  OnLine on_line_;
  bool kill_group_on_exit_ = true;
  int64_t kill_at_ms_ = -1;
  std::optional<ExitStatus> status_;
};

// The default OnLine for backend processes: one log line per output line,
// event=backend_output backend=NAME stream=stdout|stderr line="…".
Child::OnLine log_lines(std::string backend, std::string_view event = "backend_output");

}  // namespace corral::fleet
