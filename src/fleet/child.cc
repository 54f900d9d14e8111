#include "corral/fleet/child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace corral::fleet {
namespace {

// Everything the child needs, built before fork: after fork only async-signal-safe calls.
struct ExecPlan {
  std::string path;
  std::vector<std::string> args, envs;
  std::vector<char*> argv, envp;
};

// The child's PATH decides where its command is found: the spec's when it sets one.
std::string find_in_path(const std::string& name, const SpawnSpec& spec) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  for (const auto& [k, v] : spec.env) {
    if (k == "PATH") path = v.c_str();
  }
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

bool overridden(const char* entry, const SpawnSpec& spec) {
  for (const auto& [name, value] : spec.env) {
    if (std::strncmp(entry, name.c_str(), name.size()) == 0 && entry[name.size()] == '=') return true;
  }
  return false;
}

ExecPlan make_plan(const SpawnSpec& spec) {
  ExecPlan p;
  p.path = find_in_path(spec.argv[0], spec);
  p.args = spec.argv;
  for (char** e = environ; e && *e; ++e) {
    if (!overridden(*e, spec)) p.envs.emplace_back(*e);
  }
  for (const auto& [name, value] : spec.env) p.envs.push_back(name + "=" + value);
  for (std::string& a : p.args) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (std::string& e : p.envs) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  return p;
}

[[noreturn]] void exec_failed(int report_fd) {
  int e = errno;
  ssize_t n = ::write(report_fd, &e, sizeof e);
  (void)n;
  _exit(127);
}

// In the forked child. Signals corral blocks (SIGTERM, SIGPIPE…) or ignores would stay
// blocked or ignored across exec, so the mask and dispositions are reset.
[[noreturn]] void exec_child(const ExecPlan& p, int out_w, int err_w, int report_fd, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // corral died before the line above
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) sigaction(s, &dfl, nullptr);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Above 2 first, so the dup2s below cannot overwrite one another.
  int i = fcntl(in, F_DUPFD_CLOEXEC, 3), o = fcntl(out_w, F_DUPFD_CLOEXEC, 3), e = fcntl(err_w, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) exec_failed(report_fd);
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // nothing else of corral's reaches the program
  execve(p.path.c_str(), p.argv.data(), p.envp.data());
  exec_failed(report_fd);
}

// Debian 12's <sys/pidfd.h> declares pidfd_open without extern "C", so C++ cannot link it.
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

bool make_pipe(core::UniqueFd& r, core::UniqueFd& w) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  r.reset(fds[0]);
  w.reset(fds[1]);
  return true;
}

// Only corral's end is non-blocking: the child's writes must block when the pipe is full.
void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

Child::~Child() {
  if (!running()) return;
  kill();
  siginfo_t si{};
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &si, WEXITED) != 0 && errno == EINTR) {
  }
}

bool Child::spawn(const SpawnSpec& spec, OnLine on_line, std::string& err) {
  if (spec.argv.empty() || running()) {
    err = spec.argv.empty() ? "empty command" : "already running";
    return false;
  }
  ExecPlan plan = make_plan(spec);
  if (plan.path.empty()) {
    err = "command not found in PATH: " + spec.argv[0];
    return false;
  }
  core::UniqueFd out_r, out_w, err_r, err_w, report_r, report_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) || !make_pipe(report_r, report_w)) {
    err = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    err = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) exec_child(plan, out_w.get(), err_w.get(), report_w.get(), parent);
  setpgid(pid, pid);  // also here, so the group exists when spawn returns (EACCES once it has exec'd)
  out_w.reset();
  err_w.reset();
  report_w.reset();
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(report_r.get(), &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
  }
  if (n == sizeof child_errno) {
    waitpid(pid, nullptr, 0);
    err = "exec " + plan.path + ": " + std::strerror(child_errno);
    return false;
  }
  int pidfd = open_pidfd(pid);
  if (pidfd < 0) {
    err = std::string("pidfd_open: ") + std::strerror(errno);
    ::kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return false;
  }
  set_nonblocking(out_r.get());
  set_nonblocking(err_r.get());
  pid_ = pid;
  pidfd_.reset(pidfd);
  out_ = std::move(out_r);
  err_ = std::move(err_r);
  out_lines_ = LineSplitter(spec.max_line);
  err_lines_ = LineSplitter(spec.max_line);
  on_line_ = std::move(on_line);
  kill_group_on_exit_ = spec.kill_group_on_exit;
  kill_at_ms_ = -1;
  status_.reset();
  return true;
}

void Child::poll_fds(std::vector<pollfd>& out) const {
  for (const core::UniqueFd* fd : {&pidfd_, &out_, &err_}) {
    if (*fd) out.push_back({fd->get(), POLLIN, 0});
  }
}

bool Child::on_ready(int fd) {
  if (fd < 0) return false;
  if (fd == out_.get()) read_pipe(out_, out_lines_, Stream::out, false);
  else if (fd == err_.get()) read_pipe(err_, err_lines_, Stream::err, false);
  else if (fd == pidfd_.get()) reap();
  else return false;
  return true;
}

void Child::read_pipe(core::UniqueFd& fd, LineSplitter& lines, Stream s, bool to_eof) {
  char buf[16384];
  auto emit = [&](std::string_view line) {
    if (on_line_) on_line_(s, line);
  };
  // A chatty child gets a bounded share of the loop; poll reports the rest next round.
  for (int round = 0; fd && (to_eof || round < 8); ++round) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      lines.feed(std::string_view(buf, static_cast<size_t>(n)), emit);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    lines.flush(emit);  // EOF or a read error: the stream is over
    fd.reset();
  }
}

// The pidfd is readable: the leader has exited and is a zombie until waitid below, so its
// pid, which is also the group id, cannot have been reused by anything else yet.
void Child::reap() {
  if (kill_group_on_exit_) ::kill(-pid_, SIGKILL);
  siginfo_t si{};
  int rc;
  while ((rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &si, WEXITED | WNOHANG)) != 0 &&
         errno == EINTR) {
  }
  if (rc == 0 && si.si_pid == 0) return;
  if (rc != 0) status_ = ExitStatus{};  // reaped behind our back (SIGCHLD ignored): the status is lost
  else status_ = si.si_code == CLD_EXITED ? ExitStatus::exited(si.si_status) : ExitStatus::killed(si.si_status);
  // What the leader wrote before it exited is in the pipes now; what its leftover children
  // write later is not waited for.
  read_pipe(out_, out_lines_, Stream::out, false);
  read_pipe(err_, err_lines_, Stream::err, false);
  close_pipes();
  pidfd_.reset();
  kill_at_ms_ = -1;
}

void Child::close_pipes() {
  auto emit_out = [this](std::string_view line) {
    if (on_line_) on_line_(Stream::out, line);
  };
  auto emit_err = [this](std::string_view line) {
    if (on_line_) on_line_(Stream::err, line);
  };
  out_lines_.flush(emit_out);
  err_lines_.flush(emit_err);
  out_.reset();
  err_.reset();
}

void Child::on_tick(int64_t now_ms) {
  if (running() && kill_at_ms_ >= 0 && now_ms >= kill_at_ms_) {
    kill();
    kill_at_ms_ = -1;
  }
}

void Child::terminate(int64_t now_ms, uint32_t timeout_ms) {
  if (!running()) return;
  ::kill(-pid_, SIGTERM);
  kill_at_ms_ = now_ms + timeout_ms;
}

void Child::kill() {
  if (running()) ::kill(-pid_, SIGKILL);
}

}  // namespace corral::fleet
