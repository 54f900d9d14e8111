// Hosted backends over TLS (issue 13), the failure and secrecy side: corral in
// front of the fake OpenAI / Anthropic servers of tests/fakes (node, TLS with a
// certificate made by tests/fakes/make-certs.sh). An untrusted certificate or a
// name the certificate does not carry is a 502 naming TLS verification and sends
// the provider nothing; a missing api_key_env variable stops corral at start
// (exit 2, naming it); verify: false works and warns at start; the provider key
// never shows in corral's log, /status, /metrics or analytics; probes never spend
// tokens; the TLS listener takes a new certificate on SIGHUP.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

constexpr const char* kKeyEnv = "CORRAL_TEST_HOSTED_OPENAI_KEY";
constexpr const char* kAntKeyEnv = "CORRAL_TEST_HOSTED_ANTHROPIC_KEY";
constexpr const char* kKey = "sk-proj-hosted-test-SECRET-9c41e7a2b5";
constexpr const char* kAntKey = "sk-ant-api03-hosted-test-SECRET-d83f10";
constexpr const char* kClientKey = "sk-client-own-SECRET-2b7e";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

// stdout of a shell command (curl for the fakes' HTTPS /fake/* endpoints).
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// One set of test certificates (ca.pem, server.pem, untrusted.pem) for the whole run.
const std::string& certs() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/corral-hosted-certs-XXXXXX";
    std::string d = mkdtemp(tmpl);
    std::string cmd = bin("FAKES_DIR") + "/make-certs.sh " + d + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-certs.sh failed");
    return d;
  }();
  return dir;
}

// A fake provider (tests/fakes/fake-KIND.mjs) on a free loopback port.
struct Fake {
  int port = free_port();
  std::string log_path;
  Process proc;
  Fake(const std::string& kind, const std::string& cert, const std::string& key) {
    char tmpl[] = "/tmp/corral-hosted-fake-XXXXXX";
    int fd = mkstemp(tmpl);
    ::close(fd);
    log_path = tmpl;
    proc = Process({bin("NODE_BIN"), bin("FAKES_DIR") + "/fake-" + kind + ".mjs", "--port", std::to_string(port),
                    "--cert", certs() + "/" + cert + ".pem", "--key", certs() + "/" + cert + ".key", "--api-key", key},
                   log_path);
    for (int i = 0; i < 500; ++i) {
      if (slurp(log_path).find("listening " + std::to_string(port)) != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("fake-" + kind + " did not start: " + slurp(log_path));
  }
  ~Fake() { ::unlink(log_path.c_str()); }
  // /fake/* over HTTPS without verification (the untrusted fake too).
  std::string get(const std::string& path) const {
    return run("curl -sk --max-time 5 https://127.0.0.1:" + std::to_string(port) + path);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port); }
};

std::string backend_yaml(const std::string& name, const std::string& kind, const std::string& url,
                         const std::string& key_env, const std::string& models, const std::string& tls) {
  return "  - name: " + name + "\n    kind: " + kind + "\n    url: \"" + url + "\"\n    api_key_env: " + key_env +
         "\n    models: [" + models + "]\n    tls: " + tls + "\n";
}
std::string trusting_ca() { return "{ca_file: \"" + certs() + "/ca.pem\", verify: true}"; }
const std::string kQuiet = "health: {interval: 1h}\ndiscovery: {interval: 1h}\n";

const std::string kChat = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello there"}]})";
const std::string kOllamaChat = R"({"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"hi"}]})";

// The error message of an OpenAI {"error":{"message":…}} or Ollama {"error":"…"} body.
std::string error_message(const std::string& body) {
  std::smatch m;
  static const std::regex openai(R"re("message"\s*:\s*"((?:[^"\\]|\\.)*)")re");
  static const std::regex ollama(R"re("error"\s*:\s*"((?:[^"\\]|\\.)*)")re");
  if (std::regex_search(body, m, openai) || std::regex_search(body, m, ollama)) return m[1];
  return "";
}

// corral's config for the one OpenAI backend `fake`, connected to with `tls`.
std::string openai_only(const Fake& fake, const std::string& tls) {
  return "backends:\n" + backend_yaml("openai", "openai", fake.url(), kKeyEnv, "gpt-4o", tls) + kQuiet;
}
// tls: trusting the test CA, verifying the certificate for `server_name`.
std::string ca_for(const std::string& server_name) {
  return "{ca_file: \"" + certs() + "/ca.pem\", server_name: " + server_name + "}";
}

// A 502 whose message names TLS verification: the client learns why.
void expect_tls_verification_502(const Response& r) {
  EXPECT_EQ(r.status, 502) << r.body;
  std::string msg = lower(error_message(r.body));
  EXPECT_NE(msg.find("tls"), std::string::npos) << r.body;
  EXPECT_NE(msg.find("verif"), std::string::npos) << r.body;
}

class Hosted : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    setenv(kKeyEnv, kKey, 1);
    setenv(kAntKeyEnv, kAntKey, 1);
  }
  void TearDown() override {
    unsetenv(kKeyEnv);
    unsetenv(kAntKeyEnv);
  }
};

}  // namespace

// The fake presents a self-signed certificate corral was not told to trust.
TEST_P(Hosted, UntrustedCertificateIs502NamingTlsVerificationAndSendsNothing) {
  Fake fake("openai", "untrusted", kKey);
  Corral corral({}, GetParam(), openai_only(fake, trusting_ca()));

  Response r = request(corral.port, "POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(r.status, 502) << r.body;
  std::string msg = lower(error_message(r.body));
  EXPECT_NE(msg.find("tls"), std::string::npos) << "the message names TLS: " << r.body;
  EXPECT_NE(msg.find("verif"), std::string::npos) << "the message names verification: " << r.body;
  EXPECT_NE(r.body.find("\"error\":{"), std::string::npos) << "OpenAI's error shape: " << r.body;

  expect_tls_verification_502(request(corral.port, "POST", "/api/chat", kOllamaChat));

  std::string stats = fake.get("/fake/stats");
  EXPECT_EQ(json_int(stats, "requests"), 0) << "nothing (no key) was sent to the unverified server: " << stats;
  EXPECT_GE(json_int(stats, "tls_failures"), 1) << "corral aborted the handshake: " << stats;
}

// The same inside a fleet: the one backend with the model fails verification while another is healthy.
TEST_P(Hosted, UntrustedCertificateBesideAHealthyBackendStillNamesTlsVerification) {
  Fake fake("openai", "untrusted", kKey);
  Sim sim;
  Corral corral({}, GetParam(),
                "backends:\n  - {name: local, url: \"" + sim.url() + "\"}\n" +
                    backend_yaml("openai", "openai", fake.url(), kKeyEnv, "gpt-4o", trusting_ca()) + kQuiet);
  expect_tls_verification_502(request(corral.port, "POST", "/v1/chat/completions", kChat));
  EXPECT_EQ(json_int(fake.get("/fake/stats"), "requests"), 0);
}

// The certificate is trusted but is for localhost / 127.0.0.1, not the name corral is told to expect.
TEST_P(Hosted, CertificateForAnotherNameIs502) {
  Fake fake("openai", "server", kKey);
  Corral corral({}, GetParam(), openai_only(fake, ca_for("not-this-host.example")));
  expect_tls_verification_502(request(corral.port, "POST", "/v1/chat/completions", kChat));
  EXPECT_EQ(json_int(fake.get("/fake/stats"), "requests"), 0);
}

// server_name sets SNI (and the name verified) when the url is an address.
TEST_P(Hosted, ServerNameSetsSni) {
  Fake fake("openai", "server", kKey);
  Corral corral({}, GetParam(), openai_only(fake, ca_for("localhost")));
  Response r = request(corral.port, "POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("echo: hello there"), std::string::npos) << r.body;
  std::string log = fake.get("/fake/requests");
  EXPECT_NE(log.find("\"servername\":\"localhost\""), std::string::npos) << log;
}

TEST_P(Hosted, MissingApiKeyEnvIsAStartupErrorNamingIt) {
  const char* missing = "CORRAL_TEST_HOSTED_KEY_NOBODY_SET";
  unsetenv(missing);
  char tmpl[] = "/tmp/corral-hosted-XXXXXX";
  int fd = mkstemp(tmpl);
  ::close(fd);
  std::string log = tmpl, yaml = log + ".yaml";
  std::ofstream(yaml) << "backends:\n"
                      << backend_yaml("openai", "openai", "https://127.0.0.1:9", missing, "gpt-4o", trusting_ca())
                      << kQuiet;
  Process p(
      {bin("CORRAL_BIN"), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--io", GetParam(), "--config", yaml},
      log);
  int rc = p.wait(10000);
  std::string out = slurp(log);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find(missing), std::string::npos) << "the error names the variable: " << out;
  ::unlink(log.c_str());
  ::unlink(yaml.c_str());
}

TEST_P(Hosted, VerifyFalseConnectsAndWarnsAtStart) {
  Fake fake("openai", "untrusted", kKey);
  Corral corral({}, GetParam(),
                "backends:\n" +
                    backend_yaml("insecure-openai", "openai", fake.url(), kKeyEnv, "gpt-4o", "{verify: false}") +
                    kQuiet);
  Response r = request(corral.port, "POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("echo: hello there"), std::string::npos) << r.body;
  bool warned = false;
  std::istringstream lines(corral.log());
  for (std::string line; std::getline(lines, line);) {
    std::string l = lower(line);
    if (l.find("level=warn") != std::string::npos && l.find("verif") != std::string::npos &&
        l.find("insecure-openai") != std::string::npos)
      warned = true;
  }
  EXPECT_TRUE(warned) << "a level=warn line naming the backend and verification:\n" << corral.log();
}

// The keys are used (the fakes accept nothing else) yet never shown: not in the log at
// debug level, /status, /metrics, analytics (search, export, the store's files) or errors.
TEST_P(Hosted, ProviderKeysNeverAppearInLogStatusOrAnalytics) {
  Fake openai("openai", "server", kKey);
  Fake anthropic("anthropic", "server", kAntKey);
  std::string yaml =
      "backends:\n" +
      backend_yaml("openai", "openai", openai.url(), kKeyEnv, "gpt-4o, gpt-4o-rate-limit", trusting_ca()) +
      backend_yaml("anthropic", "anthropic", anthropic.url(), kAntKeyEnv, "claude-sonnet-4-5", trusting_ca()) + kQuiet;
  Corral corral({}, GetParam(), yaml, {"--log-level", "debug"});
  std::vector<std::string> auth = {std::string("Authorization: Bearer ") + kClientKey};
  Response a = request(corral.port, "POST", "/v1/chat/completions", kChat, auth);
  EXPECT_EQ(a.status, 200) << a.body;
  Response b =
      request(corral.port, "POST", "/api/chat",
              R"({"model":"claude-sonnet-4-5","stream":false,"messages":[{"role":"user","content":"hi"}]})", auth);
  EXPECT_EQ(b.status, 200) << b.body;
  Response c = request(corral.port, "POST", "/v1/chat/completions",
                       R"({"model":"gpt-4o-rate-limit","messages":[{"role":"user","content":"x"}]})", auth);
  EXPECT_EQ(c.status, 429) << c.body;
  for (const Response* r : {&a, &b, &c}) {
    EXPECT_EQ(r->body.find(kKey), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find(kAntKey), std::string::npos) << r->body;
  }
  EXPECT_NE(openai.get("/fake/requests").find(std::string("Bearer ") + kKey), std::string::npos) << "the key was used";

  std::string analytics;
  for (int i = 0; i < 100; ++i) {
    analytics = request(corral.port, "GET", "/analytics/search?limit=100").body;
    if (json_int(analytics, "total") >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(json_int(analytics, "total"), 3) << analytics;
  std::map<std::string, std::string> shown = {
      {"/status", request(corral.port, "GET", "/status").body},
      {"/metrics", request(corral.port, "GET", "/metrics").body},
      {"/analytics/search", analytics},
      {"/analytics/export", request(corral.port, "GET", "/analytics/export?format=json").body},
      {"/analytics/stats", request(corral.port, "GET", "/analytics/stats").body},
      {"log", corral.log()}};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corral.data_dir)) {
    if (entry.is_regular_file()) shown[entry.path().string()] = slurp(entry.path().string());
  }
  EXPECT_NE(shown["/status"].find("anthropic"), std::string::npos) << "the backends are in /status";
  for (const auto& [where, text] : shown) {
    for (const char* secret : {kKey, kAntKey, kClientKey}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << where << " shows a key";
    }
  }
}

// Hosted kinds are health-checked passively: probes and discovery never send a request that spends tokens.
TEST_P(Hosted, ProbesNeverSpendTokens) {
  Fake openai("openai", "server", kKey);
  Fake anthropic("anthropic", "server", kAntKey);
  std::string yaml =
      "backends:\n" + backend_yaml("openai", "openai", openai.url(), kKeyEnv, "gpt-4o", trusting_ca()) +
      backend_yaml("anthropic", "anthropic", anthropic.url(), kAntKeyEnv, "claude-sonnet-4-5", trusting_ca()) +
      "health: {interval: 200ms}\ndiscovery: {interval: 200ms}\n";
  Corral corral({}, GetParam(), yaml);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // several probe and discovery rounds
  for (const Fake* f : {&openai, &anthropic}) {
    std::string log = f->get("/fake/requests");
    EXPECT_EQ(log.find("\"method\":\"POST\""), std::string::npos) << "a probe spent tokens: " << log;
  }
  Response r = request(corral.port, "POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(r.status, 200) << "the backends stay in service: " << r.body;
}

// tls_listen's certificate and key are read again on SIGHUP: new connections get the new pair.
TEST_P(Hosted, TlsListenerReloadsItsCertificateOnSighup) {
  char tmpl[] = "/tmp/corral-hosted-front-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto install = [&](const std::string& name) {
    std::filesystem::copy_file(certs() + "/" + name + ".pem", dir + "/front.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(certs() + "/" + name + ".key", dir + "/front.key",
                               std::filesystem::copy_options::overwrite_existing);
  };
  install("server");
  int tls_port = free_port();
  Sim sim;
  Corral corral({sim.url()}, GetParam(),
                "tls_listen: {address: \"127.0.0.1:" + std::to_string(tls_port) + "\", cert: \"" + dir +
                    "/front.pem\", key: \"" + dir + "/front.key\"}\n" + kQuiet);
  auto status_trusting = [&](const std::string& ca) {
    return run("curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert " + certs() + "/" + ca +
               ".pem https://localhost:" + std::to_string(tls_port) + "/api/tags");
  };
  EXPECT_EQ(status_trusting("ca"), "200");
  EXPECT_EQ(status_trusting("untrusted"), "000") << "the self-signed pair is not installed yet";
  EXPECT_TRUE(maps_library(corral.proc.pid(), "libssl.so")) << "a TLS listener opens OpenSSL at start";

  install("untrusted");
  corral.proc.signal(SIGHUP);
  std::string now;
  for (int i = 0; i < 100 && (now = status_trusting("untrusted")) != "200"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(now, "200") << "after SIGHUP the new certificate is served:\n" << corral.log();
  EXPECT_EQ(status_trusting("ca"), "000") << "and the old one no longer";
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200) << "plain listen keeps working";

  // A broken pair on the next SIGHUP is reported and the running one kept.
  std::ofstream(dir + "/front.pem") << "not a certificate\n";
  size_t before = corral.log().size();
  corral.proc.signal(SIGHUP);
  for (int i = 0; i < 100 && corral.log().find("front.pem", before) == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(corral.log().find("front.pem", before), std::string::npos) << "the failed reload names the file:\n"
                                                                       << corral.log().substr(before);
  EXPECT_EQ(status_trusting("untrusted"), "200") << "the running certificate is kept";
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Io, Hosted, ::testing::Values("uring", "epoll"));
