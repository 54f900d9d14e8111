#include "corral/fleet/hook.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "poll_loop.h"

using namespace corral::fleet;
using corral::fleet::testing::poll_until;
using corral::fleet::testing::process_gone;
using corral::fleet::testing::wait_gone;

namespace {

HookSpec sh_hook(const std::string& script, uint32_t timeout_ms = 10000) {
  HookSpec s;
  s.backend = "cloud-gpu";
  s.action = "start";
  s.argv = {"sh", "-c", script};
  s.timeout_ms = timeout_ms;
  return s;
}

// Runs the hook to its end; `tick` is the clock on_tick sees (the time-out's clock).
std::optional<HookResult> finish(Hook& h, int64_t tick = 0) {
  std::optional<HookResult> r;
  poll_until([&](std::vector<pollfd>& p) { h.poll_fds(p); }, [&](int fd) { h.on_ready(fd); },
             [&] {
               h.on_tick(tick);
               if (!r) r = h.take_result();
               return r.has_value();
             });
  return r;
}

// The pid a hook script wrote to `path` (it writes it once its background process runs).
int wait_for_pid_file(const std::string& path) {
  std::string pid;
  poll_until([](std::vector<pollfd>&) {}, [](int) {},
             [&] {
               std::ifstream in(path);
               return static_cast<bool>(std::getline(in, pid)) && !pid.empty();
             });
  std::remove(path.c_str());
  return pid.empty() ? -1 : std::stoi(pid);
}

}  // namespace

TEST(HookAnswer, KeepsUrlAndScalarFieldsAsJson) {
  HookAnswer a;
  std::string err;
  ASSERT_TRUE(parse_hook_answer(
      R"({"url":"http://185.19.30.45:11434","instance_id":"i-1","zone":"at-vie-2","disk":50,"gpu":true,)"
      R"("note":"say \"hi\"","tags":[1],"meta":{"a":1},"none":null})",
      a, err))
      << err;
  EXPECT_EQ(a.url, "http://185.19.30.45:11434");
  ASSERT_EQ(a.fields.size(), 5u);
  EXPECT_EQ(a.fields[0].key, "instance_id");
  EXPECT_EQ(a.fields[0].json, "\"i-1\"");
  EXPECT_EQ(a.fields[2].json, "50");
  EXPECT_EQ(a.fields[3].json, "true");
  EXPECT_EQ(a.fields[4].json, R"("say \"hi\"")");
}

TEST(HookAnswer, RejectsWhatIsNotAnObject) {
  HookAnswer a;
  std::string err;
  EXPECT_FALSE(parse_hook_answer("Creating instance \"corral-cloud-gpu\"...", a, err));
  EXPECT_FALSE(parse_hook_answer("[1,2]", a, err));
  EXPECT_FALSE(parse_hook_answer("{\"url\":", a, err));
  EXPECT_FALSE(err.empty());
}

TEST(Hook, AnswerIsTheLastStdoutLine) {
  Hook h;
  std::string err;
  ASSERT_TRUE(
      h.start(sh_hook("echo 'creating…'; echo '{\"url\":\"http://10.0.0.5:11434\",\"id\":\"abc\"}'; echo"), 0, err))
      << err;
  std::optional<HookResult> r = finish(h);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  ASSERT_TRUE(r->answer) << r->answer_error;
  EXPECT_EQ(r->answer->url, "http://10.0.0.5:11434");
  ASSERT_EQ(r->answer->fields.size(), 1u);
  EXPECT_EQ(r->answer->fields[0].json, "\"abc\"");
}

TEST(Hook, SeesBackendNameActionAndTheProviderSettings) {
  for (const char* v : {"EXOSCALE_API_KEY", "EXOSCALE_API_SECRET", "EXOSCALE_ZONE", "EXOSCALE_INSTANCE_TYPE",
                        "EXOSCALE_TEMPLATE", "EXOSCALE_DISK_SIZE", "OLLAMA_MODEL"}) {
    setenv(v, (std::string("v-") + v).c_str(), 1);
  }
  Hook h;
  std::string err;
  HookSpec spec = sh_hook(
      "echo \"$CORRAL_BACKEND_NAME $CORRAL_HOOK $CORRAL_REMOTE_URL $EXOSCALE_API_KEY $EXOSCALE_API_SECRET "
      "$EXOSCALE_ZONE $EXOSCALE_INSTANCE_TYPE $EXOSCALE_TEMPLATE $EXOSCALE_DISK_SIZE $OLLAMA_MODEL\"");
  spec.action = "stop";
  spec.env = {{"CORRAL_REMOTE_URL", "http://10.0.0.5:11434"}};
  ASSERT_TRUE(h.start(spec, 0, err)) << err;
  std::optional<HookResult> r = finish(h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last_line,
            "cloud-gpu stop http://10.0.0.5:11434 v-EXOSCALE_API_KEY v-EXOSCALE_API_SECRET v-EXOSCALE_ZONE "
            "v-EXOSCALE_INSTANCE_TYPE v-EXOSCALE_TEMPLATE v-EXOSCALE_DISK_SIZE v-OLLAMA_MODEL");
  EXPECT_FALSE(r->answer);
  EXPECT_FALSE(r->answer_error.empty());
}

TEST(Hook, KeepsTheTailOfStderrForTheError) {
  Hook h;
  std::string err;
  ASSERT_TRUE(h.start(sh_hook("i=0; while [ $i -lt 400 ]; do echo \"api error line $i\" >&2; i=$((i+1)); done; exit 2"),
                      0, err));
  std::optional<HookResult> r = finish(h);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->exit.code, 2);
  EXPECT_LE(r->stderr_tail.size(), kStderrTail);
  EXPECT_GT(r->stderr_tail.size(), kStderrTail - 40);
  EXPECT_TRUE(r->stderr_tail.ends_with("api error line 399")) << r->stderr_tail;
  std::string d = r->describe("start", 600000);
  EXPECT_TRUE(d.starts_with("start hook exited with code=2: ")) << d;
}

TEST(Hook, TimeoutKillsTheWholeGroup) {
  Hook h;
  std::string err;
  std::string pidfile = "/tmp/corral-hook-test-" + std::to_string(getpid()) + ".pid";
  ASSERT_TRUE(h.start(sh_hook("sleep 100 & echo $! > " + pidfile + "; sleep 100", 1000), 0, err));
  int grandchild = wait_for_pid_file(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(h.next_deadline_ms(), 1000);
  std::optional<HookResult> r = finish(h, 1000);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_TRUE(wait_gone(grandchild)) << "the hook's background sleep must be killed with it";
  EXPECT_TRUE(r->describe("start", 600000).starts_with("start hook timed out after 600s"));
}

TEST(Hook, TimeoutEscalatesToSigkillWhenSigtermIsIgnored) {
  Hook h;
  std::string err;
  std::string pidfile = "/tmp/corral-hook-test-" + std::to_string(getpid()) + ".pid";
  HookSpec spec = sh_hook("trap '' TERM; sleep 100 & echo $! > " + pidfile + "; while :; do sleep 1; done", 1000);
  spec.kill_grace_ms = 2000;
  ASSERT_TRUE(h.start(spec, 0, err));
  int grandchild = wait_for_pid_file(pidfile);
  ASSERT_GT(grandchild, 0);
  h.on_tick(1000);  // SIGTERM, ignored
  EXPECT_EQ(h.next_deadline_ms(), 3000);
  std::optional<HookResult> r = finish(h, 3000);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit.signal, SIGKILL);
  EXPECT_TRUE(wait_gone(grandchild));
}

TEST(Hook, AProcessLeftBehindOnPurposeSurvivesANormalExit) {
  Hook h;
  std::string err;
  ASSERT_TRUE(h.start(sh_hook("sleep 100 >/dev/null 2>&1 & echo $!"), 0, err));
  std::optional<HookResult> r = finish(h);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->ok());
  int background = std::stoi(r->last_line);
  EXPECT_FALSE(process_gone(background)) << "a hook may start a server and exit";
  ::kill(background, SIGKILL);
}
