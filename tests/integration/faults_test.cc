// Faults survived, with real processes on loopback: backends that are killed,
// reset, stall, answer garbage or half-close (before the response, partway
// through its head, mid-stream), corral drained with 200 streams in flight,
// reloaded every 100 ms under load, killed mid-batch, writing analytics to a
// full disk, and clients that are slow or reset. Every case is bounded in time;
// sockets and sessions are counted from /proc and /metrics afterwards.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"
#include "store.h"

using namespace harness;

namespace {

constexpr char kQuiet[] = "health: {interval: 1h, timeout: 2s}\ndiscovery: {interval: 1h}\n";
const std::string kStreamGen = R"({"model":"llama3.2","prompt":"why is the sky blue?"})";
const std::string kWholeGen = R"({"model":"llama3.2","prompt":"why is the sky blue?","stream":false})";
const std::string kWholeM = R"({"model":"m","prompt":"x","stream":false})";
const std::string kSseChat = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true})";

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Calls f(fd, target) for every open descriptor of a process (/proc/PID/fd).
template <typename F>
void for_each_fd(pid_t pid, F f) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd/";
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char buf[256] = {};
    ssize_t n = readlink((dir + e->d_name).c_str(), buf, sizeof buf - 1);
    f(std::atoi(e->d_name), std::string(buf, n > 0 ? size_t(n) : 0));
  }
  closedir(d);
}

// Open sockets of a process (client, backend, listening, the analytics query
// handoff). Files are left out: the analytics spool's reader opens its segment
// when the first records arrive, which can be after a baseline.
long socket_count(pid_t pid) {
  long n = 0;
  for_each_fd(pid, [&](int, const std::string& target) { n += target.starts_with("socket:"); });
  return n;
}

// What a closed socket of process pid still tells, read from a copy of it taken
// with pidfd_getfd: its local port (corral's listening port for a client's, another
// for a backend's), its pending error (SO_ERROR), and what a peek at it returns.
std::string socket_facts(pid_t pid, int fd) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  int copy = pidfd < 0 ? -1 : static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int copy_errno = errno;
  if (pidfd >= 0) ::close(pidfd);
  if (copy < 0) return " (no copy: " + std::string(std::strerror(copy_errno)) + ")";
  sockaddr_in a{};
  socklen_t len = sizeof a;
  std::string out = " local ";
  out += getsockname(copy, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? std::to_string(ntohs(a.sin_port)) : "unknown";
  int soerr = 0;
  socklen_t l = sizeof soerr;
  getsockopt(copy, SOL_SOCKET, SO_ERROR, &soerr, &l);
  char b[16];
  ssize_t n = ::recv(copy, b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
  out += " so_error=" + std::to_string(soerr) + " peek=" + std::to_string(n) +
         " errno=" + std::to_string(n < 0 ? errno : 0);
  ::close(copy);
  return out;
}

// Every descriptor, and for a socket its /proc/net/tcp line (state in the 4th
// column; a socket absent from it is closed: reset, or never connected); each
// io_uring's fdinfo (its poll list: the operations it holds).
std::string fd_dump(pid_t pid) {
  std::string out, dir = "/proc/" + std::to_string(pid);
  std::string tcp = slurp(dir + "/net/tcp") + slurp(dir + "/net/tcp6");
  for_each_fd(pid, [&](int fd, const std::string& t) {
    out += "\n fd " + std::to_string(fd) + " " + t;
    if (t == "anon_inode:[io_uring]") out.append("\n").append(slurp(dir + "/fdinfo/" + std::to_string(fd)));
    if (!t.starts_with("socket:[")) return;
    std::string ino = t.substr(8, t.size() - 9);
    size_t at = tcp.find(" " + ino + " ");
    if (at == std::string::npos) {
      out += " (not in /proc/net/tcp)" + socket_facts(pid, fd);
    } else {
      size_t b = tcp.rfind('\n', at);
      out += " tcp:" + tcp.substr(b + 1, at - b + ino.size());
    }
  });
  return out;
}

// With no traffic and no pooled backend connection (upstream.idle_timeout is
// short in these tests) corral's socket count settles to the same number.
long settled_sockets(pid_t pid) {
  long last = -1;
  for (int i = 0; i < 100; ++i) {
    long now = socket_count(pid);
    if (now == last) return now;
    last = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return last;
}

// The sessions gauge once at most the scrape's own connection is left (the
// workers store it each 100 ms tick, so the scrape itself may not be in it yet),
// or its last value.
double sessions_settled(int port) {
  double v = -1;
  eventually([&] { return (v = metric(port, "corral_client_sessions")) <= 1; }, 5000);
  return v;
}

void send_raw(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void reset_raw(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// A response read to the connection's end, kept raw: what a client of a cut stream sees.
struct Received {
  int status = 0;
  bool closed = false;      // the connection ended within the bound
  bool terminated = false;  // the terminating zero-length chunk arrived
  std::string body;         // the complete chunks, de-chunked
  std::string raw;
};

Received read_to_close(Client& c, int timeout_ms) {
  Received r;
  r.closed = c.wait_closed(timeout_ms);
  r.raw = c.read_some(std::string::npos, 10);
  size_t he = r.raw.find("\r\n\r\n");
  if (r.raw.size() >= 12 && r.raw.compare(0, 5, "HTTP/") == 0) r.status = std::atoi(r.raw.c_str() + 9);
  if (he == std::string::npos) return r;
  for (size_t p = he + 4;;) {
    size_t le = r.raw.find("\r\n", p);
    if (le == std::string::npos) break;
    size_t n = std::strtoul(r.raw.substr(p, le - p).c_str(), nullptr, 16);
    if (n == 0 && r.raw.compare(p, 1, "0") == 0) {
      r.terminated = true;
      break;
    }
    if (r.raw.size() < le + 2 + n + 2) break;
    r.body.append(r.raw, le + 2, n);
    p = le + 2 + n + 2;
  }
  return r;
}

// The last non-empty line of a body (NDJSON), or the data of its last SSE event.
std::string last_line(const std::string& body) {
  std::string last;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    last = line.rfind("data: ", 0) == 0 ? line.substr(6) : line;
  }
  return last;
}

std::string yaml_config(const std::string& extra = "") {
  return std::string(kQuiet) + "routing: {circuit_failures: 0}\nupstream: {idle_timeout: 300ms}\n" + extra;
}

struct FaultCase {
  std::string fault, at;
};

std::string trace(const FaultCase& f) { return "X-Sim-Fault: " + f.fault + ", X-Sim-Fault-At: " + f.at; }

std::vector<std::string> fault_headers(const FaultCase& f, const std::string& tokens = "10") {
  return {"X-Sim-Fault: " + f.fault, "X-Sim-Fault-At: " + f.at, "X-Sim-Tokens: " + tokens, "X-Sim-Token-Delay-Ms: 10"};
}

class Faults : public IoTest {};

void expect_still_serving(int port) {
  Response ok = request(port, "POST", "/api/generate", kWholeGen);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("\"done\":true"), std::string::npos) << ok.body;
}

}  // namespace

// Before any response byte, or partway through the head: the client gets a
// JSON error (502, or 504 when the backend stalls past timeouts.first_byte) on
// a connection that stays usable, and nothing is left open afterwards.
TEST_P(Faults, BackendFaultBeforeTheBodyIsAJsonError) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config("timeouts: {first_byte: 700ms}\n"));
  long base_sockets = settled_sockets(corral.proc.pid());
  for (const std::string at : {"0", "mid-head"}) {
    for (const std::string fault : {"close", "reset", "half-close", "garbage", "stall"}) {
      FaultCase f{fault, at};
      SCOPED_TRACE(trace(f));
      long injected = sim.stat("faults_injected");
      Client c(corral.port);
      c.send(build_request("POST", "/api/generate", kStreamGen, fault_headers(f)));
      Response r = c.read_response(10000);
      EXPECT_EQ(r.status, fault == "stall" ? 504 : 502) << r.body;
      EXPECT_TRUE(r.complete);
      EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
      EXPECT_EQ(r.body.rfind("{\"error\":\"", 0), 0u) << r.body;
      EXPECT_GE(sim.stat("faults_injected"), injected + 1) << "the fault happened";
      // The same client connection carries on.
      c.send(build_request("POST", "/api/generate", kWholeGen, {}));
      Response next = c.read_response(10000);
      EXPECT_EQ(next.status, 200) << next.body;
    }
  }
  expect_still_serving(corral.port);
  EXPECT_LE(sessions_settled(corral.port), 1);
  EXPECT_TRUE(eventually([&] { return socket_count(corral.proc.pid()) == base_sockets; }, 10000))
      << socket_count(corral.proc.pid()) << " sockets open, " << base_sockets << " before the faults";
}

// After the head and two token chunks: the client keeps every byte the backend
// sent, the connection closes, and no terminating zero-length chunk pretends
// the stream was complete.
TEST_P(Faults, BackendFaultMidStreamCutsTheStreamWithoutATerminator) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config("timeouts: {stream_idle: 700ms}\n"));
  long base_sockets = settled_sockets(corral.proc.pid());
  for (const std::string fault : {"close", "reset", "half-close", "garbage", "stall"}) {
    FaultCase f{fault, "2"};
    SCOPED_TRACE(trace(f));
    Client c(corral.port);
    c.send(build_request("POST", "/api/generate", kStreamGen, fault_headers(f)));
    Received r = read_to_close(c, 10000);
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_TRUE(r.closed) << "the connection stays open after a cut stream";
    EXPECT_FALSE(r.terminated) << r.raw;
    EXPECT_EQ(count(r.body, "\"done\":false"), 2) << r.raw;
    EXPECT_NE(r.body.find("token1"), std::string::npos) << "bytes the backend sent before the fault are lost";
    EXPECT_EQ(r.body.find("\"done\":true"), std::string::npos);
    EXPECT_EQ(r.raw.find("garbage"), std::string::npos) << "backend garbage reached the client";
  }
  expect_still_serving(corral.port);
  EXPECT_LE(sessions_settled(corral.port), 1);
  EXPECT_TRUE(eventually([&] { return socket_count(corral.proc.pid()) == base_sockets; }, 10000))
      << socket_count(corral.proc.pid()) << " sockets open, " << base_sockets << " before the faults";
}

// A stream cut mid-way must end, for NDJSON and SSE, with an {"error":"..."}
// object (Ollama's own shape) so official clients raise instead of returning a
// short answer as if it were complete.
TEST_P(Faults, MidStreamCutEndsWithAnErrorObject) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config("timeouts: {stream_idle: 700ms}\n"));
  for (const std::string fault : {"close", "reset", "half-close", "garbage", "stall"}) {
    FaultCase f{fault, "2"};
    for (const std::string path : {"/api/generate", "/v1/chat/completions"}) {
      SCOPED_TRACE(trace(f) + " " + path);
      Client c(corral.port);
      c.send(build_request("POST", path, path == "/api/generate" ? kStreamGen : kSseChat, fault_headers(f)));
      Received r = read_to_close(c, 10000);
      ASSERT_EQ(r.status, 200) << r.raw;
      EXPECT_FALSE(r.terminated);
      std::string last = last_line(r.body);
      EXPECT_EQ(last.rfind("{\"error\":", 0), 0u) << "last line: " << last;
    }
  }
}

// The backend process dies (SIGKILL) with a request before its head, with one
// partway through its head, and with one mid-stream; it comes back on the same
// port each time and corral serves again.
TEST_P(Faults, BackendKilledBeforeTheHeadMidHeadAndMidStream) {
  auto sim = std::make_unique<Sim>();
  int sim_port = sim->port;
  Corral corral({sim->url()}, io(), yaml_config());
  long base_sockets = settled_sockets(corral.proc.pid());

  Client before(corral.port);
  before.send(build_request("POST", "/api/generate", kStreamGen, {"X-Sim-Stall-After: 0"}));
  std::string active = "corral_active_requests{backend=\"" + sim->url() + "\"}";
  ASSERT_TRUE(eventually([&] { return metric(corral.port, active) == 1; }));
  sim->proc.kill_now();
  Response r = before.read_response(10000);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.body.rfind("{\"error\":\"", 0), 0u) << r.body;

  sim = std::make_unique<Sim>(std::vector<std::string>{}, sim_port);
  expect_still_serving(corral.port);
  Client in_head(corral.port);
  in_head.send(build_request("POST", "/api/generate", kStreamGen, {"X-Sim-Fault: stall", "X-Sim-Fault-At: mid-head"}));
  ASSERT_TRUE(eventually([&] { return sim->stat("faults_injected") == 1; })) << "half the head was not sent";
  sim->proc.kill_now();
  Response cut_head = in_head.read_response(10000);
  EXPECT_EQ(cut_head.status, 502) << cut_head.body;
  EXPECT_EQ(cut_head.body.rfind("{\"error\":\"", 0), 0u) << cut_head.body;
  EXPECT_EQ(cut_head.body.find("HTTP/1.1 200"), std::string::npos) << "the half head reached the client";
  in_head.close();  // the 502 kept the connection open; only what corral holds on its own counts below

  sim = std::make_unique<Sim>(std::vector<std::string>{}, sim_port);
  expect_still_serving(corral.port);
  Client mid(corral.port);
  mid.send(build_request("POST", "/api/generate", kStreamGen, {"X-Sim-Tokens: 50", "X-Sim-Stall-After: 3"}));
  ASSERT_NE(mid.read_until("token2", 5000).find("token2"), std::string::npos);
  sim->proc.kill_now();
  Received cut = read_to_close(mid, 10000);
  EXPECT_EQ(cut.status, 200);
  EXPECT_TRUE(cut.closed);
  EXPECT_FALSE(cut.terminated) << cut.raw;
  EXPECT_EQ(count(cut.body, "\"done\":false"), 3) << cut.raw;

  sim = std::make_unique<Sim>(std::vector<std::string>{}, sim_port);
  expect_still_serving(corral.port);
  EXPECT_LE(sessions_settled(corral.port), 1);
  EXPECT_TRUE(eventually([&] { return socket_count(corral.proc.pid()) == base_sockets; }, 10000))
      << socket_count(corral.proc.pid()) << " sockets open, " << base_sockets << " before";
}

// A backend that sends a complete answer and then bytes nobody asked for (an
// extra response on the kept-alive connection): that connection is never
// reused, and not one byte of the excess reaches any client.
TEST_P(Faults, BytesAfterACompleteResponseNeverReachAClient) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config(), {"--workers", "1"});
  Response direct = request(sim.port, "POST", "/api/generate", kWholeGen);
  ASSERT_EQ(direct.status, 200);
  Client c(corral.port);
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    bool fault = i % 2 == 0;
    c.send(build_request(
        "POST", "/api/generate", kWholeGen,
        fault ? std::vector<std::string>{"X-Sim-Fault: garbage", "X-Sim-Fault-At: 1"} : std::vector<std::string>{}));
    Response r = c.read_response(10000);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(normalize(r.body), normalize(direct.body));
    EXPECT_EQ(r.body.find("excess!"), std::string::npos);
    Response other = request(corral.port, "GET", "/api/version");
    EXPECT_EQ(other.body, R"({"version":"0.5.7"})");
  }
  EXPECT_EQ(sim.stat("faults_injected"), 3);
}

// SIGTERM with 200 streams in flight: the short ones finish, the long ones are
// cut when timeouts.drain ends (closed, no terminating chunk), nobody is left
// hanging, no new connection is taken, and corral exits 0.
TEST_P(Faults, SigtermWithTwoHundredStreamsInFlight) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config("timeouts: {drain: 1500ms}\n"));
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kStreams; ++i) {
    bool long_one = i % 2 == 1;  // 10 tokens 50 ms apart end within the drain; 1000 do not
    clients.push_back(std::make_unique<Client>(corral.port));
    ASSERT_TRUE(clients.back()->connected());
    std::string tokens = long_one ? "X-Sim-Tokens: 1000" : "X-Sim-Tokens: 10";
    clients.back()->send(build_request("POST", "/api/generate", kStreamGen, {tokens, "X-Sim-Token-Delay-Ms: 50"}));
  }
  for (auto& c : clients) ASSERT_NE(c->read_until("token0", 10000).find("token0"), std::string::npos);
  corral.proc.signal(SIGTERM);
  std::vector<Received> got(kStreams);
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      for (int i = t; i < kStreams; i += 8) got[i] = read_to_close(*clients[i], 15000);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(Client(corral.port).connected()) << "a new connection was taken while draining";
  for (auto& r : readers) r.join();
  EXPECT_EQ(corral.proc.wait(15000), 0) << corral.log();
  int finished = 0, cut = 0;
  for (int i = 0; i < kStreams; ++i) {
    SCOPED_TRACE(i);
    const Received& r = got[i];
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.closed) << "still open after the drain";
    if (i % 2 == 0) {
      finished += r.terminated && count(r.body, "\"done\":true") == 1 && count(r.body, "\"done\":false") == 10;
    } else {
      cut += !r.terminated && count(r.body, "\"done\":true") == 0;
    }
  }
  EXPECT_EQ(finished, kStreams / 2) << "streams that end within the drain finish whole";
  EXPECT_EQ(cut, kStreams / 2) << "streams longer than the drain are cut, never terminated";
  corral.proc = Process();
}

// SIGHUP every 100 ms under load, alternating valid and invalid files: no
// request fails and the last valid file rules routing and /status.
TEST_P(Faults, SighupStormUnderLoadKeepsTheLastValidConfig) {
  Sim a({"--models", "m=1000"}), b({"--models", "m=1000"});
  auto entry = [](const Sim& s, const std::string& name) { return "  - {name: " + name + ", url: " + s.url() + "}\n"; };
  auto valid = [&](const std::string& to) {
    return std::string(kQuiet) + "backends:\n" + entry(a, "a") + entry(b, "b") +
           "models:\n  assignments: {\"m\": " + to + "}\n";
  };
  const std::vector<std::string> invalid = {
      valid("a") + "bogus_key: 1\n",
      std::string(kQuiet) + "backends:\n  - {name: a, url: [not, a, url}\n",
      valid("nobody"),
      valid("b") + "routing: {max_attempts: -3}\n",
  };
  Corral corral({}, io(), valid("a"));
  std::string path = corral.log_path + ".yaml";
  auto write_atomically = [&](const std::string& text) {
    std::ofstream(path + ".new") << text;
    std::filesystem::rename(path + ".new", path);
  };
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 6; ++t) {
    load.emplace_back([&, t] {
      while (!stop.load()) {
        Response r = t % 2 ? request(corral.port, "POST", "/api/generate", R"({"model":"m","prompt":"x"})",
                                     {"X-Sim-Tokens: 5", "X-Sim-Token-Delay-Ms: 20"}, 10000)
                           : request(corral.port, "POST", "/api/generate", kWholeM);
        bool good = r.status == 200 && r.complete && r.body.find("\"done\":true") != std::string::npos;
        (good ? ok : failed)++;
      }
    });
  }
  constexpr int kReloads = 40;
  std::string last_valid = "a";
  for (int i = 0; i < kReloads; ++i) {
    if (i % 2 == 0) {
      last_valid.assign(1, i % 4 == 2 ? 'b' : 'a');  // the last one (i = 38) is b, not the starting a
      write_atomically(valid(last_valid));
    } else {
      write_atomically(invalid[(i / 2) % invalid.size()]);
    }
    corral.proc.signal(SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(failed.load(), 0) << ok.load() << " requests succeeded";
  EXPECT_GT(ok.load(), 50);
  auto outcomes = [&] {
    std::string l = corral.log();
    return count(l, "event=reload ") + count(l, "event=reload_failed");
  };
  ASSERT_TRUE(eventually([&] { return outcomes() == kReloads; })) << outcomes() << " reload outcomes logged";
  EXPECT_EQ(count(corral.log(), "event=reload_failed"), kReloads / 2);
  // The last file was invalid; the one before it assigned m to last_valid.
  std::string owner = last_valid == "a" ? a.url() : b.url(), other = last_valid == "a" ? b.url() : a.url();
  std::string before = settled_metrics(corral.port);
  auto served = [](const std::string& m, const std::string& url) {
    long n = 0;
    std::istringstream in(m);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("corral_requests_total{endpoint=\"/api/generate\"", 0) == 0 &&
          line.find("backend=\"" + url + "\"") != std::string::npos)
        n += std::stol(line.substr(line.rfind(' ') + 1));
    }
    return n;
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(request(corral.port, "POST", "/api/generate", kWholeM).status, 200);
  }
  std::string after = settled_metrics(corral.port);
  EXPECT_EQ(served(after, owner) - served(before, owner), 5) << "m goes to " << last_valid;
  EXPECT_EQ(served(after, other) - served(before, other), 0);
  std::string st = request(corral.port, "GET", "/status").body;
  EXPECT_NE(st.find("\"name\":\"a\""), std::string::npos) << st;
  EXPECT_NE(st.find("\"name\":\"b\""), std::string::npos) << st;
}

namespace {

// n POST /api/generate requests over `threads` keep-alive connections; the ids of the 200s.
std::vector<std::string> answered_ids(int port, int n, int threads, const std::string& body = kWholeGen,
                                      const std::vector<std::string>& headers = {}) {
  std::vector<std::vector<std::string>> per(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      Client c(port);
      for (int i = t; i < n; i += threads) {
        c.send(build_request("POST", "/api/generate", body, headers));
        Response r = c.read_response(10000);
        if (r.status == 200 && r.complete) per[t].push_back(r.header("x-request-id"));
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<std::string> all;
  for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
  return all;
}

std::string scratch_dir(const std::string& what) {
  std::string dir = "/tmp/corral-faults-" + what + "-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

// SIGKILL while the ingest thread is storing spooled records batch by batch,
// then again and again at other moments of the catch-up: the last start
// stores every spooled record exactly once (no loss, no duplicate).
TEST(FaultsStore, SigkillMidBatchThenRestartStoresEverySpooledRecordOnce) {
  Sim sim;
  std::string dir = scratch_dir("batch");
  std::string db = dir + "/analytics.db";
  const std::string small_batches = yaml_config("analytics: {batch_size: 10}\n");
  constexpr int kRequests = 3000;
  std::vector<std::string> ids;
  {
    Corral corral({sim.url()}, "uring", small_batches, {"--data-dir", dir});
    ASSERT_EQ(request(corral.port, "POST", "/api/generate", kWholeGen).status, 200);
    ASSERT_EQ(wait_rows(db, 1, 10000), 1);
    // Another writer holds the store: every record waits in the spool.
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    ids = answered_ids(corral.port, kRequests, 8);
    ASSERT_EQ(ids.size(), size_t(kRequests));
    ASSERT_TRUE(eventually([&] { return metric(corral.port, "corral_analytics_backlog_records") == kRequests; }, 10000))
        << "not every answered request reached the spool";
    ASSERT_EQ(sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    // Killed as soon as the first batch is in: some 300 transactions of 10 are still to come.
    ASSERT_TRUE(eventually([&] { return metric(corral.port, "corral_analytics_records_written_total") > 1; }, 20000));
    corral.proc.signal(SIGKILL);
    EXPECT_EQ(corral.proc.wait(5000), 128 + SIGKILL);
    corral.proc = Process();
  }
  long at_first_kill = count_rows(db);
  EXPECT_LT(at_first_kill, kRequests + 1) << "the store had caught up before the kill";
  // Killed again a little later each time, wherever the catch-up happens to be.
  for (int round = 1; round <= 4; ++round) {
    Corral again({sim.url()}, "uring", small_batches, {"--data-dir", dir});
    std::this_thread::sleep_for(std::chrono::milliseconds(150 * round));
    again.proc.signal(SIGKILL);
    EXPECT_EQ(again.proc.wait(5000), 128 + SIGKILL);
    again.proc = Process();
  }
  // Big batches now, so the catch-up does not depend on how busy the machine is.
  Corral last({sim.url()}, "uring", yaml_config("analytics: {batch_size: 1000}\n"), {"--data-dir", dir});
  EXPECT_EQ(wait_rows(db, kRequests + 1, 60000), kRequests + 1) << at_first_kill << " rows at the first kill";
  std::multiset<std::string> stored = stored_ids(db);
  long missing = 0, duplicated = 0;
  for (const std::string& id : ids) {
    size_t n = stored.count(id);
    missing += n == 0;
    duplicated += n > 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(stored.size(), size_t(kRequests + 1));
  std::filesystem::remove_all(dir);
}

namespace {

// Where the analytics store runs out of space: a small tmpfs mounted for the
// test (needs root and a sandbox that allows mounts), else the file-size limit
// (RLIMIT_FSIZE, via prlimit) on corral itself. fill() takes the space away,
// give_back() returns it.
class FullDisk {
 public:
  static constexpr size_t kLimitBytes = 2u << 20;  // RLIMIT_FSIZE fallback: no file grows past 2 MiB

  explicit FullDisk(const std::string& dir) : dir_(dir) {
    const char* no_mount = std::getenv("CORRAL_TEST_NO_MOUNT");
    mounted_ = !(no_mount && *no_mount) && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64m") == 0;
  }
  ~FullDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  std::vector<std::string> wrapper() const {
    if (mounted_) return {};
    return {"/usr/bin/prlimit", "--fsize=" + std::to_string(kLimitBytes) + ":unlimited", "--"};
  }
  void fill(pid_t) {
    if (!mounted_) return;  // the file-size limit is always there; past it writes fail
    std::string chunk(1 << 20, '\0');
    int fd = ::open((dir_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (::write(fd, chunk.data(), chunk.size()) > 0) {
    }
    while (::write(fd, chunk.data(), 1) > 0) {
    }
    ::close(fd);
  }
  void give_back(pid_t pid) {
    if (mounted_) {
      ::unlink((dir_ + "/filler").c_str());
      return;
    }
    Process p({"/usr/bin/prlimit", "--pid", std::to_string(pid), "--fsize=unlimited:unlimited"});
    p.wait(5000);
  }

 private:
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace

// The analytics store's filesystem fills up: proxying goes on unaffected,
// failed writes are counted, records past what the spool keeps in memory are
// dropped and counted, and once space returns every record that was not
// dropped is stored, exactly once.
TEST(FaultsStore, FullDiskCountsDropsKeepsProxyingAndResumes) {
  Sim sim;
  std::string dir = scratch_dir("disk");
  FullDisk disk(dir);
  std::string how = disk.mounted() ? "tmpfs" : "RLIMIT_FSIZE";
  SCOPED_TRACE(how);
  std::string db = dir + "/analytics.db";
  // Records near their 4 KiB cap (long prompt and answer previews), so the spool's
  // 8 MiB in memory and the workers' rings fill after a few thousand requests.
  std::string prompt;
  for (int i = 0; i < 1000; ++i) prompt += "\xF0\x9F\x8C\x8A";
  const std::string body = R"({"model":"llama3.2","stream":false,"prompt":")" + prompt + "\"}";
  const std::vector<std::string> long_answer = {"X-Sim-Token-Pad: 300"};
  Corral corral({sim.url()}, "uring", yaml_config("analytics: {preview_chars: 1000}\n"), {"--data-dir", dir},
                disk.wrapper());
  ASSERT_EQ(answered_ids(corral.port, 5, 1, body, long_answer).size(), 5u);
  ASSERT_EQ(wait_rows(db, 5, 10000), 5);
  disk.fill(corral.proc.pid());
  long sent = 5;
  double errors = 0, dropped = 0;
  for (int round = 0; round < 100 && (errors <= 0 || dropped <= 0); ++round) {
    EXPECT_EQ(answered_ids(corral.port, 100, 4, body, long_answer).size(), 100u) << "proxying failed, disk full";
    sent += 100;
    std::string m = settled_metrics(corral.port);
    errors = value_of(m, "corral_analytics_write_errors_total");
    dropped = value_of(m, "corral_analytics_dropped_total");
  }
  EXPECT_GT(errors, 0) << "no failed write counted after " << sent << " requests";
  EXPECT_GT(dropped, 0) << "nothing dropped after " << sent << " requests with the disk full";
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200);
  long stored_while_full = count_rows(db);
  EXPECT_LT(stored_while_full, sent);
  disk.give_back(corral.proc.pid());
  long expected = sent - long(dropped);
  EXPECT_EQ(wait_rows(db, expected, 60000), expected)
      << sent << " answered, " << dropped << " dropped, " << stored_while_full << " stored while full";
  EXPECT_EQ(sql(db, "SELECT COUNT(DISTINCT request_id) FROM requests"), std::to_string(expected));
  // And new records are stored as before.
  ASSERT_EQ(answered_ids(corral.port, 3, 1).size(), 3u);
  EXPECT_EQ(wait_rows(db, expected + 3, 20000), expected + 3);
  std::string l = corral.log();
  EXPECT_NE(l.find(disk.mounted() ? "No space left on device" : "File too large"), std::string::npos)
      << l.substr(0, 4000);
}

namespace {

// Bytes each socket received until it closed (or the bound passed), polled together.
std::vector<std::string> read_all_until_closed(const std::vector<int>& fds, int timeout_ms) {
  std::vector<std::string> got(fds.size());
  std::vector<bool> open(fds.size(), true);
  size_t left = fds.size();
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (left > 0 && std::chrono::steady_clock::now() < end) {
    std::vector<pollfd> ps;
    std::vector<size_t> which;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!open[i]) continue;
      ps.push_back({fds[i], POLLIN, 0});
      which.push_back(i);
    }
    if (poll(ps.data(), ps.size(), 100) <= 0) continue;
    for (size_t k = 0; k < ps.size(); ++k) {
      if (!ps[k].revents) continue;
      char buf[4096];
      ssize_t n = ::recv(ps[k].fd, buf, sizeof buf, 0);
      if (n > 0) {
        got[which[k]].append(buf, static_cast<size_t>(n));
      } else {
        open[which[k]] = false;
        --left;
      }
    }
  }
  return got;
}

bool any_readable(const std::vector<int>& fds) {
  std::vector<pollfd> ps;
  for (int fd : fds) ps.push_back({fd, POLLIN, 0});
  return poll(ps.data(), ps.size(), 0) > 0;
}

}  // namespace

// 1,000 clients sending their heads a byte at a time: a normal request is
// answered while they are all still waiting, and each of them gets 408 once
// timeouts.header has passed (the deadline does not move with each byte).
TEST_P(Faults, ThousandSlowHeaderClientsDoNotDelayOthersAndGet408) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config("timeouts: {header: 5s}\n"));
  long base_sockets = settled_sockets(corral.proc.pid());
  constexpr int kSlow = 1000;
  std::vector<int> fds;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kSlow; ++i) {
    int fd = connect_port(corral.port);
    ASSERT_GE(fd, 0) << i;
    send_raw(fd, "POST /api/generate HTTP/1.1\r\nHo");
    fds.push_back(fd);
  }
  // One more byte on every connection each 250 ms, stopping a second before the header deadline.
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string rest = "st: x\r\nX-Slow: 0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    for (size_t k = 0; !stop.load() && std::chrono::steady_clock::now() < started + std::chrono::seconds(4); ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      for (int fd : fds) send_raw(fd, rest.substr(k % rest.size(), 1));
    }
  });
  double sessions = 0;
  EXPECT_TRUE(eventually([&] { return (sessions = metric(corral.port, "corral_client_sessions")) >= kSlow; }, 3000))
      << sessions << " sessions: corral has not taken every slow client";
  Response normal = request(corral.port, "POST", "/api/generate", kWholeGen);
  EXPECT_EQ(normal.status, 200) << normal.body;
  EXPECT_NE(normal.body.find("\"done\":true"), std::string::npos);
  EXPECT_FALSE(any_readable(fds)) << "a slow client was answered before the normal request";
  std::vector<std::string> got = read_all_until_closed(fds, 20000);
  stop = true;
  trickle.join();
  int timed_out = 0;
  for (size_t i = 0; i < got.size(); ++i) timed_out += got[i].rfind("HTTP/1.1 408 ", 0) == 0;
  EXPECT_EQ(timed_out, kSlow) << "first answer: " << got[0];
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(value_of(settled_metrics(corral.port), "corral_rejected_total{reason=\"timeout\"}"), kSlow);
  EXPECT_LE(sessions_settled(corral.port), 1);
  EXPECT_TRUE(eventually([&] { return socket_count(corral.proc.pid()) == base_sockets; }, 10000))
      << socket_count(corral.proc.pid()) << " sockets open, " << base_sockets << " before";
}

// Thousands of clients that reset (RST) at every point of a request: right
// after connecting, mid-head, mid-body, before the answer and mid-stream.
// Nothing is left behind: sockets, sessions, backend connections and
// in-flight gauges all return to where they were, and the aborted streams
// were cancelled at the backend.
TEST_P(Faults, ThousandsOfClientsResettingMidRequestLeaveNothingBehind) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config());
  long base_sockets = settled_sockets(corral.proc.pid());
  std::string base_dump = fd_dump(corral.proc.pid());
  long base_backend_conns = sim.stat("connections_open");  // the stats request and corral's probe connection
  constexpr int kClients = 3000, kThreads = 6;
  std::atomic<int> streams_seen{0}, connect_failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = t; i < kClients; i += kThreads) {
        int fd = connect_port(corral.port);
        if (fd < 0) {
          ++connect_failed;
          continue;
        }
        switch (i % 5) {
          case 0:  // nothing sent
            break;
          case 1:
            send_raw(fd, "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Le");
            break;
          case 2:
            send_raw(fd, "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"model\":");
            break;
          case 3:
            send_raw(fd, build_request("POST", "/api/generate", kStreamGen, {"X-Sim-TTFT-Ms: 200"}));
            break;
          case 4: {
            send_raw(fd, build_request("POST", "/api/generate", kStreamGen,
                                       {"X-Sim-Tokens: 1000", "X-Sim-Token-Delay-Ms: 10"}));
            std::string seen;
            pollfd p{fd, POLLIN, 0};
            while (seen.find("token0") == std::string::npos && poll(&p, 1, 5000) == 1) {
              char buf[4096];
              ssize_t n = ::recv(fd, buf, sizeof buf, 0);
              if (n <= 0) break;
              seen.append(buf, static_cast<size_t>(n));
            }
            streams_seen += seen.find("token0") != std::string::npos;
            break;
          }
        }
        reset_raw(fd);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(connect_failed.load(), 0);
  EXPECT_EQ(streams_seen.load(), kClients / 5) << "streams that started before their client reset";
  EXPECT_LE(sessions_settled(corral.port), 1);
  EXPECT_TRUE(eventually([&] { return socket_count(corral.proc.pid()) == base_sockets; }, 10000))
      << socket_count(corral.proc.pid()) << " sockets open, " << base_sockets
      << " before; now:" << fd_dump(corral.proc.pid()) << "\nbefore:" << base_dump << "\nLOG:\n"
      << corral.log();
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(value_of(m, "corral_active_requests{backend=\"" + sim.url() + "\"}"), 0) << m;
  EXPECT_EQ(value_of(m, "corral_in_flight_requests"), 1);
  // Every stream the clients abandoned was cancelled at the backend (its connection closed).
  EXPECT_GE(sim.stat("streams_aborted"), kClients / 5);
  EXPECT_TRUE(eventually([&] { return sim.stat("connections_open") == base_backend_conns; }, 10000))
      << sim.stat("connections_open") << " backend connections open, " << base_backend_conns << " before";
  expect_still_serving(corral.port);
}

// RFC 9112 §2.2: a connection that closes without sending a request
// (a TCP probe, a reset, a lone empty line) is not a request: nothing is
// answered, counted or recorded.
TEST_P(Faults, AConnectionClosedWithoutARequestIsNotARequest) {
  Sim sim;
  Corral corral({sim.url()}, io(), yaml_config());
  std::vector<int> probes;
  for (int i = 0; i < 10; ++i) ::close(connect_port(corral.port));
  for (int i = 0; i < 10; ++i) reset_raw(connect_port(corral.port));
  for (const char* line : {"\r\n", "\n", "\r\n\r\n"}) {
    for (int i = 0; i < 5; ++i) {
      int fd = connect_port(corral.port);
      send_raw(fd, line);
      ::shutdown(fd, SHUT_WR);
      probes.push_back(fd);
    }
  }
  std::vector<std::string> answers = read_all_until_closed(probes, 10000);
  for (size_t i = 0; i < answers.size(); ++i) EXPECT_EQ(answers[i], "") << "probe " << i << " was answered";
  for (int fd : probes) ::close(fd);
  EXPECT_LE(sessions_settled(corral.port), 1);
  Response real = request(corral.port, "POST", "/api/generate", kWholeGen);
  ASSERT_EQ(real.status, 200);
  std::string db = corral.data_dir + "/analytics.db";
  ASSERT_TRUE(
      eventually([&] { return count_rows(db, "request_id = '" + real.header("x-request-id") + "'") == 1; }, 10000));
  EXPECT_EQ(count_rows(db), 1) << "probes recorded: " << sql(db, "SELECT group_concat(status) FROM requests");
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(m.find("code=\"400\""), std::string::npos) << m;
  EXPECT_EQ(value_of(m, "corral_rejected_total{reason=\"malformed\"}"), 0);
  EXPECT_EQ(value_of(m, "corral_rejected_total{reason=\"timeout\"}"), 0);
}

namespace {

// What a raw client reads from corral-sim directly: the bytes, and how the connection ended.
struct Ending {
  std::string bytes;
  enum { eof, reset, open } how = open;
};

Ending read_ending(int fd, int quiet_ms) {
  Ending e;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, quiet_ms) != 1) return e;  // nothing more for quiet_ms: still open
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      e.bytes.append(buf, static_cast<size_t>(n));
      continue;
    }
    e.how = n == 0 ? Ending::eof : errno == ECONNRESET ? Ending::reset : Ending::open;
    return e;
  }
}

Ending sim_fault(int port, const std::string& fault, const std::string& at) {
  int fd = connect_port(port);
  send_raw(fd, build_request("POST", "/api/generate", kStreamGen,
                             {"X-Sim-Fault: " + fault, "X-Sim-Fault-At: " + at, "X-Sim-Tokens: 10"}));
  Ending e = read_ending(fd, 500);
  ::close(fd);
  return e;
}

}  // namespace

// The faults the tests above inject are what they claim to be (a reset is an
// RST, not a FIN; mid-head really cuts the head), checked on corral-sim itself.
TEST(FaultsSim, EachInjectedFaultIsWhatItSays) {
  Sim sim;
  Ending reset = sim_fault(sim.port, "reset", "2");
  EXPECT_EQ(reset.how, Ending::reset);
  EXPECT_NE(reset.bytes.find("token1"), std::string::npos);
  Ending close = sim_fault(sim.port, "close", "2");
  EXPECT_EQ(close.how, Ending::eof);
  EXPECT_NE(close.bytes.find("token1"), std::string::npos);
  EXPECT_EQ(close.bytes.find("token2"), std::string::npos);
  EXPECT_EQ(close.bytes.find("0\r\n\r\n"), std::string::npos);
  EXPECT_EQ(sim_fault(sim.port, "stall", "2").how, Ending::open);
  EXPECT_NE(sim_fault(sim.port, "garbage", "2").bytes.find("token1 \",\"done\":false}\n\r\nzz-not-a-chunk-size\r\n"),
            std::string::npos);
  Ending head = sim_fault(sim.port, "close", "mid-head");
  EXPECT_EQ(head.how, Ending::eof);
  EXPECT_EQ(head.bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head.bytes;
  EXPECT_EQ(head.bytes.find("\r\n\r\n"), std::string::npos) << "the head is cut";
  EXPECT_EQ(sim_fault(sim.port, "garbage", "mid-head").bytes, "HTTP/1.1 200 OK\r\nthis line is no header\r\n\r\n");
  EXPECT_EQ(sim_fault(sim.port, "garbage", "0").bytes.rfind("SSH-2.0-", 0), 0u);
  EXPECT_EQ(sim_fault(sim.port, "reset", "0").how, Ending::reset);
  // Half-close: the sim stops sending (EOF) but keeps its side open until the client closes.
  // First the sim sees the connections above closed (1: the stats request's own), so that
  // none of them closing meanwhile hides the half-closed one.
  ASSERT_TRUE(eventually([&] { return sim.stat("connections_open") == 1; })) << "the connections above closed";
  long open_before = 1;
  int fd = connect_port(sim.port);
  send_raw(fd, build_request("POST", "/api/generate", kStreamGen, {"X-Sim-Fault: half-close", "X-Sim-Fault-At: 2"}));
  Ending half = read_ending(fd, 2000);
  EXPECT_EQ(half.how, Ending::eof);
  EXPECT_NE(half.bytes.find("token1"), std::string::npos);
  EXPECT_EQ(sim.stat("connections_open"), open_before + 1) << "the sim closed its side too";
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return sim.stat("connections_open") == open_before; }));
  Response bad = request(sim.port, "POST", "/api/generate", kStreamGen, {"X-Sim-Fault: explode"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("invalid X-Sim-Fault header"), std::string::npos) << bad.body;
  Response bad_at =
      request(sim.port, "POST", "/api/generate", kStreamGen, {"X-Sim-Fault: close", "X-Sim-Fault-At: soon"});
  EXPECT_EQ(bad_at.status, 400);
}

INSTANTIATE_TEST_SUITE_P(Io, Faults, ::testing::Values("uring", "epoll"), [](const auto& info) { return info.param; });
