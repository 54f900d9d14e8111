#include "corral/fleet/on_demand.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "corral/fleet/scaling_group.h"
#include "poll_loop.h"

using namespace corral::fleet;
using corral::fleet::testing::now_ms;
using corral::fleet::testing::poll_until;
using H = HookAction;
using P = Provisioning;

namespace {

constexpr int64_t kMin = 60000;

HookResult answered(const std::string& json) {
  HookResult r;
  r.exit = ExitStatus::exited(0);
  r.last_line = json;
  HookAnswer a;
  if (parse_hook_answer(json, a, r.answer_error)) r.answer = a;
  return r;
}

HookResult failed(int code, const std::string& stderr_tail) {
  HookResult r;
  r.exit = ExitStatus::exited(code);
  r.stderr_tail = stderr_tail;
  return r;
}

const char* kUp = R"({"url":"http://185.19.30.45:11434","instance_id":"i-1","zone":"at-vie-2"})";

OnDemandPolicy policy() {
  OnDemandPolicy p;
  p.idle_timeout_ms = 30 * kMin;
  return p;
}

// Brought to ready at time t.
OnDemand ready_at(int64_t t, OnDemandPolicy p = policy()) {
  OnDemand d(p);
  EXPECT_EQ(d.want_up(t), H::start);
  EXPECT_EQ(d.on_hook_done(H::start, answered(kUp), t), H::none);
  EXPECT_EQ(d.state(), P::ready);
  return d;
}

}  // namespace

TEST(OnDemand, DemandProvisionsThenTheStartHooksUrlMakesItReady) {
  OnDemand d(policy());
  EXPECT_EQ(d.state(), P::idle);
  EXPECT_EQ(d.begin(0), H::none) << "no status hook";
  EXPECT_EQ(d.want_up(1000), H::start);
  EXPECT_EQ(d.state(), P::provisioning);
  EXPECT_EQ(d.want_up(2000), H::none) << "one start at a time";
  EXPECT_EQ(d.hook_running(), H::start);
  EXPECT_EQ(d.on_hook_done(H::start, answered(kUp), 90000), H::none);
  EXPECT_EQ(d.state(), P::ready);
  EXPECT_EQ(d.remote_url(), "http://185.19.30.45:11434");
  ASSERT_EQ(d.fields().size(), 2u);
  EXPECT_EQ(d.fields()[0].key, "instance_id");
  EXPECT_EQ(d.started_at_ms(), 90000);
  EXPECT_EQ(d.want_up(91000), H::none);
}

TEST(OnDemand, IdleStopsExactlyOnceAndNeverWithARequestInFlight) {
  OnDemand d = ready_at(0);
  int stops = 0;
  auto tick = [&](int64_t t, uint32_t in_flight) {
    H a = d.on_tick(t, in_flight);
    stops += a == H::stop;
    return a;
  };
  EXPECT_EQ(tick(29 * kMin, 0), H::none);
  EXPECT_EQ(d.idle_for_ms(29 * kMin), 29 * kMin);
  // A stream that runs past the idle timeout is never cut, and counts as activity.
  for (int64_t t = 29 * kMin; t <= 75 * kMin; t += kMin) EXPECT_EQ(tick(t, 1), H::none);
  EXPECT_EQ(tick(75 * kMin + 30 * kMin - 1, 0), H::none);
  EXPECT_EQ(d.next_deadline_ms(), 105 * kMin);
  EXPECT_EQ(tick(105 * kMin, 0), H::stop);
  EXPECT_EQ(d.state(), P::stopping);
  for (int64_t t = 105 * kMin; t < 200 * kMin; t += kMin) tick(t, 0);
  EXPECT_EQ(d.on_hook_done(H::stop, answered("{}"), 106 * kMin), H::none);
  EXPECT_EQ(d.state(), P::idle);
  EXPECT_TRUE(d.remote_url().empty());
  for (int64_t t = 106 * kMin; t < 300 * kMin; t += kMin) tick(t, 0);
  EXPECT_EQ(stops, 1);
}

TEST(OnDemand, RequestsMoveTheIdleClock) {
  OnDemand d = ready_at(0);
  d.on_request(20 * kMin);
  EXPECT_EQ(d.on_tick(30 * kMin, 0), H::none);
  EXPECT_EQ(d.on_tick(50 * kMin, 0), H::stop);
}

TEST(OnDemand, ZeroIdleTimeoutNeverStops) {
  OnDemandPolicy p = policy();
  p.idle_timeout_ms = 0;
  OnDemand d = ready_at(0, p);
  EXPECT_EQ(d.on_tick(1000 * kMin, 0), H::none);
  EXPECT_EQ(d.next_deadline_ms(), -1);
}

TEST(OnDemand, AFailingStartIsCleanedUpThenErrorThenRecoversWithBackoff) {
  OnDemand d(policy());
  ASSERT_EQ(d.want_up(0), H::start);
  EXPECT_EQ(d.on_hook_done(H::start, failed(1, "Error: quota exceeded for a5000.small"), 1000), H::stop)
      << "whatever it created is stopped";
  EXPECT_EQ(d.state(), P::stopping);
  EXPECT_EQ(d.on_hook_done(H::stop, answered("{}"), 2000), H::none);
  EXPECT_EQ(d.state(), P::error);
  EXPECT_EQ(d.error(), "start hook exited with code=1: Error: quota exceeded for a5000.small");
  EXPECT_EQ(d.retry_at_ms(), 7000);
  EXPECT_EQ(d.want_up(6999), H::none) << "back-off";
  EXPECT_EQ(d.want_up(7000), H::start);
  EXPECT_EQ(d.state(), P::provisioning);
  d.on_hook_done(H::start, failed(1, "still no quota"), 8000);
  d.on_hook_done(H::stop, answered("{}"), 8000);
  EXPECT_EQ(d.retry_at_ms(), 18000) << "the back-off doubled";
  EXPECT_EQ(d.want_up(18000), H::start);
  EXPECT_EQ(d.on_hook_done(H::start, answered(kUp), 20000), H::none);
  EXPECT_EQ(d.state(), P::ready);
  EXPECT_TRUE(d.error().empty());
  d.on_tick(20000 + 30 * kMin, 0);
  d.on_hook_done(H::stop, answered("{}"), 20000 + 30 * kMin);
  ASSERT_EQ(d.want_up(21000 + 30 * kMin), H::start);
  d.on_hook_done(H::start, failed(1, "x"), 21000 + 30 * kMin);
  d.on_hook_done(H::stop, answered("{}"), 21000 + 30 * kMin);
  EXPECT_EQ(d.retry_at_ms(), 26000 + 30 * kMin) << "ready reset the back-off";
}

TEST(OnDemand, StartTimeoutAndMissingUrlAreErrors) {
  OnDemand d(policy());
  d.want_up(0);
  HookResult timed_out;
  timed_out.timed_out = true;
  timed_out.exit = ExitStatus::killed(15);
  d.on_hook_done(H::start, timed_out, 600000);
  d.on_hook_done(H::stop, answered("{}"), 600000);
  EXPECT_EQ(d.error(), "start hook timed out after 600s");

  OnDemand n(policy());
  n.want_up(0);
  n.on_hook_done(H::start, answered("done"), 1000);
  n.on_hook_done(H::stop, answered("{}"), 1000);
  EXPECT_EQ(n.state(), P::error);
  EXPECT_EQ(n.error(), "start hook: last stdout line is not a JSON object");

  OnDemandPolicy fixed = policy();
  fixed.fixed_url = "http://192.168.1.20:11434";
  OnDemand f(fixed);
  f.want_up(0);
  f.on_hook_done(H::start, answered("{\"woken\":true}"), 1000);
  EXPECT_EQ(f.state(), P::ready);
  EXPECT_EQ(f.remote_url(), "http://192.168.1.20:11434");
}

TEST(OnDemand, AFailingStopIsAnErrorAndIsRetried) {
  OnDemand d = ready_at(0);
  ASSERT_EQ(d.on_tick(30 * kMin, 0), H::stop);
  EXPECT_EQ(d.on_hook_done(H::stop, failed(2, "api timeout"), 30 * kMin), H::none);
  EXPECT_EQ(d.state(), P::error);
  EXPECT_EQ(d.error(), "stop hook exited with code=2: api timeout");
  EXPECT_EQ(d.on_tick(30 * kMin + 4999, 0), H::none);
  EXPECT_EQ(d.next_deadline_ms(), 30 * kMin + 5000);
  EXPECT_EQ(d.on_tick(30 * kMin + 5000, 0), H::stop) << "the instance may still be running: stop again";
  EXPECT_EQ(d.on_hook_done(H::stop, answered("{}"), 31 * kMin), H::none);
  EXPECT_EQ(d.state(), P::idle);
  EXPECT_TRUE(d.error().empty());
}

TEST(OnDemand, StatusHookAdoptsARunningInstance) {
  OnDemandPolicy p = policy();
  p.has_status_hook = true;
  OnDemand d(p);
  EXPECT_EQ(d.begin(0), H::status);
  EXPECT_EQ(d.on_hook_done(H::status, answered(kUp), 2000), H::none);
  EXPECT_EQ(d.state(), P::ready);
  EXPECT_EQ(d.remote_url(), "http://185.19.30.45:11434");
  EXPECT_EQ(d.on_tick(2000 + 30 * kMin - 1, 0), H::none) << "idle counts from the adoption";
  EXPECT_EQ(d.on_tick(2000 + 30 * kMin, 0), H::stop);
}

TEST(OnDemand, StatusExitThreeMeansNoneRunningAndDemandWaitsForIt) {
  OnDemandPolicy p = policy();
  p.has_status_hook = true;
  OnDemand d(p);
  ASSERT_EQ(d.begin(0), H::status);
  EXPECT_EQ(d.want_up(100), H::none) << "the status answer decides first";
  EXPECT_EQ(d.on_hook_done(H::status, failed(3, ""), 200), H::start);
  EXPECT_EQ(d.state(), P::provisioning);
  EXPECT_TRUE(d.error().empty());

  OnDemand e(p);
  e.begin(0);
  EXPECT_EQ(e.on_hook_done(H::status, failed(1, "exo: command not found"), 200), H::none);
  EXPECT_EQ(e.state(), P::idle);
  EXPECT_EQ(e.error(), "status hook exited with code=1: exo: command not found");
  EXPECT_EQ(e.want_up(300), H::start) << "the next request still tries";
}

TEST(OnDemand, DemandWhileStoppingStartsItAgainAfterwards) {
  OnDemand d = ready_at(0);
  ASSERT_EQ(d.on_tick(30 * kMin, 0), H::stop);
  EXPECT_EQ(d.want_up(30 * kMin + 1), H::none);
  EXPECT_EQ(d.on_hook_done(H::stop, answered("{}"), 31 * kMin), H::start);
  EXPECT_EQ(d.state(), P::provisioning);
}

TEST(OnDemand, ALostInstanceIsStartedAgain) {
  OnDemand d = ready_at(0);
  EXPECT_EQ(d.on_health(false, 1000), H::none);
  EXPECT_EQ(d.on_health(false, 2000), H::none);
  EXPECT_EQ(d.on_health(true, 3000), H::none);
  EXPECT_EQ(d.on_health(false, 4000), H::none);
  EXPECT_EQ(d.on_health(false, 5000), H::none);
  EXPECT_EQ(d.on_health(false, 6000), H::start);
  EXPECT_EQ(d.state(), P::provisioning);
  EXPECT_NE(d.error().find("health checks failed"), std::string::npos);
}

TEST(OnDemand, WantDownOnlyStopsAReadyIdleMember) {
  OnDemand d = ready_at(0);
  EXPECT_EQ(d.want_down(1000, 2), H::none);
  EXPECT_EQ(d.state(), P::ready);
  EXPECT_EQ(d.want_down(1000, 0), H::stop);
  OnDemand p(policy());
  p.want_up(0);
  EXPECT_EQ(p.want_down(1000, 0), H::none) << "provisioning finishes first";
}

TEST(OnDemand, AHookThatCannotStartIsAnError) {
  OnDemand d(policy());
  d.want_up(0);
  EXPECT_EQ(d.on_hook_failed_to_start(H::start, "command not found in PATH: exo-hook", 0), H::none);
  EXPECT_EQ(d.state(), P::error);
  EXPECT_EQ(d.error(), "start hook: command not found in PATH: exo-hook");
}

TEST(OnDemand, PolicyFromConfig) {
  corral::config::BackendConfig b;
  b.name = "cloud-gpu";
  b.url = "auto";
  b.on_demand.emplace();
  b.on_demand->start = {"start"};
  b.on_demand->stop = {"stop"};
  b.on_demand->idle_timeout_ms = 900000;
  OnDemandPolicy p = OnDemandPolicy::from(b, 3);
  EXPECT_EQ(p.idle_timeout_ms, 900000u);
  EXPECT_FALSE(p.has_status_hook);
  EXPECT_TRUE(p.fixed_url.empty());
  b.url = "http://10.0.0.9:11434";
  b.on_demand->status = {"status"};
  p = OnDemandPolicy::from(b, 3);
  EXPECT_TRUE(p.has_status_hook);
  EXPECT_EQ(p.fixed_url, "http://10.0.0.9:11434");
}

namespace {

// Hooks as scripts in a temporary directory; the stop hook counts its runs in a file.
struct HookDir {
  std::string dir = "/tmp/corral-on-demand-test-" + std::to_string(getpid());
  HookDir() {
    std::string cmd = "mkdir -p " + dir;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  ~HookDir() {
    std::string cmd = "rm -rf " + dir;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string script(const std::string& name, const std::string& body) {
    std::string path = dir + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    std::string cmd = "chmod +x " + path;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return path;
  }
  std::vector<std::string> lines(const std::string& name) {
    std::ifstream in(dir + "/" + name);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
};

corral::config::BackendConfig on_demand_backend(HookDir& h) {
  corral::config::BackendConfig b;
  b.name = "cloud-gpu";
  b.url = "auto";
  b.on_demand.emplace();
  b.on_demand->start = {
      h.script("start", "echo booting >&2\necho '{\"url\":\"http://127.0.0.1:18999\",\"id\":\"i-7\"}'")};
  b.on_demand->stop = {
      h.script("stop", "echo \"$CORRAL_BACKEND_NAME $CORRAL_HOOK $CORRAL_REMOTE_URL\" >> " + h.dir + "/stops")};
  b.on_demand->idle_timeout_ms = 1800000;
  return b;
}

// A group "gpu" of members a and b that acts on the tick it sees a change (no stabilization).
corral::config::ScalingGroupConfig gpu_group() {
  corral::config::ScalingGroupConfig g;
  g.name = "gpu";
  g.members = {"a", "b"};
  g.stabilization_up_ms = 0;
  g.stabilization_down_ms = 0;
  return g;
}

void drive(OnDemandBackend& b, const std::function<bool()>& done, int64_t clock) {
  poll_until([&](std::vector<pollfd>& p) { b.poll_fds(p); }, [&](int fd) { b.on_ready(fd, clock); },
             [&] {
               b.on_tick(clock, 0);
               return done();
             });
}

}  // namespace

TEST(OnDemandBackend, AWorkersDemandRunsTheStartHookAndIdleRunsStopOnce) {
  HookDir h;
  auto wakeup = std::make_shared<Wakeup>();
  OnDemandBackend b(on_demand_backend(h), 3, 2, wakeup);
  b.begin(0);
  b.on_tick(0, 0);
  EXPECT_EQ(b.state(), P::idle) << "no demand yet";
  b.demand()->note(1);
  pollfd p{wakeup->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 1000), 1) << "the worker's note wakes the control thread";
  wakeup->clear();
  b.on_tick(1000, 0);
  EXPECT_EQ(b.state(), P::provisioning);
  EXPECT_EQ(b.status(1000).hook, "start");
  drive(
      b, [&] { return b.state() == P::ready; }, 2000);
  ASSERT_EQ(b.state(), P::ready);
  OnDemandStatus s = b.status(62000);
  EXPECT_EQ(s.provisioning_status, "ready");
  EXPECT_EQ(s.remote_url, "http://127.0.0.1:18999");
  EXPECT_EQ(s.started_at_ms, 2000);
  EXPECT_EQ(s.idle_for_ms, 60000);
  ASSERT_EQ(s.fields.size(), 1u);
  EXPECT_EQ(s.fields[0].json, "\"i-7\"");
  int64_t idle_at = 2000 + 1800000;
  b.on_tick(idle_at - 1, 0);
  EXPECT_EQ(b.state(), P::ready);
  b.on_tick(idle_at, 1);
  EXPECT_EQ(b.state(), P::ready) << "a request in flight";
  int64_t later = idle_at + 1800000;
  b.on_tick(later, 0);
  EXPECT_EQ(b.state(), P::stopping);
  drive(
      b, [&] { return b.state() == P::idle; }, later + 1000);
  EXPECT_EQ(b.state(), P::idle);
  for (int i = 0; i < 5; ++i) b.on_tick(later + 1000 + i * 1800000, 0);
  EXPECT_EQ(h.lines("stops"), (std::vector<std::string>{"cloud-gpu stop http://127.0.0.1:18999"}));
}

TEST(OnDemandBackend, AFailingStartHookShowsItsStderrThenRecovers) {
  HookDir h;
  corral::config::BackendConfig cfg = on_demand_backend(h);
  std::string flag = h.dir + "/fixed";
  cfg.on_demand->start = {h.script("start-flaky", "if [ ! -e " + flag +
                                                      " ]; then echo 'Error: invalid API key' >&2; "
                                                      "exit 1; fi\necho '{\"url\":\"http://127.0.0.1:18998\"}'")};
  OnDemandBackend b(cfg, 3, 1, nullptr);
  b.want_up(0);
  drive(
      b, [&] { return b.state() == P::error; }, 0);
  ASSERT_EQ(b.state(), P::error);
  EXPECT_EQ(b.status(0).error, "start hook exited with code=1: Error: invalid API key");
  EXPECT_EQ(h.lines("stops").size(), 1u) << "the failed start was cleaned up";
  std::ofstream(flag) << "1";
  b.want_up(4999);
  EXPECT_EQ(b.state(), P::error) << "back-off";
  b.want_up(5000);
  drive(
      b, [&] { return b.state() == P::ready; }, 5000);
  EXPECT_EQ(b.state(), P::ready);
  EXPECT_EQ(b.remote_url(), "http://127.0.0.1:18998");
}

TEST(OnDemandBackend, StatusHookAdoptsAtBegin) {
  HookDir h;
  corral::config::BackendConfig cfg = on_demand_backend(h);
  cfg.on_demand->status = {h.script("status", "echo '{\"url\":\"http://127.0.0.1:18997\",\"state\":\"running\"}'")};
  OnDemandBackend b(cfg, 3, 1, nullptr);
  b.begin(0);
  EXPECT_EQ(b.status(0).hook, "status");
  drive(
      b, [&] { return b.state() == P::ready; }, 0);
  EXPECT_EQ(b.remote_url(), "http://127.0.0.1:18997");
}

TEST(ScalingGroup, StartsMembersInOrderAndStopsThemWhenTheLoadIsGone) {
  HookDir h;
  corral::config::BackendConfig cfg = on_demand_backend(h);
  OnDemandBackend a(cfg, 3, 1, nullptr), b(cfg, 3, 1, nullptr);
  corral::config::ScalingGroupConfig g = gpu_group();
  g.max = 2;
  ScalingGroup group(g, {&a, &b}, {4, 4});
  a.demand()->note(0);
  a.on_tick(0, 0);
  EXPECT_EQ(a.state(), P::idle) << "a group member does not start on its own demand";
  std::vector<RequestLoad> load = {{"llama3.2", 0, 1}};
  std::vector<uint32_t> in_flight = {0, 0};
  const ScalingDecision& d = group.on_tick(0, load, in_flight);
  EXPECT_EQ(d.start, (std::vector<size_t>{0}));
  EXPECT_EQ(a.state(), P::provisioning);
  EXPECT_EQ(b.state(), P::idle);
  poll_until([&](std::vector<pollfd>& p) { a.poll_fds(p); }, [&](int fd) { a.on_ready(fd, 1000); },
             [&] { return a.state() == P::ready; });
  ASSERT_EQ(a.state(), P::ready);
  in_flight = {1, 0};
  EXPECT_TRUE(group.on_tick(2000, {}, in_flight).stop.empty()) << "streaming";
  EXPECT_EQ(a.state(), P::ready);
  in_flight = {0, 0};
  EXPECT_EQ(group.on_tick(3000, {}, in_flight).stop, (std::vector<size_t>{0}));
  EXPECT_EQ(a.state(), P::stopping);
  poll_until([&](std::vector<pollfd>& p) { a.poll_fds(p); }, [&](int fd) { a.on_ready(fd, 4000); },
             [&] { return a.state() == P::idle; });
  EXPECT_EQ(a.state(), P::idle);
}

// Without hold a request that found no member up got a 503 and weighs nothing: its note
// still starts the first member. While that member provisions with no load, the group wants
// none, but stopping it waits until it is ready, so no scale-down decision is counted yet.
TEST(ScalingGroup, ARequestTurnedAwayStartsTheFirstMemberAndItsProvisioningIsNoScaleDown) {
  HookDir h;
  corral::config::BackendConfig cfg = on_demand_backend(h);
  OnDemandBackend a(cfg, 3, 1, nullptr), b(cfg, 3, 1, nullptr);
  corral::config::ScalingGroupConfig g = gpu_group();
  ScalingGroup group(g, {&a, &b}, {4, 4});
  std::vector<uint32_t> in_flight = {0, 0};
  EXPECT_TRUE(group.on_tick(0, 0.0, in_flight).start.empty()) << "no request, no start";
  a.demand()->note(0);
  a.on_tick(100, 0);  // the control thread collects the note
  EXPECT_EQ(group.on_tick(100, 0.0, in_flight).start, (std::vector<size_t>{0}));
  EXPECT_EQ(a.state(), P::provisioning);
  EXPECT_EQ(b.state(), P::idle);
  EXPECT_EQ(group.ups(), 1u);
  for (int64_t t = 200; t < 1000; t += 100) group.on_tick(t, 0.0, in_flight);
  EXPECT_EQ(a.state(), P::provisioning);
  EXPECT_EQ(group.downs(), 0u);
  EXPECT_EQ(group.ups(), 1u);
}
