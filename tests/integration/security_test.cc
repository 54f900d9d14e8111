// Security, with real processes on loopback: no secret (corral's own key tokens,
// a provider token read through api_key_env, a token a client got wrong) ever
// reaches a log line, even at debug level; and a bad or absurd configuration is
// a clear error, never a crash, both when corral starts and on a SIGHUP reload.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

constexpr char kQuiet[] = "health: {interval: 1h, timeout: 2s}\ndiscovery: {interval: 1h}\n";
constexpr char kProviderEnv[] = "CORRAL_TEST_PROVIDER_TOKEN";
constexpr char kProviderToken[] = "sk-proj-PROVIDER-SECRET-7f3a9c";
constexpr char kQueryToken[] = "AIzaSy-QUERY-SECRET-55d1e0";
const std::string kGen = R"({"model":"llama3.2","prompt":"hi","stream":false})";

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

std::string scratch_dir(const std::string& what) {
  std::string dir = "/tmp/corral-security-" + what + "-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// `corral keys ARGS… --data-dir DIR`: its token, alone on the last line of its output.
std::string create_key(const std::string& dir, const std::vector<std::string>& args) {
  std::string out = dir + "/.keys-out";
  std::vector<std::string> argv = {bin("CORRAL_BIN"), "keys"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--data-dir", dir});
  Process p(argv, out);
  EXPECT_EQ(p.wait(10000), 0) << slurp(out);
  std::string text = slurp(out);
  text = text.substr(0, text.find_last_not_of('\n') + 1);
  return text.substr(text.rfind('\n') + 1);
}

// The value of "field":"…" in a JSON text.
std::string json_str(const std::string& json, const std::string& field) {
  std::string k = "\"" + field + "\":\"";
  size_t p = json.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  return json.substr(p, json.find('"', p) - p);
}

std::vector<std::string> bearer(const std::string& token) { return {"Authorization: Bearer " + token}; }

}  // namespace

// Every way a secret could reach the log at debug level: requests with good,
// unknown, malformed, rotated and revoked tokens (Bearer and x-api-key), keys
// created and rotated over the admin API (whose answers carry the new token),
// a hosted backend whose provider token comes from api_key_env, and reloads
// (valid and invalid) of that configuration. Not one line holds a secret.
TEST(Security, NoSecretInAnyLogLine) {
  Sim sim({"--models", "llama3.2:latest=2019393189:loaded,gpt-4o=1000000:loaded"});
  std::string dir = scratch_dir("log");
  std::string admin = create_key(dir, {"create", "ops", "--admin"});
  std::string alice = create_key(dir, {"create", "alice"});
  ASSERT_EQ(admin.rfind("crl_", 0), 0u) << admin;
  ASSERT_EQ(alice.rfind("crl_", 0), 0u) << alice;
  ::setenv(kProviderEnv, kProviderToken, 1);
  std::string yaml = std::string(kQuiet) + "backends:\n  - {name: local, url: " + sim.url() +
                     "}\n  - {name: hosted, kind: openai, url: " + sim.url() + ", api_key_env: " + kProviderEnv +
                     ", models: [gpt-4o]}\n";
  Corral corral({}, "uring", yaml, {"--auth", "--log-level", "debug", "--data-dir", dir});

  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, bearer(alice)).status, 200);
  Response hosted = request(corral.port, "POST", "/v1/chat/completions",
                            R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})", bearer(alice));
  EXPECT_EQ(hosted.status, 200) << hosted.body;
  EXPECT_EQ(request(corral.port, "POST", "/v1/messages",
                    R"({"model":"llama3.2","max_tokens":8,"messages":[{"role":"user","content":"hi"}]})",
                    {"x-api-key: " + alice, "anthropic-version: 2023-06-01"})
                .status,
            200);
  // Wrong tokens are secrets too: often a real key of something else, or one typo away from one.
  const std::string unknown = "crl_" + std::string(43, 'Q');
  const std::string foreign = "sk-ant-api03-CLIENT-MISTAKE-91c2";
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, bearer(unknown)).status, 401);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, bearer(foreign)).status, 401);
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, {"x-api-key: " + foreign}).status, 401);
  EXPECT_EQ(request(corral.port, "GET", "/status", "", bearer(alice)).status, 403);
  // Some clients put their key in the URL; the access line shows the path without the query.
  EXPECT_EQ(request(corral.port, "GET", std::string("/api/tags?key=") + kQueryToken, "", bearer(alice)).status, 200);
  EXPECT_EQ(request(corral.port, "GET", std::string("/api/version?api_key=") + kQueryToken).status, 401);

  Response made = request(corral.port, "POST", "/admin/keys", R"({"name":"bob"})", bearer(admin));
  ASSERT_EQ(made.status, 201) << made.body;
  std::string bob = json_str(made.body, "token");
  ASSERT_EQ(bob.rfind("crl_", 0), 0u) << made.body;
  Response rotated = request(corral.port, "PATCH", "/admin/keys/bob", R"({"rotate":true})", bearer(admin));
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  std::string bob2 = json_str(rotated.body, "token");
  ASSERT_EQ(bob2.rfind("crl_", 0), 0u) << rotated.body;
  EXPECT_TRUE(eventually(
      [&] { return request(corral.port, "POST", "/api/generate", kGen, bearer(bob2)).status == 200; }, 10000));
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, bearer(bob)).status, 401);
  EXPECT_EQ(request(corral.port, "DELETE", "/admin/keys/bob", "", bearer(admin)).status, 200);
  EXPECT_TRUE(eventually(
      [&] { return request(corral.port, "POST", "/api/generate", kGen, bearer(bob2)).status == 401; }, 10000));

  // Reloads of the file, then of one whose api_key_env names a variable that is not set.
  std::string path = corral.log_path + ".yaml";
  corral.proc.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return count(corral.log(), "event=reload ") == 1; }));
  std::string broken = yaml;
  broken.replace(broken.find(kProviderEnv), sizeof kProviderEnv - 1, "CORRAL_TEST_UNSET_TOKEN");
  std::ofstream(path) << broken;
  corral.proc.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return count(corral.log(), "event=reload_failed") == 1; }));
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", kGen, bearer(alice)).status, 200);

  std::string log = corral.log();
  EXPECT_NE(log.find(" key=alice "), std::string::npos) << "access lines name the key:\n" << log;
  EXPECT_NE(log.find(" path=/api/tags status=200 "), std::string::npos) << log;
  struct Secret {
    const char* what;
    std::string value;
  };
  const std::vector<Secret> secrets = {{"admin token", admin},
                                       {"alice's token", alice},
                                       {"bob's first token", bob},
                                       {"bob's rotated token", bob2},
                                       {"an unknown corral token", unknown},
                                       {"a foreign token", foreign},
                                       {"the provider token", kProviderToken},
                                       {"a token in a query string", kQueryToken}};
  for (const Secret& s : secrets) {
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_EQ(line.find(s.value), std::string::npos) << s.what << " in a log line: " << line;
      // Nor a recognisable part of one (a prefix shown "for debugging").
      EXPECT_EQ(line.find(s.value.substr(s.value.size() - 12)), std::string::npos) << s.what << ": " << line;
    }
  }
  ::unsetenv(kProviderEnv);
  std::filesystem::remove_all(dir);
}

namespace {

struct BadFile {
  std::string yaml;
  std::string says;  // the error names this
};

// Broken YAML and absurd values: negative sizes, counts past any range, durations
// that overflow, nesting deep enough to exhaust a recursive parser's stack.
std::vector<BadFile> bad_files() {
  return {
      {"listen: [1, 2\n", "invalid YAML"},
      {"routing:\n\t balance: random\n", "invalid YAML"},
      {std::string("\x00\xff\xfe\x01garbage\x7f", 11) + "\n", "invalid YAML"},
      {"- a\n- list\n", "expected a mapping"},
      {"backends: 5\n", "backends"},
      {"limits: {max_body_bytes: -1}\n", "limits.max_body_bytes"},
      {"limits: {max_header_bytes: 99999999999999999999999999}\n", "limits.max_header_bytes"},
      {"limits: {max_headers: 1e9}\n", "limits.max_headers"},
      {"workers: 4294967297\n", "workers"},
      {"buffers: {count: -16}\n", "buffers.count"},
      {"buffers: {size: 18446744073709551617}\n", "buffers.size"},
      {"analytics: {ring_kb: -1}\n", "analytics.ring_kb"},
      {"analytics: {batch_size: 0}\n", "analytics.batch_size"},
      {"analytics: {max_backlog: 5}\n", "analytics.max_backlog"},
      {"routing: {queue_size: 1e400}\n", "routing.queue_size"},
      {"routing: {max_attempts: -3}\n", "routing.max_attempts"},
      {"timeouts: {header: -5s}\n", "timeouts.header"},
      {"timeouts: {drain: 99999999999h}\n", "timeouts.drain"},
      {"health: {unhealthy_after: 18446744073709551616}\n", "health.unhealthy_after"},
      {"metrics: {max_models: 4294967297}\n", "metrics.max_models"},
      {"backends:\n  - {url: \"http://127.0.0.1:99999\"}\n", "backends[0].url"},
      {"backends:\n  - {url: \"http://127.0.0.1:-1\"}\n", "backends[0].url"},
      {"backends:\n  - {url: \"http://127.0.0.1:1\", max_memory_gb: -2}\n", "backends[0].max_memory_gb"},
      {"backends:\n  - {url: \"http://127.0.0.1:1\", max_concurrent: 1e12}\n", "backends[0].max_concurrent"},
      {"backends:\n  - {url: \"http://127.0.0.1:1\", priority: -1}\n", "backends[0].priority"},
      {"health: {interval: 0s}\n", "health.interval"},
      {"analytics: {flush_interval: 0ms}\n", "analytics.flush_interval"},
      {"listen: " + std::string(100000, '[') + "\n", "invalid YAML"},
      {"routing: " + std::string(100000, '{') + "\n", "invalid YAML"},
  };
}

// The status corral exits with on `config_file` (its output in out_path), or -1 if still running after 10 s.
int start_with(const std::string& config_file, const std::string& out_path, const std::string& data_dir) {
  Process p({bin("CORRAL_BIN"), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--config", config_file,
             "--data-dir", data_dir},
            out_path);
  return p.wait(10000);
}

}  // namespace

// On start: each bad file ends corral with exit status 2 (no signal, no hang)
// and one "config error" line naming what is wrong.
TEST(Security, BadOrAbsurdConfigIsAClearErrorOnStart) {
  std::string dir = scratch_dir("start");
  int i = 0;
  for (const BadFile& bad : bad_files()) {
    SCOPED_TRACE("file " + std::to_string(i) + ": " + bad.yaml.substr(0, 80));
    std::string file = dir + "/bad" + std::to_string(i) + ".yaml", out = file + ".out";
    std::ofstream(file) << bad.yaml;
    EXPECT_EQ(start_with(file, out, dir + "/data"), 2);
    std::string said = slurp(out);
    EXPECT_EQ(count(said, "corral: config error: "), 1) << said;
    EXPECT_NE(said.find(bad.says), std::string::npos) << said;
    EXPECT_LT(said.size(), 2000u) << "not a clear error";
    ++i;
  }
  std::filesystem::remove_all(dir);
}

// On SIGHUP: each bad file is one reload_failed line naming what is wrong, the
// running configuration stays (same backend, still serving), corral lives on.
TEST(Security, BadOrAbsurdConfigIsAClearErrorOnReload) {
  Sim sim;
  std::string good = std::string(kQuiet) + "backends:\n  - {name: only, url: " + sim.url() + "}\n";
  Corral corral({}, "uring", good);
  std::string path = corral.log_path + ".yaml";
  int i = 0;
  for (const BadFile& bad : bad_files()) {
    SCOPED_TRACE("file " + std::to_string(i) + ": " + bad.yaml.substr(0, 80));
    std::ofstream(path + ".new") << bad.yaml;
    std::filesystem::rename(path + ".new", path);
    size_t before = corral.log().size();
    corral.proc.signal(SIGHUP);
    ++i;
    ASSERT_TRUE(eventually([&] { return count(corral.log(), "event=reload_failed") == i; }, 10000)) << corral.log();
    std::string line = corral.log().substr(before);
    line = line.substr(line.find("event=reload_failed"));
    line = line.substr(0, line.find('\n'));
    EXPECT_NE(line.find(bad.says), std::string::npos) << line;
    EXPECT_NE(line.find("kept the running config"), std::string::npos) << line;
    EXPECT_LT(line.size(), 2000u) << "not a clear error";
    Response r = request(corral.port, "POST", "/api/generate", kGen);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(count(corral.log(), "event=reload "), 0);
  std::string status = request(corral.port, "GET", "/status").body;
  EXPECT_NE(status.find("\"name\":\"only\""), std::string::npos) << status;
}
