// Backend lifecycles end to end (issue 18) with real processes: a fake `ollama` on PATH that
// execs corral-sim (corral serve, supervise:), shell hooks that start and stop corral-sim
// instances (on_demand:), and a scaling group of three of them (scaling:). The hooks record
// every call in files of a temporary directory, so the tests count and order them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

constexpr char kGen[] = "{\"model\":\"llama3.2\",\"prompt\":\"hi\",\"stream\":false}";
constexpr char kStream[] = "{\"model\":\"llama3.2\",\"prompt\":\"hi\",\"stream\":true}";

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(slurp(path));
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// The first word of each line: the backend a hook ran for.
std::vector<std::string> names_in(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& l : lines_of(path)) out.push_back(l.substr(0, l.find(' ')));
  return out;
}

// The wall-clock milliseconds a hook wrote after the name on one of its lines.
int64_t time_in(const std::string& line) { return std::atoll(line.c_str() + line.find(' ') + 1); }

// The wall-clock milliseconds a hook wrote after the name, for backend `name`; -1 if none.
int64_t time_of(const std::string& path, const std::string& name) {
  for (const std::string& l : lines_of(path)) {
    if (l.rfind(name + " ", 0) == 0) return std::atoll(l.c_str() + name.size() + 1);
  }
  return -1;
}

// A directory of scripts and the files they write, removed with every process the hooks
// left running (their pids are in pid.NAME).
struct Workdir {
  std::string path;
  Workdir() {
    char tmpl[] = "/tmp/corral-life-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Workdir() {
    for (const auto& e : std::filesystem::directory_iterator(path)) {
      std::string f = e.path().filename();
      if (f.rfind("pid.", 0) != 0) continue;
      pid_t pid = std::atoi(slurp(e.path()).c_str());
      if (pid > 0) ::kill(pid, SIGKILL);
    }
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  void write(const std::string& name, const std::string& text, bool executable = false) const {
    std::ofstream(file(name)) << text;
    if (executable) ::chmod(file(name).c_str(), 0755);
  }
};

// `ollama serve`, as far as corral can tell: corral-sim on the address in OLLAMA_HOST.
void write_fake_ollama(const Workdir& w) {
  w.write("ollama",
          "#!/bin/bash\n"
          "[ \"$1\" = serve ] || { echo \"fake ollama: expected serve, got $*\" >&2; exit 2; }\n"
          "echo \"fake ollama serve on $OLLAMA_HOST\"\n"
          "echo \"fake ollama: listening soon\" >&2\n"
          "exec " +
              bin("CORRAL_SIM_BIN") + " --listen \"$OLLAMA_HOST\"\n",
          true);
}

// start: records "NAME WALL_MS", fails while the file `fail` exists (its message on stderr),
// else starts corral-sim on the port in port.NAME after `delay` and prints its URL last.
// stop: records "NAME WALL_MS REMOTE_URL" and kills that corral-sim. status: records the
// call, prints adopt.NAME if there is one, else exits 3 (none running).
void write_hooks(const Workdir& w, const std::string& delay) {
  const std::string d = w.path;
  w.write("start",
          "#!/bin/bash\n"
          "d=" +
              d +
              "; n=$CORRAL_BACKEND_NAME\n"
              "echo \"$n $(($(date +%s%N) / 1000000))\" >>$d/starts\n"
              "if [ -e $d/fail ]; then echo \"zone test-1: quota exceeded for gpu instances\" >&2; exit 1; fi\n"
              "sleep " +
              delay +
              "\n"
              "port=$(cat $d/port.$n)\n" +
              bin("CORRAL_SIM_BIN") +
              " --listen 127.0.0.1:$port </dev/null >/dev/null 2>&1 &\n"
              "echo $! >$d/pid.$n\n"
              "for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done\n"
              "echo \"instance $n is up\"\n"
              "echo \"{\\\"url\\\": \\\"http://127.0.0.1:$port\\\", \\\"instance_id\\\": \\\"i-$n\\\", "
              "\\\"zone\\\": \\\"test-1\\\"}\"\n",
          true);
  w.write("stop",
          "#!/bin/bash\n"
          "d=" +
              d +
              "; n=$CORRAL_BACKEND_NAME\n"
              "echo \"$n $(($(date +%s%N) / 1000000)) ${CORRAL_REMOTE_URL:-none}\" >>$d/stops\n"
              "[ -e $d/pid.$n ] && kill $(cat $d/pid.$n) && rm -f $d/pid.$n\n"
              "exit 0\n",
          true);
  w.write("status",
          "#!/bin/bash\n"
          "d=" +
              d +
              "; n=$CORRAL_BACKEND_NAME\n"
              "echo \"$n\" >>$d/statuses\n"
              "[ -e $d/adopt.$n ] && { cat $d/adopt.$n; exit 0; }\n"
              "exit 3\n",
          true);
}

std::string on_demand_entry(const Workdir& w, const std::string& name, const std::string& more) {
  return "  - name: " + name + "\n    url: auto\n    on_demand: {start: [" + w.file("start") + "], stop: [" +
         w.file("stop") + "]" + more + "}\n";
}

std::string status_of(int port) { return request(port, "GET", "/status").body; }

// The object of /status about backend `name`, to its closing brace (its models' objects
// have names too).
std::string backend_in(const std::string& status, const std::string& name) {
  size_t p = status.find("{\"name\":\"" + name + "\"");
  if (p == std::string::npos) return "";
  int depth = 0;
  bool in_string = false;
  for (size_t i = p; i < status.size(); ++i) {
    char c = status[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return status.substr(p, i + 1 - p);
    }
  }
  return "";
}

// The string value of "key":"…" (or "null") in a JSON text; "" when absent.
std::string json_str(const std::string& json, const std::string& key) {
  std::string pat = "\"" + key + "\":";
  size_t p = json.find(pat);
  if (p == std::string::npos) return "";
  p += pat.size();
  if (json.compare(p, 4, "null") == 0) return "null";
  if (json[p] != '"') return "";
  std::string out;
  for (++p; p < json.size() && json[p] != '"'; ++p) {
    if (json[p] == '\\' && p + 1 < json.size()) ++p;
    out.push_back(json[p]);
  }
  return out;
}

std::string provisioning(int port, const std::string& name) {
  return json_str(backend_in(status_of(port), name), "provisioning_status");
}

// A streaming /api/generate of `tokens` tokens `delay_ms` apart, read by the caller.
struct Stream {
  Client c;
  Stream(int port, int tokens, int delay_ms) : c(port) {
    std::vector<std::string> knobs = {"X-Sim-Tokens: " + std::to_string(tokens),
                                      "X-Sim-Token-Delay-Ms: " + std::to_string(delay_ms)};
    c.send(build_request("POST", "/api/generate", kStream, knobs));
  }
  bool started(int timeout_ms = 15000) {
    return c.read_until("\"response\"", timeout_ms).find("\"response\"") != std::string::npos;
  }
  Response finish(int timeout_ms = 30000) { return c.read_response(timeout_ms); }
};

// The Corral argv prefix that makes it `corral serve …` with `dir` first on PATH.
std::vector<std::string> serve_with_path(const std::string& dir) {
  const char* path = std::getenv("PATH");
  return {"/usr/bin/env", "PATH=" + dir + ":" + (path ? path : "/usr/bin:/bin"), "/bin/sh", "-c",
          "exec \"$0\" serve \"$@\""};
}

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// SIGTERM, exit 0, and the harness's destructor has nothing left to stop.
void stop_corral(Corral& c) {
  c.proc.signal(SIGTERM);
  EXPECT_EQ(c.proc.wait(15000), 0) << c.log();
}

class Lifecycle : public ::testing::TestWithParam<const char*> {};

}  // namespace

// `corral serve` with nothing on the backend port and `ollama` on PATH: corral runs it,
// proxies to it, restarts it after a SIGKILL, logs its output, and stops it on SIGTERM.
TEST_P(Lifecycle, ServeStartsOllamaRestartsItAfterSigkillAndStopsItWithCorral) {
  Workdir w;
  write_fake_ollama(w);
  int port = free_port();
  std::string name = "127.0.0.1:" + std::to_string(port);
  Corral corral({"http://" + name}, GetParam(), "health: {interval: 200ms, timeout: 1s}\n", {},
                serve_with_path(w.path));
  EXPECT_NE(corral.log().find("event=serve decision=\"serve: starting ollama serve for http://" + name + "\""),
            std::string::npos)
      << corral.log();

  std::string me;
  ASSERT_TRUE(eventually([&] {
    me = backend_in(status_of(corral.port), name);
    return json_str(me, "state") == "running";
  })) << status_of(corral.port)
      << corral.log();
  pid_t first = static_cast<pid_t>(json_int(me, "pid"));
  ASSERT_GT(first, 0) << me;
  EXPECT_EQ(::kill(first, 0), 0);
  EXPECT_EQ(json_int(me, "restarts"), 0) << me;
  EXPECT_EQ(json_str(me, "last_exit"), "null") << me;

  // Its models are discovered (ollama list through corral), and a generation goes through.
  EXPECT_TRUE(eventually([&] {
    Response t = request(corral.port, "GET", "/api/tags");
    return t.status == 200 && t.body.find("\"llama3.2:latest\"") != std::string::npos;
  })) << request(corral.port, "GET", "/api/tags").body;
  Response g = request(corral.port, "POST", "/api/generate", kGen);
  EXPECT_EQ(g.status, 200) << g.body;
  EXPECT_NE(g.body.find("\"done\":true"), std::string::npos) << g.body;

  // Its stdout and stderr lines are in corral's log, one each, with backend=NAME.
  EXPECT_TRUE(eventually([&] {
    std::string l = corral.log();
    return l.find("event=backend_output backend=" + name + " stream=stdout line=\"fake ollama serve on " + name +
                  "\"") != std::string::npos &&
           l.find("event=backend_output backend=" + name + " stream=stderr line=\"fake ollama: listening soon\"") !=
               std::string::npos;
  })) << corral.log();

  ::kill(first, SIGKILL);
  pid_t second = 0;
  ASSERT_TRUE(eventually(
      [&] {
        me = backend_in(status_of(corral.port), name);
        second = static_cast<pid_t>(json_int(me, "pid"));
        return second > 0 && second != first && json_str(me, "state") == "running";
      },
      10000))
      << me << corral.log();
  EXPECT_EQ(json_int(me, "restarts"), 1) << me;
  EXPECT_EQ(json_str(me, "last_exit"), "signal=SIGKILL") << me;
  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", kGen).status == 200; }))
      << corral.log();

  stop_corral(corral);
  EXPECT_TRUE(gone(second)) << "the supervised ollama outlived corral";
  EXPECT_NE(corral.log().find("event=backend_exit backend=" + name + " pid=" + std::to_string(second)),
            std::string::npos)
      << corral.log();
}

// supervise: from the config: `restart_after` failed health checks in a row (the child is
// stopped with SIGSTOP, so it hangs) → SIGTERM, which a stopped process ignores, → SIGKILL
// after `stop_timeout` → a new child that answers again.
TEST_P(Lifecycle, SupervisedChildFailingHealthChecksIsKilledAndRestarted) {
  Workdir w;
  write_fake_ollama(w);
  int port = free_port();
  std::string yaml =
      "health: {interval: 200ms, timeout: 300ms}\n"
      "backends:\n"
      "  - name: local\n"
      "    url: http://127.0.0.1:" +
      std::to_string(port) +
      "\n"
      "    supervise:\n"
      "      command: [" +
      w.file("ollama") +
      ", serve]\n"
      "      env: {OLLAMA_HOST: \"127.0.0.1:" +
      std::to_string(port) +
      "\"}\n"
      "      restart_after: 2\n"
      "      stop_timeout: 500ms\n";
  Corral corral({}, GetParam(), yaml);
  std::string me;
  ASSERT_TRUE(eventually([&] {
    me = backend_in(status_of(corral.port), "local");
    return json_str(me, "state") == "running";
  })) << status_of(corral.port)
      << corral.log();
  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", kGen).status == 200; }));
  pid_t first = static_cast<pid_t>(json_int(me, "pid"));
  ASSERT_GT(first, 0);

  ::kill(first, SIGSTOP);
  pid_t second = 0;
  ASSERT_TRUE(eventually(
      [&] {
        me = backend_in(status_of(corral.port), "local");
        second = static_cast<pid_t>(json_int(me, "pid"));
        return second > 0 && second != first && json_str(me, "state") == "running";
      },
      15000))
      << me << corral.log();
  std::string l = corral.log();
  EXPECT_NE(
      l.find("event=backend_terminate backend=local pid=" + std::to_string(first) + " state=stopping failed_checks=2"),
      std::string::npos)
      << l;
  EXPECT_EQ(json_str(me, "last_exit"), "signal=SIGKILL") << me;  // SIGTERM waits in a stopped process
  EXPECT_EQ(json_int(me, "restarts"), 1) << me;
  EXPECT_TRUE(gone(first));
  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", kGen).status == 200; }))
      << corral.log();

  stop_corral(corral);
  EXPECT_TRUE(gone(second)) << "the supervised child outlived corral";
}

// An on-demand backend: the status hook finds nothing; the first request is seed 002's 503
// while start runs, /status goes provisioning → ready, requests go through; a stream longer
// than idle_timeout holds the stop off, and once idle, stop runs exactly once.
TEST_P(Lifecycle, OnDemandProvisionsOnFirstRequestAndStopsOnceWhenIdleButNeverMidStream) {
  Workdir w;
  write_hooks(w, "1");
  int sim_port = free_port();
  w.write("port.cloud", std::to_string(sim_port));
  std::string sim_url = "http://127.0.0.1:" + std::to_string(sim_port);
  Corral corral({}, GetParam(),
                "health: {interval: 200ms, timeout: 1s}\nbackends:\n" +
                    on_demand_entry(w, "cloud", ", status: [" + w.file("status") + "], idle_timeout: 1500ms") +
                    "    models: [llama3.2]\n");
  ASSERT_TRUE(eventually([&] { return lines_of(w.file("statuses")).size() == 1; })) << corral.log();
  ASSERT_TRUE(eventually([&] { return provisioning(corral.port, "cloud") == "idle"; })) << status_of(corral.port);
  EXPECT_TRUE(lines_of(w.file("starts")).empty()) << "started before any request";

  Response first = request(corral.port, "POST", "/api/generate", kGen);
  EXPECT_EQ(first.status, 503) << first.body;
  EXPECT_EQ(first.body, "{\"error\":\"backend cloud is starting, retry shortly\",\"provisioning\":true}");
  EXPECT_FALSE(first.header("retry-after").empty());
  EXPECT_GE(std::atoi(first.header("retry-after").c_str()), 1);

  std::string s;
  EXPECT_TRUE(eventually([&] {
    s = status_of(corral.port);
    return json_str(backend_in(s, "cloud"), "provisioning_status") == "provisioning";
  })) << s;
  EXPECT_EQ(json_str(backend_in(s, "cloud"), "hook"), "start") << s;
  EXPECT_EQ(json_str(s.substr(s.find("],\"provisioning_status\"") + 2), "provisioning_status"), "provisioning")
      << "seed 002's top-level fields, with one on-demand backend: " << s;
  ASSERT_TRUE(eventually(
      [&] {
        s = status_of(corral.port);
        return json_str(backend_in(s, "cloud"), "provisioning_status") == "ready";
      },
      10000))
      << s << corral.log();
  std::string me = backend_in(s, "cloud");
  EXPECT_EQ(json_str(me, "remote_url"), sim_url) << me;
  EXPECT_EQ(json_str(me, "instance_id"), "i-cloud") << me;
  EXPECT_EQ(json_str(me, "zone"), "test-1") << me;
  EXPECT_EQ(json_int(me, "idle_timeout"), 1) << me;  // whole seconds
  EXPECT_EQ(json_str(me, "error"), "null") << me;
  EXPECT_EQ(lines_of(w.file("starts")).size(), 1u);

  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", kGen).status == 200; }))
      << corral.log();
  // Logs, metrics and /status name where it is, not "auto".
  EXPECT_EQ(json_str(backend_in(status_of(corral.port), "cloud"), "url"), sim_url);
  std::string metrics = settled_metrics(corral.port);
  EXPECT_NE(metrics.find("backend=\"" + sim_url + "\""), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("backend=\"auto\""), std::string::npos) << metrics;
  EXPECT_NE(corral.log().find("event=backend_up backend=" + sim_url + " name=cloud"), std::string::npos)
      << corral.log();
  EXPECT_TRUE(eventually([&] {
    return request(corral.port, "GET", "/api/tags").body.find("\"llama3.2:latest\"") != std::string::npos;
  })) << "discovery reads the started instance's /api/tags: "
      << request(corral.port, "GET", "/api/tags").body;

  // 8 tokens 300 ms apart: 2.4 s in flight, longer than idle_timeout.
  Stream slow(corral.port, 8, 300);
  ASSERT_TRUE(slow.started());
  Response r = slow.finish();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete);
  EXPECT_NE(r.body.find("\"done\":true"), std::string::npos) << r.body;
  EXPECT_TRUE(lines_of(w.file("stops")).empty()) << "stopped while a stream was in flight: " << slurp(w.file("stops"));
  int64_t stream_end = wall_ms();

  ASSERT_TRUE(eventually([&] { return provisioning(corral.port, "cloud") == "idle"; }, 10000))
      << status_of(corral.port) << corral.log();
  std::vector<std::string> stops = lines_of(w.file("stops"));
  ASSERT_EQ(stops.size(), 1u) << slurp(w.file("stops"));
  EXPECT_NE(stops[0].find(" " + sim_url), std::string::npos) << "CORRAL_REMOTE_URL reaches the stop hook: " << stops[0];
  EXPECT_GE(time_of(w.file("stops"), "cloud") - stream_end, 1500 - 300) << "stopped before idle_timeout passed";
  me = backend_in(status_of(corral.port), "cloud");
  EXPECT_EQ(json_str(me, "remote_url"), "null") << me;
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // another idle_timeout: still one stop
  EXPECT_EQ(lines_of(w.file("stops")).size(), 1u) << slurp(w.file("stops"));
  EXPECT_EQ(lines_of(w.file("starts")).size(), 1u);
}

// hold: the first requests wait for the start hook and then go through, with one start.
TEST_P(Lifecycle, OnDemandWithHoldMakesRequestsWaitAndSucceed) {
  Workdir w;
  write_hooks(w, "1");
  w.write("port.cloud", std::to_string(free_port()));
  Corral corral({}, GetParam(),
                "health: {interval: 200ms, timeout: 1s}\nbackends:\n" + on_demand_entry(w, "cloud", ", hold: 15s") +
                    "    models: [llama3.2]\n");
  auto a =
      std::async(std::launch::async, [&] { return request(corral.port, "POST", "/api/generate", kGen, {}, 20000); });
  auto b = std::async(std::launch::async, [&] {
    return request(corral.port, "POST", "/v1/chat/completions",
                   "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", {}, 20000);
  });
  Response ra = a.get(), rb = b.get();
  EXPECT_EQ(ra.status, 200) << ra.body << corral.log();
  EXPECT_NE(ra.body.find("\"done\":true"), std::string::npos) << ra.body;
  EXPECT_EQ(rb.status, 200) << rb.body;
  EXPECT_NE(rb.body.find("\"chat.completion\""), std::string::npos) << rb.body;
  EXPECT_EQ(names_in(w.file("starts")), std::vector<std::string>{"cloud"});
  EXPECT_EQ(provisioning(corral.port, "cloud"), "ready");
}

// A failing start hook: error with its stderr tail (and stop run to clean up), 503s that
// say so; once the hook works again, a request after the back-off brings it up.
TEST_P(Lifecycle, OnDemandFailingStartHookShowsErrorAndRecovers) {
  Workdir w;
  write_hooks(w, "0.2");
  w.write("port.cloud", std::to_string(free_port()));
  w.write("fail", "");
  Corral corral({}, GetParam(),
                "health: {interval: 200ms, timeout: 1s}\nbackends:\n" + on_demand_entry(w, "cloud", "") +
                    "    models: [llama3.2]\n");
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen).status, 503);
  std::string me;
  ASSERT_TRUE(eventually([&] {
    me = backend_in(status_of(corral.port), "cloud");
    return json_str(me, "provisioning_status") == "error";
  })) << me
      << corral.log();
  EXPECT_EQ(json_str(me, "error"), "start hook exited with code=1: zone test-1: quota exceeded for gpu instances")
      << me;
  EXPECT_EQ(names_in(w.file("stops")), std::vector<std::string>{"cloud"}) << "stop cleans up after a failed start";
  Response r = request(corral.port, "POST", "/api/generate", kGen);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("backend cloud failed to start (start hook exited with code=1: zone test-1: quota exceeded"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"provisioning\":true"), std::string::npos) << r.body;

  std::filesystem::remove(w.file("fail"));
  Response ok;
  EXPECT_TRUE(eventually(
      [&] {
        ok = request(corral.port, "POST", "/api/generate", kGen);
        return ok.status == 200;
      },
      20000))
      << ok.body << corral.log();
  EXPECT_EQ(names_in(w.file("starts")), (std::vector<std::string>{"cloud", "cloud"}));
  me = backend_in(status_of(corral.port), "cloud");
  EXPECT_EQ(json_str(me, "provisioning_status"), "ready") << me;
  EXPECT_EQ(json_str(me, "error"), "null") << me;
}

// A status hook that reports a running instance at start-up: adopted, no start. Its
// model is on no other backend, so a 200 for it was answered by the adopted instance.
TEST_P(Lifecycle, OnDemandStatusHookAdoptsARunningInstance) {
  Workdir w;
  write_hooks(w, "0");
  Sim running({"--models", "adopted:latest=1000000"});
  w.write("adopt.cloud", "{\"url\": \"" + running.url() + "\", \"instance_id\": \"i-adopted\"}\n");
  Corral corral({}, GetParam(),
                "health: {interval: 200ms, timeout: 1s}\nbackends:\n" +
                    on_demand_entry(w, "cloud", ", status: [" + w.file("status") + "]") + "    models: [adopted]\n");
  std::string me;
  ASSERT_TRUE(eventually([&] {
    me = backend_in(status_of(corral.port), "cloud");
    return json_str(me, "provisioning_status") == "ready";
  })) << me
      << corral.log();
  EXPECT_EQ(json_str(me, "remote_url"), running.url()) << me;
  EXPECT_EQ(json_str(me, "instance_id"), "i-adopted") << me;
  Response r;
  EXPECT_TRUE(eventually([&] {
    r = request(corral.port, "POST", "/api/generate", "{\"model\":\"adopted\",\"prompt\":\"hi\",\"stream\":false}");
    return r.status == 200;
  })) << r.body
      << corral.log();
  EXPECT_NE(r.body.find("\"model\":\"adopted\""), std::string::npos) << r.body;
  EXPECT_EQ(names_in(w.file("statuses")), std::vector<std::string>{"cloud"});
  EXPECT_TRUE(lines_of(w.file("starts")).empty()) << slurp(w.file("starts"));
}

// A scaling group of three on-demand members (capacity 2 each, target 100 %, a request of
// llama3.2 weighs 1.5): each stream added raises the load by 1.5, so 1, 2, 3 streams want
// 1, 2, 3 members, started in the order listed, each up step after the 1 s up window. When
// the load falls, members stop after the 1.5 s down window, never one with a stream in flight.
TEST_P(Lifecycle, ScalingGroupStartsMembersInOrderAndStopsThemAfterTheLoad) {
  Workdir w;
  write_hooks(w, "0.3");
  std::string yaml = "health: {interval: 200ms, timeout: 1s}\nbackends:\n";
  for (const char* m : {"m1", "m2", "m3"}) {
    w.write(std::string("port.") + m, std::to_string(free_port()));
    yaml += on_demand_entry(w, m, ", hold: 15s");
  }
  yaml +=
      "scaling:\n  groups:\n    - name: gpu\n      members: [m1, m2, m3]\n      capacity: 2\n"
      "      target_utilization: 1.0\n      scale_up_factors: {low: 1.0, medium: 1.0, high: 1.0}\n"
      "      model_weights: {llama3.2: 1.5}\n      stabilization: {up: 1s, down: 1500ms}\n";
  Corral corral({}, GetParam(), yaml);
  const std::string g = "{group=\"gpu\"}";
  auto metric = [&](const std::string& series) {
    return value_of(request(corral.port, "GET", "/metrics").body, series);
  };
  EXPECT_EQ(metric("corral_desired_replicas" + g), 0);
  EXPECT_EQ(metric("corral_complexity_load" + g), 0);

  // Streams of 25 tokens 200 ms apart (5 s); D, the last, lasts 8 s.
  Stream a(corral.port, 25, 200);
  ASSERT_TRUE(a.started()) << corral.log();
  EXPECT_EQ(names_in(w.file("starts")), std::vector<std::string>{"m1"});
  EXPECT_EQ(metric("corral_complexity_load" + g), 1.5);
  EXPECT_EQ(metric("corral_desired_replicas" + g), 1);
  EXPECT_EQ(metric("corral_scaling_decisions_total{group=\"gpu\",direction=\"up\"}"), 1);

  int64_t b_sent = wall_ms();
  Stream b(corral.port, 25, 200);
  ASSERT_TRUE(b.started());
  ASSERT_TRUE(eventually([&] { return provisioning(corral.port, "m2") == "ready"; }, 10000)) << corral.log();
  EXPECT_EQ(names_in(w.file("starts")), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_GE(time_of(w.file("starts"), "m2") - b_sent, 1000 - 300) << "m2 started within the up window";
  EXPECT_EQ(metric("corral_complexity_load" + g), 3.0);
  EXPECT_EQ(metric("corral_desired_replicas" + g), 2);
  EXPECT_EQ(metric("corral_scaling_decisions_total{group=\"gpu\",direction=\"up\"}"), 2);

  Stream c(corral.port, 25, 200);
  ASSERT_TRUE(c.started());
  ASSERT_TRUE(eventually([&] { return provisioning(corral.port, "m3") == "ready"; }, 10000)) << corral.log();
  EXPECT_EQ(names_in(w.file("starts")), (std::vector<std::string>{"m1", "m2", "m3"}));
  std::string m = request(corral.port, "GET", "/metrics").body;
  EXPECT_EQ(value_of(m, "corral_complexity_load" + g), 4.5) << m;
  EXPECT_EQ(value_of(m, "corral_desired_replicas" + g), 3);
  EXPECT_EQ(value_of(m, "corral_scaling_decisions_total{group=\"gpu\",direction=\"up\"}"), 3);
  EXPECT_EQ(value_of(m, "corral_scaling_decisions_total{group=\"gpu\",direction=\"down\"}"), 0);
  std::string path = w.file("metrics.txt");
  std::ofstream(path) << m;
  EXPECT_EQ(std::system(("promtool check metrics < " + path + " > " + path + ".out 2>&1").c_str()), 0)
      << slurp(path + ".out");
  EXPECT_TRUE(lines_of(w.file("stops")).empty()) << slurp(w.file("stops"));

  // D goes to m2 or m3 once both are routed to (m1 has A and B); which one, /status says.
  ASSERT_TRUE(eventually([&] {
    std::string s = status_of(corral.port);
    return backend_in(s, "m2").find("\"up\":true") != std::string::npos &&
           backend_in(s, "m3").find("\"up\":true") != std::string::npos;
  })) << status_of(corral.port);
  auto in_flight = [&] {
    std::string s = status_of(corral.port);
    std::map<std::string, long> n;
    for (const char* name : {"m1", "m2", "m3"}) n[name] = json_int(backend_in(s, name), "in_flight");
    return n;
  };
  std::map<std::string, long> before_d = in_flight();
  EXPECT_EQ(before_d["m1"] + before_d["m2"] + before_d["m3"], 3) << status_of(corral.port) << corral.log();
  Stream d(corral.port, 40, 200);
  ASSERT_TRUE(d.started());
  std::string busy;
  ASSERT_TRUE(eventually([&] {
    std::map<std::string, long> now = in_flight();
    for (const char* name : {"m1", "m2", "m3"}) {
      if (now[name] == before_d[name] + 1) busy = name;
    }
    return !busy.empty();
  })) << status_of(corral.port);
  EXPECT_NE(busy, "m1") << "D went to the member with the most streams";

  // Load 4.5, 3 (2 wanted), 1.5 (1 wanted) as A, B and C end; each stop comes a down window
  // after the load fell, and never cuts a stream (every one of them ends with done).
  std::vector<int64_t> ended;
  for (Stream* s : {&a, &b, &c}) {
    Response r = s->finish();
    ended.push_back(wall_ms());
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    EXPECT_NE(r.body.find("\"done\":true"), std::string::npos);
  }
  ASSERT_TRUE(eventually([&] { return lines_of(w.file("stops")).size() == 2; }, 10000)) << corral.log();
  std::vector<std::string> stopped = names_in(w.file("stops"));
  EXPECT_EQ(std::count(stopped.begin(), stopped.end(), busy), 0) << "D streams on " << busy;
  std::vector<std::string> stop_lines = lines_of(w.file("stops"));
  EXPECT_GE(time_in(stop_lines[0]) - ended[1], 1500 - 300) << "stopped within the down window";
  EXPECT_GE(time_in(stop_lines[1]) - ended[2], 1500 - 300) << "stopped within the down window";
  EXPECT_EQ(metric("corral_complexity_load" + g), 1.5);
  EXPECT_EQ(metric("corral_desired_replicas" + g), 1);
  EXPECT_EQ(metric("corral_scaling_decisions_total{group=\"gpu\",direction=\"down\"}"), 2);

  Response rd = d.finish();
  int64_t d_end = wall_ms();
  EXPECT_EQ(rd.status, 200);
  EXPECT_TRUE(rd.complete) << "D was cut";
  EXPECT_NE(rd.body.find("\"done\":true"), std::string::npos);
  EXPECT_EQ(lines_of(w.file("stops")).size(), 2u) << busy << " stopped while D streamed: " << slurp(w.file("stops"));
  ASSERT_TRUE(eventually([&] { return lines_of(w.file("stops")).size() == 3; }, 10000)) << corral.log();
  EXPECT_EQ(names_in(w.file("stops")).back(), busy);
  EXPECT_GE(time_of(w.file("stops"), busy) - d_end, 1500 - 300) << "stopped within the down window";
  m = request(corral.port, "GET", "/metrics").body;
  EXPECT_EQ(value_of(m, "corral_desired_replicas" + g), 0) << m;
  EXPECT_EQ(value_of(m, "corral_complexity_load" + g), 0);
  EXPECT_EQ(value_of(m, "corral_scaling_decisions_total{group=\"gpu\",direction=\"up\"}"), 3);
  EXPECT_EQ(value_of(m, "corral_scaling_decisions_total{group=\"gpu\",direction=\"down\"}"), 3);
  for (const char* n : {"m1", "m2", "m3"}) {
    EXPECT_TRUE(eventually([&] { return provisioning(corral.port, n) == "idle"; })) << n;
  }
  EXPECT_EQ(names_in(w.file("starts")).size(), 3u) << slurp(w.file("starts"));
}

// Without hold the first request of a group with no member up gets the 503, and that
// request alone must bring the first member up: the client's retry then goes through.
TEST_P(Lifecycle, ScalingGroupStartsItsFirstMemberOnA503) {
  Workdir w;
  write_hooks(w, "0.2");
  std::string yaml = "health: {interval: 200ms, timeout: 1s}\nbackends:\n";
  for (const char* m : {"m1", "m2"}) {
    w.write(std::string("port.") + m, std::to_string(free_port()));
    yaml += on_demand_entry(w, m, "");
  }
  yaml += "scaling:\n  groups:\n    - {name: gpu, members: [m1, m2], stabilization: {up: 1s, down: 1s}}\n";
  Corral corral({}, GetParam(), yaml);
  Response r = request(corral.port, "POST", "/api/generate", kGen);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"provisioning\":true"), std::string::npos) << r.body;
  ASSERT_TRUE(eventually([&] { return provisioning(corral.port, "m1") == "ready"; }, 10000))
      << status_of(corral.port) << corral.log();
  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", kGen).status == 200; }));
  EXPECT_EQ(names_in(w.file("starts")), std::vector<std::string>{"m1"});
}

// A member that failed its first probe is still tried when nothing else is up (the last
// resort); a stream sent that way is in flight there like any other, which is what keeps an
// on-demand member's idle stop and its group's scale-down off it.
TEST_P(Lifecycle, StreamToTheLastResortCountsInFlight) {
  int port = free_port();
  Corral corral({}, GetParam(),
                "health: {interval: 1h, timeout: 1s}\ndiscovery: {interval: 1h}\nbackends:\n"
                "  - {name: late, url: \"http://127.0.0.1:" +
                    std::to_string(port) + "\"}\n");
  Sim late({}, port);
  ASSERT_NE(status_of(corral.port).find("\"up\":false"), std::string::npos) << status_of(corral.port);
  Stream s(corral.port, 10, 100);
  ASSERT_TRUE(s.started()) << corral.log();
  EXPECT_EQ(json_int(backend_in(status_of(corral.port), "late"), "in_flight"), 1) << status_of(corral.port);
  Response r = s.finish();
  EXPECT_TRUE(r.complete);
  EXPECT_NE(r.body.find("\"done\":true"), std::string::npos) << r.body;
  EXPECT_TRUE(eventually([&] { return json_int(backend_in(status_of(corral.port), "late"), "in_flight") == 0; }))
      << status_of(corral.port);
}

// Probe rounds last long here (a member that accepts and never answers holds each one to
// its 2 s timeout), so `brief`, idle 3 s after its requests, goes away in the middle of the
// second round, which probes it and `stays` after it: the round's results still reach the
// members they were for, and `stays` keeps serving.
TEST_P(Lifecycle, AMemberStoppedDuringAProbeRoundLeavesTheOthersAsTheyWere) {
  Workdir w;
  write_hooks(w, "0");
  w.write("port.brief", std::to_string(free_port()));
  w.write("port.stays", std::to_string(free_port()));
  Sim hung;
  ::kill(hung.proc.pid(), SIGSTOP);  // connects (the backlog), never answers
  std::string yaml =
      "health: {interval: 100ms, timeout: 2s}\nbackends:\n"
      "  - {name: hung, url: " +
      hung.url() + ", enabled: false}\n" + on_demand_entry(w, "brief", ", idle_timeout: 3s") +
      "    models: [llama3.2]\n" + on_demand_entry(w, "stays", "") + "    models: [\"qwen2.5:7b\"]\n";
  Corral corral({}, GetParam(), yaml);
  const std::string qwen = "{\"model\":\"qwen2.5:7b\",\"prompt\":\"hi\",\"stream\":false}";
  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", kGen).status == 200; }, 15000))
      << corral.log();
  EXPECT_TRUE(eventually([&] { return request(corral.port, "POST", "/api/generate", qwen).status == 200; }, 15000))
      << corral.log();
  ASSERT_TRUE(eventually([&] { return provisioning(corral.port, "brief") == "idle"; }, 10000)) << corral.log();
  for (int i = 0; i < 8; ++i) {  // a few rounds after the stop
    Response r = request(corral.port, "POST", "/api/generate", qwen);
    ASSERT_EQ(r.status, 200) << "round " << i << ": " << r.body << "\n" << status_of(corral.port);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  std::string me = backend_in(status_of(corral.port), "stays");
  EXPECT_NE(me.find("\"up\":true"), std::string::npos) << status_of(corral.port);
  EXPECT_EQ(json_str(me, "url"), "http://127.0.0.1:" + slurp(w.file("port.stays"))) << me;
  ::kill(hung.proc.pid(), SIGCONT);
}

INSTANTIATE_TEST_SUITE_P(Io, Lifecycle, ::testing::Values("uring", "epoll"),
                         [](const auto& info) { return std::string(info.param); });
