#include "harness.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace harness {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int connect_port(int port, int rcvbuf, const char* source_ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (source_ip) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip, &src.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

namespace {

// Ports for free_port: below the kernel's ephemeral range, from which connect() takes source
// ports and bind(0) its ports (above it if too little is below). Read once.
std::pair<int, int> test_port_range() {
  static const std::pair<int, int> range = [] {
    int lo = 32768, hi = 60999;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo >> hi;
    if (lo - 1 - 10000 >= 1000) return std::pair<int, int>{10000, lo - 1};
    if (65535 - (hi + 1) >= 1000) return std::pair<int, int>{hi + 1, 65535};
    throw std::runtime_error("free_port: the ephemeral range " + std::to_string(lo) + "-" + std::to_string(hi) +
                             " leaves under 1,000 ports outside it");
  }();
  return range;
}

// Claims `port` for this process's lifetime, across every test process on the machine: an
// abstract unix socket named after it is bound once and never closed (the kernel frees it when
// the process exits, however it exits).
bool claim(int port) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string name = "corral-test-port-" + std::to_string(port);
  std::memcpy(a.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0) return true;
  ::close(fd);
  return false;
}

bool bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

// A port no other caller gets, in this process or another test process, and that no connect()
// takes as its source port meanwhile: tests pick ports seconds before something binds them (an
// on-demand backend's start hook), and bind(0)'s ports come from the range connect() uses, so a
// port picked that way could be taken or handed out twice before it was bound.
int free_port() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static std::mt19937 rng(std::random_device{}());
  auto [lo, hi] = test_port_range();
  std::uniform_int_distribution<int> pick(lo, hi);
  for (int tries = 0; tries < 10000; ++tries) {
    int port = pick(rng);
    if (claim(port) && bindable(port)) return port;  // a claimed port stays claimed: never handed out again
  }
  throw std::runtime_error("free_port: no unclaimed port in " + std::to_string(lo) + "-" + std::to_string(hi));
}

std::string bin(const char* env_name) {
  const char* v = std::getenv(env_name);
  if (!v) throw std::runtime_error(std::string(env_name) + " is not set");
  return v;
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    if (!log_path.empty()) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::Process(Process&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
Process& Process::operator=(Process&& o) noexcept {
  kill_now();
  pid_ = o.pid_;
  o.pid_ = -1;
  return *this;
}
Process::~Process() { kill_now(); }

void Process::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Process::wait(int timeout_ms) {
  long long end = now_ms() + timeout_ms;
  while (pid_ > 0) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    if (now_ms() > end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

void Process::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st;
  waitpid(pid_, &st, 0);
  pid_ = -1;
}

Client::Client(int port, int rcvbuf, const char* source_ip) : fd_(connect_port(port, rcvbuf, source_ip)) {}
Client::~Client() { close(); }

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Client::send(const std::string& raw) {
  size_t off = 0;
  while (fd_ >= 0 && off < raw.size()) {
    ssize_t n = ::send(fd_, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

bool Client::fill(int timeout_ms) {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  char tmp[65536];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::string Client::read_some(size_t max, int timeout_ms) {
  if (buf_.empty() && !fill(timeout_ms)) return "";
  std::string out = buf_.substr(0, max);
  buf_.erase(0, out.size());
  return out;
}

std::string Client::read_until(const std::string& needle, int timeout_ms) {
  long long end = now_ms() + timeout_ms;
  while (buf_.find(needle) == std::string::npos) {
    long long left = end - now_ms();
    if (left <= 0 || !fill(static_cast<int>(left))) break;
  }
  return buf_;
}

bool Client::wait_closed(int timeout_ms) {
  long long end = now_ms() + timeout_ms;
  while (fd_ >= 0) {
    long long left = end - now_ms();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) != 1) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return true;
    buf_.append(tmp, static_cast<size_t>(n));
  }
  return true;
}

Response Client::read_response(int timeout_ms, bool head) {
  Response r;
  long long end = now_ms() + timeout_ms;
  auto more = [&] {
    long long left = end - now_ms();
    return left > 0 && fill(static_cast<int>(left));
  };
  size_t he;
  for (;;) {
    he = buf_.find("\r\n\r\n");
    if (he != std::string::npos) {
      // Interim 100 Continue: skip it.
      if (buf_.compare(0, 12, "HTTP/1.1 100") == 0) {
        buf_.erase(0, he + 4);
        continue;
      }
      break;
    }
    if (!more()) return r;
  }
  std::istringstream hs(buf_.substr(0, he));
  std::string line;
  std::getline(hs, line);
  if (line.size() >= 12) r.status = std::atoi(line.c_str() + 9);
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto c = line.find(':');
    if (c == std::string::npos) continue;
    std::string v = line.substr(c + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    r.headers[lower(line.substr(0, c))] = v;
  }
  buf_.erase(0, he + 4);
  if (head || r.status == 204 || r.status == 304) {
    r.complete = true;
    return r;
  }
  if (r.headers.count("content-length")) {
    size_t n = std::stoul(r.headers["content-length"]);
    while (buf_.size() < n && more()) {
    }
    r.body = buf_.substr(0, n);
    r.complete = buf_.size() >= n;
    buf_.erase(0, std::min(n, buf_.size()));
  } else if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      size_t le;
      while ((le = buf_.find("\r\n")) == std::string::npos)
        if (!more()) return r;
      size_t n = std::stoul(buf_.substr(0, le), nullptr, 16);
      while (buf_.size() < le + 2 + n + 2)
        if (!more()) return r;
      r.body.append(buf_, le + 2, n);
      buf_.erase(0, le + 2 + n + 2);
      if (n == 0) {
        r.complete = true;
        return r;
      }
    }
  } else {
    while (more()) {
    }
    r.body = buf_;
    buf_.clear();
    r.complete = true;
  }
  return r;
}

std::string build_request(const std::string& method, const std::string& path, const std::string& body,
                          const std::vector<std::string>& extra_headers) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  if (!body.empty() || method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return req + "\r\n" + body;
}

Response request(int port, const std::string& method, const std::string& path, const std::string& body,
                 const std::vector<std::string>& extra_headers, int timeout_ms) {
  Client c(port);
  c.send(build_request(method, path, body, extra_headers));
  return c.read_response(timeout_ms, method == "HEAD");
}

int traffic(int port, int n, int conns, const std::string& method, const std::string& path, const std::string& body,
            const std::vector<std::string>& headers, int expect_status) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      Client client(port);
      for (int i = c; i < n; i += conns) {
        client.send(build_request(method, path, body, headers));
        if (client.read_response(20000).status != expect_status) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  return bad.load();
}

bool eventually(const std::function<bool()>& f, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return f();
}

bool maps_library(pid_t pid, const std::string& prefix) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    size_t slash = line.rfind('/');
    if (slash != std::string::npos && line.compare(slash + 1, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

bool wait_http(int port, int timeout_ms) {
  long long end = now_ms() + timeout_ms;
  while (now_ms() < end) {
    Client c(port);
    if (c.connected()) {
      c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      if (c.read_response(1000).status > 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Sim::Sim(const std::vector<std::string>& extra, int fixed_port) : port(fixed_port ? fixed_port : free_port()) {
  std::vector<std::string> argv = {bin("CORRAL_SIM_BIN"), "--listen", "127.0.0.1:" + std::to_string(port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc = Process(argv, "/dev/null");
  if (!wait_http(port, 10000)) throw std::runtime_error("corral-sim did not start");
}

long Sim::stat(const std::string& key) { return json_int(request(port, "GET", "/sim/stats").body, key); }

Corral::Corral(const std::vector<std::string>& backends, const std::string& io, const std::string& yaml,
               const std::vector<std::string>& extra, const std::vector<std::string>& wrapper)
    : port(free_port()) {
  char tmpl[] = "/tmp/corral-test-XXXXXX";
  int fd = mkstemp(tmpl);
  ::close(fd);
  log_path = tmpl;
  data_dir = log_path + ".data";  // analytics of this instance only; a later --data-dir wins
  std::vector<std::string> argv = {
      bin("CORRAL_BIN"), "--listen", "127.0.0.1:" + std::to_string(port), "--io", io, "--workers", "2",
      "--data-dir",      data_dir};
  for (const auto& b : backends) argv.insert(argv.end(), {"--backend", b});
  if (!yaml.empty()) {
    std::string path = log_path + ".yaml";
    std::ofstream(path) << yaml;
    argv.insert(argv.end(), {"--config", path});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
  proc = Process(argv, log_path);
  long long end = now_ms() + 10000;
  // corral logs event=start once every listener listens. No probe connection: the kernel
  // completes one before a worker accepts it, so a slow worker could count it after a
  // test's baseline scrape (Metrics.CountersEqualTheTrafficExactly/epoll saw one
  // connection more than it made, once, in a sanitized CI run).
  while (now_ms() < end) {
    if (log().find("event=start") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("corral did not start: " + log());
}

Corral::~Corral() {
  if (proc.pid() > 0) {
    proc.signal(SIGTERM);
    int rc = proc.wait(15000);
    if (rc != 0) ADD_FAILURE() << "corral exited with " << rc << " after SIGTERM; log:\n" << log();
  }
  std::string l = log();
  if (l.find("Sanitizer") != std::string::npos || l.find("runtime error") != std::string::npos) {
    ADD_FAILURE() << "sanitizer report in corral's log:\n" << l;
  }
  ::unlink(log_path.c_str());
  ::unlink((log_path + ".yaml").c_str());
  std::error_code ec;
  std::filesystem::remove_all(log_path + ".data", ec);
}

std::string Corral::log() const {
  std::ifstream in(log_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string settled_metrics(int port, const std::string& ns, int* scrapes) {
  std::string m;
  for (int i = 0; i < 250; ++i) {
    m = request(port, "GET", "/metrics").body;
    if (scrapes) *scrapes = i + 1;
    if (m.find("\n" + ns + "_in_flight_requests 1\n") != std::string::npos) {
      // Every request was accounted for by the time that scrape read the gauge, but
      // it read the counters earlier: the next scrape sees them all. That one may
      // still count the scrape before (answered, not yet recorded) in flight: the
      // first of the next ones that does not.
      for (int j = 2; j < 50; ++j) {
        m = request(port, "GET", "/metrics").body;
        if (scrapes) *scrapes = i + j;
        if (m.find("\n" + ns + "_in_flight_requests 1\n") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return m;
}

double value_of(const std::string& text, const std::string& series) {
  size_t p = text.find("\n" + series + " ");
  if (p == std::string::npos) return -1;
  return std::stod(text.substr(p + series.size() + 2));
}

double metric(int port, const std::string& series) { return value_of(request(port, "GET", "/metrics").body, series); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Ran run_command(std::vector<std::string> argv, const std::string& scratch, const std::vector<std::string>* env) {
  std::string out = scratch + ".out", err = scratch + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
    dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (!env) {
      execv(args[0], args.data());
      _exit(127);
    }
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  Ran r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  return r;
}

long json_int(const std::string& json, const std::string& key) {
  std::string pat = "\"" + key + "\":";
  size_t p = json.find(pat);
  if (p == std::string::npos) return -1;
  p += pat.size();
  while (p < json.size() && json[p] == ' ') ++p;
  return std::atol(json.c_str() + p);
}

std::string normalize(const std::string& json) {
  static const std::regex volatile_fields(
      "\"(created_at|modified_at|expires_at|created|id|system_fingerprint|total_duration|load_duration|"
      "prompt_eval_duration|eval_duration)\":(\"[^\"]*\"|[0-9]+)");
  return std::regex_replace(json, volatile_fields, "\"$1\":\"*\"");
}

}  // namespace harness
