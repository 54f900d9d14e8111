#include "corral/fleet/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "poll_loop.h"

using namespace corral::fleet;
using corral::fleet::testing::now_ms;
using corral::fleet::testing::poll_until;
using corral::fleet::testing::wait_gone;
using A = SupervisorAction;
using S = SupervisorState;

TEST(Supervisor, StartsAndRunsOnceHealthy) {
  Supervisor s({});
  EXPECT_EQ(s.state(), S::stopped);
  EXPECT_EQ(s.start(0), A::spawn);
  EXPECT_EQ(s.start(0), A::none);
  EXPECT_EQ(s.state(), S::starting);
  EXPECT_EQ(s.on_health(true, 100), A::none);
  EXPECT_EQ(s.state(), S::running);
  EXPECT_EQ(s.restarts(), 0u);
}

TEST(Supervisor, RestartsAfterExitWithBackoffDoublingToSixtySeconds) {
  Supervisor s({});
  int64_t t = 0;
  ASSERT_EQ(s.start(t), A::spawn);
  std::vector<int64_t> delays;
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(s.on_exit(ExitStatus::exited(1), t), A::none);
    EXPECT_EQ(s.state(), S::backoff);
    int64_t due = s.retry_at_ms();
    delays.push_back(due - t);
    EXPECT_EQ(s.on_tick(due - 1), A::none);
    EXPECT_EQ(s.on_tick(due), A::spawn);
    EXPECT_EQ(s.state(), S::starting);
    t = due + 10;
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
  EXPECT_EQ(s.restarts(), 9u);
  ASSERT_TRUE(s.last_exit());
  EXPECT_EQ(s.last_exit()->status.code, 1);
  EXPECT_EQ(s.last_exit()->at_ms, t - 10 - 60000);
}

TEST(Supervisor, ThreeConsecutiveFailedChecksRestartIt) {
  Supervisor s({});
  s.start(0);
  s.on_health(true, 10);
  EXPECT_EQ(s.on_health(false, 20), A::none);
  EXPECT_EQ(s.on_health(false, 30), A::none);
  EXPECT_EQ(s.on_health(true, 40), A::none) << "a good check resets the count";
  EXPECT_EQ(s.on_health(false, 50), A::none);
  EXPECT_EQ(s.on_health(false, 60), A::none);
  EXPECT_EQ(s.failed_checks(), 2u);
  EXPECT_EQ(s.on_health(false, 70), A::terminate);
  EXPECT_EQ(s.state(), S::stopping);
  EXPECT_EQ(s.on_health(false, 80), A::none) << "already being restarted";
  EXPECT_EQ(s.on_exit(ExitStatus::killed(SIGTERM), 90), A::none);
  EXPECT_EQ(s.state(), S::backoff);
  EXPECT_EQ(s.on_tick(1090), A::spawn);
  EXPECT_EQ(s.restarts(), 1u);
  EXPECT_EQ(s.last_exit()->status.signal, SIGTERM);
}

TEST(Supervisor, RestartAfterComesFromTheConfig) {
  corral::config::SuperviseConfig c;
  c.restart_after = 1;
  c.stop_timeout_ms = 2500;
  Supervisor s(SupervisorPolicy::from(c));
  s.start(0);
  EXPECT_EQ(s.on_health(false, 10), A::terminate);
  EXPECT_EQ(s.policy().stop_timeout_ms, 2500u);
}

TEST(Supervisor, AHealthyStretchResetsTheBackoff) {
  Supervisor s({});
  s.start(0);
  s.on_exit(ExitStatus::exited(1), 0);
  s.on_tick(1000);
  s.on_exit(ExitStatus::exited(1), 1000);
  s.on_tick(3000);
  EXPECT_EQ(s.next_backoff_ms(), 4000u);
  s.on_health(true, 3100);
  s.on_tick(3100 + 59999);
  EXPECT_EQ(s.next_backoff_ms(), 4000u);
  s.on_tick(3100 + 60000);
  EXPECT_EQ(s.next_backoff_ms(), 1000u);
  s.on_exit(ExitStatus::exited(1), 70000);
  EXPECT_EQ(s.retry_at_ms(), 71000);
}

TEST(Supervisor, StopIsForGood) {
  Supervisor s({});
  s.start(0);
  s.on_health(true, 10);
  EXPECT_EQ(s.stop(20), A::terminate);
  EXPECT_EQ(s.on_exit(ExitStatus::killed(SIGTERM), 30), A::none);
  EXPECT_EQ(s.state(), S::stopped);
  EXPECT_EQ(s.on_tick(100000), A::none);
  EXPECT_EQ(s.on_health(false, 100000), A::none);

  Supervisor b({});
  b.start(0);
  b.on_exit(ExitStatus::exited(1), 0);
  EXPECT_EQ(b.stop(10), A::none) << "in back-off nothing runs";
  EXPECT_EQ(b.state(), S::stopped);
  EXPECT_EQ(b.on_tick(5000), A::none);

  Supervisor r({});
  r.start(0);
  for (int i = 0; i < 3; ++i) r.on_health(false, i);
  EXPECT_EQ(r.stop(10), A::none) << "the restart's SIGTERM is already sent";
  r.on_exit(ExitStatus::killed(SIGTERM), 20);
  EXPECT_EQ(r.state(), S::stopped);
}

TEST(Supervisor, ASpawnThatFailsBacksOff) {
  Supervisor s({});
  s.start(0);
  s.on_spawn_failed(0);
  EXPECT_EQ(s.state(), S::backoff);
  EXPECT_EQ(s.on_tick(999), A::none);
  EXPECT_EQ(s.on_tick(1000), A::spawn);
}

namespace {

void drive(SupervisedBackend& b, const std::function<bool()>& done, int64_t tick_offset = 0) {
  poll_until([&](std::vector<pollfd>& p) { b.poll_fds(p); }, [&](int fd) { b.on_ready(fd, now_ms()); },
             [&] {
               b.on_tick(now_ms() + tick_offset);
               return done();
             });
}

}  // namespace

TEST(SupervisedBackend, RestartsAProcessThatExits) {
  corral::config::SuperviseConfig c;
  c.command = {"sh", "-c", "echo up; exit 3"};
  SupervisedBackend b("local", c);
  b.start(now_ms());
  EXPECT_GT(b.status().pid, 0);
  drive(b, [&] { return b.status().state == "backoff"; });
  ASSERT_EQ(b.status().state, "backoff");
  ASSERT_TRUE(b.status().last_exit);
  EXPECT_EQ(b.status().last_exit->status.code, 3);
  EXPECT_EQ(b.status().pid, 0);
  b.on_tick(b.status().retry_at_ms);
  EXPECT_EQ(b.status().state, "starting");
  EXPECT_EQ(b.status().restarts, 1u);
  EXPECT_GT(b.status().pid, 0);
  b.stop(now_ms());
  drive(b, [&] { return b.stopped(); });
  EXPECT_TRUE(b.stopped());
}

TEST(SupervisedBackend, FailedHealthChecksTerminateAndRestartIt) {
  corral::config::SuperviseConfig c;
  c.command = {"sleep", "100"};
  c.restart_after = 3;
  SupervisedBackend b("local", c);
  b.start(now_ms());
  int first = b.status().pid;
  ASSERT_GT(first, 0);
  for (int i = 0; i < 3; ++i) b.on_health(false, now_ms());
  EXPECT_EQ(b.status().state, "stopping");
  drive(b, [&] { return b.status().state == "backoff"; });
  ASSERT_TRUE(b.status().last_exit);
  EXPECT_EQ(b.status().last_exit->status.signal, SIGTERM);
  EXPECT_TRUE(wait_gone(first));
  b.on_tick(b.status().retry_at_ms);
  EXPECT_NE(b.status().pid, 0);
  EXPECT_NE(b.status().pid, first);
  int second = b.status().pid;
  b.stop(now_ms());
  drive(b, [&] { return b.stopped(); });
  EXPECT_TRUE(wait_gone(second));
}

TEST(SupervisedBackend, StopKillsAChildThatIgnoresSigtermAfterStopTimeout) {
  corral::config::SuperviseConfig c;
  std::string marker = "/tmp/corral-supervisor-test-" + std::to_string(getpid());
  c.command = {"sh", "-c", "trap '' TERM; touch " + marker + "; while :; do sleep 1; done"};
  c.stop_timeout_ms = 10000;
  SupervisedBackend b("local", c);
  b.start(now_ms());
  drive(b, [&] { return ::access(marker.c_str(), F_OK) == 0; });  // SIGTERM is ignored from here on
  std::remove(marker.c_str());
  b.on_health(true, now_ms());
  b.stop(now_ms());
  EXPECT_EQ(b.status().state, "stopping");
  EXPECT_GT(b.next_deadline_ms(), 0);
  drive(
      b, [&] { return b.stopped(); }, 10000);  // the clock passes stop_timeout
  EXPECT_TRUE(b.stopped());
  EXPECT_EQ(b.status().last_exit->status.signal, SIGKILL);
}

TEST(SupervisedBackend, ACommandThatIsMissingBacksOff) {
  corral::config::SuperviseConfig c;
  c.command = {"corral-no-such-ollama", "serve"};
  SupervisedBackend b("local", c);
  b.start(1000);
  EXPECT_EQ(b.status().state, "backoff");
  EXPECT_EQ(b.next_deadline_ms(), 2000);
}
