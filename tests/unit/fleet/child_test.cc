#include "corral/fleet/child.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "poll_loop.h"

using namespace corral::fleet;
using corral::fleet::testing::poll_until;
using corral::fleet::testing::wait_gone;

namespace {

struct Captured {
  std::vector<std::string> out, err;
};

SpawnSpec sh(const std::string& script) {
  SpawnSpec s;
  s.argv = {"sh", "-c", script};
  return s;
}

bool spawn(Child& c, const SpawnSpec& spec, Captured& cap) {
  std::string err;
  bool ok = c.spawn(
      spec, [&cap](Stream s, std::string_view line) { (s == Stream::out ? cap.out : cap.err).emplace_back(line); },
      err);
  EXPECT_TRUE(ok) << err;
  return ok;
}

bool run_to_exit(Child& c) {
  return poll_until([&](std::vector<pollfd>& p) { c.poll_fds(p); }, [&](int fd) { c.on_ready(fd); },
                    [&] { return c.exit_status().has_value(); });
}

size_t open_fds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d)) ++n;
  closedir(d);
  return n;
}

}  // namespace

TEST(LineSplitter, SplitsLinesDropsCrAndCutsLongOnes) {
  std::vector<std::string> lines;
  auto emit = [&](std::string_view l) { lines.emplace_back(l); };
  LineSplitter s(8);
  s.feed("one\r\ntw", emit);
  s.feed("o\n0123456789abc\n", emit);
  s.feed("12345678", emit);
  s.feed("\ntail", emit);
  s.flush(emit);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "01234567", "89abc", "12345678", "tail"}));
}

TEST(Child, CapturesStdoutAndStderrLinesAndTheExitCode) {
  Child c;
  Captured cap;
  ASSERT_TRUE(spawn(c, sh("echo one; echo two >&2; echo three; printf unterminated; exit 7"), cap));
  EXPECT_GT(c.pid(), 0);
  ASSERT_TRUE(run_to_exit(c));
  EXPECT_EQ(c.exit_status()->code, 7);
  EXPECT_EQ(c.exit_status()->signal, 0);
  EXPECT_EQ(cap.out, (std::vector<std::string>{"one", "three", "unterminated"}));
  EXPECT_EQ(cap.err, (std::vector<std::string>{"two"}));
  EXPECT_FALSE(c.running());
}

TEST(Child, DecodesDeathBySignal) {
  Child c;
  Captured cap;
  ASSERT_TRUE(spawn(c, sh("kill -KILL $$"), cap));
  ASSERT_TRUE(run_to_exit(c));
  EXPECT_EQ(c.exit_status()->signal, SIGKILL);
  EXPECT_EQ(c.exit_status()->describe(), "signal=SIGKILL");
}

TEST(Child, GetsCorralsEnvironmentPlusItsOwnInItsOwnProcessGroup) {
  setenv("CORRAL_TEST_INHERITED", "from-corral", 1);
  setenv("CORRAL_TEST_OVERRIDDEN", "old", 1);
  SpawnSpec spec = sh("echo \"$CORRAL_TEST_INHERITED $CORRAL_TEST_OVERRIDDEN $EXTRA\"; cut -d' ' -f5 /proc/$$/stat");
  spec.env = {{"CORRAL_TEST_OVERRIDDEN", "new"}, {"EXTRA", "x y"}};
  Child c;
  Captured cap;
  ASSERT_TRUE(spawn(c, spec, cap));
  ASSERT_TRUE(run_to_exit(c));
  ASSERT_EQ(cap.out.size(), 2u);
  EXPECT_EQ(cap.out[0], "from-corral new x y");
  EXPECT_EQ(cap.out[1], std::to_string(c.pid())) << "the child leads its own process group";
}

TEST(Child, LooksTheCommandUpInItsOwnPath) {
  std::string dir = "/tmp/corral-child-test-" + std::to_string(getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::string cmd = dir + "/corral-test-command";
  std::ofstream(cmd) << "#!/bin/sh\necho found\n";
  ASSERT_EQ(::chmod(cmd.c_str(), 0700), 0);
  SpawnSpec spec;
  spec.argv = {"corral-test-command"};
  spec.env = {{"PATH", dir + ":/usr/bin:/bin"}};
  Child c;
  Captured cap;
  ASSERT_TRUE(spawn(c, spec, cap));
  ASSERT_TRUE(run_to_exit(c));
  EXPECT_EQ(cap.out, (std::vector<std::string>{"found"}));
  std::remove(cmd.c_str());
  ::rmdir(dir.c_str());
}

TEST(Child, ReportsACommandThatCannotRun) {
  Child c;
  Captured cap;
  std::string err;
  SpawnSpec missing;
  missing.argv = {"corral-no-such-command"};
  EXPECT_FALSE(c.spawn(missing, nullptr, err));
  EXPECT_NE(err.find("corral-no-such-command"), std::string::npos) << err;
  SpawnSpec not_exec;
  not_exec.argv = {"/etc/hostname"};
  EXPECT_FALSE(c.spawn(not_exec, nullptr, err));
  EXPECT_NE(err.find("exec /etc/hostname"), std::string::npos) << err;
}

TEST(Child, TerminateKillsTheWholeGroupWithSigkillAfterTheTimeout) {
  // Both the shell and its background sleep ignore SIGTERM.
  Child c;
  Captured cap;
  ASSERT_TRUE(spawn(c, sh("trap '' TERM; sleep 100 & echo $!; while :; do sleep 1; done"), cap));
  ASSERT_TRUE(poll_until([&](std::vector<pollfd>& p) { c.poll_fds(p); }, [&](int fd) { c.on_ready(fd); },
                         [&] { return !cap.out.empty(); }));
  int grandchild = std::stoi(cap.out[0]);
  c.terminate(1000, 5000);
  EXPECT_EQ(c.next_deadline_ms(), 6000);
  c.on_tick(5999);
  poll_until([&](std::vector<pollfd>& p) { c.poll_fds(p); }, [&](int fd) { c.on_ready(fd); },
             [&] { return c.exit_status().has_value(); }, 300);
  EXPECT_TRUE(c.running()) << "SIGTERM is ignored; SIGKILL is not due yet";
  c.on_tick(6000);
  ASSERT_TRUE(run_to_exit(c));
  EXPECT_EQ(c.exit_status()->signal, SIGKILL);
  EXPECT_TRUE(wait_gone(grandchild)) << "the group's other members are killed too";
}

TEST(Child, LeavesNoDescriptorBehindAndLetsNoneIntoTheChild) {
  int plain = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(plain, 0);
  size_t before = open_fds();
  for (int i = 0; i < 3; ++i) {
    Child c;
    Captured cap;
    ASSERT_TRUE(spawn(c, sh("test -e /proc/$$/fd/" + std::to_string(plain) + " && echo leaked || echo clean"), cap));
    ASSERT_TRUE(run_to_exit(c));
    ASSERT_EQ(cap.out, (std::vector<std::string>{"clean"}));
  }
  {
    Child running;  // destroyed while running: killed and reaped
    Captured cap;
    ASSERT_TRUE(spawn(running, sh("sleep 100"), cap));
  }
  EXPECT_EQ(open_fds(), before);
  ::close(plain);
}

TEST(Child, DiesWithTheThreadThatSpawnedIt) {
  Child* c = new Child;
  std::thread t([c] {
    std::string err;
    ASSERT_TRUE(c->spawn(sh("sleep 100"), nullptr, err)) << err;
  });
  t.join();  // PR_SET_PDEATHSIG fires when the spawning thread ends
  ASSERT_TRUE(run_to_exit(*c));
  EXPECT_EQ(c->exit_status()->signal, SIGKILL);
  delete c;
}
