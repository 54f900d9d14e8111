// Test harness: real processes (corral, corral-sim) on loopback ports and a
// small blocking HTTP/1.1 client that can also send raw, malformed bytes.
#pragma once
#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace harness {

int free_port();

// A suite run with each io backend ("uring", "epoll"): its parameter.
class IoTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string io() const { return GetParam(); }
};
std::string bin(const char* env_name);  // path of a built binary, from the environment

class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& argv, const std::string& log_path = "");
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  int wait(int timeout_ms);  // exit status, or -1 on timeout
  void kill_now();

 private:
  pid_t pid_ = -1;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  bool complete = false;
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

// A client socket on 127.0.0.1:port (TCP_NODELAY; -1 when refused); the caller owns it.
// rcvbuf > 0: SO_RCVBUF before connect; source_ip: a loopback address to connect from (127.0.0.2).
int connect_port(int port, int rcvbuf = 0, const char* source_ip = nullptr);

class Client {
 public:
  // rcvbuf > 0: SO_RCVBUF before connect; source_ip: a loopback address to connect from (127.0.0.2).
  explicit Client(int port, int rcvbuf = 0, const char* source_ip = nullptr);
  ~Client();
  bool connected() const { return fd_ >= 0; }
  void send(const std::string& raw);
  // Reads one response (Content-Length, chunked or until close); HEAD has no body.
  Response read_response(int timeout_ms = 10000, bool head = false);
  // Returns up to max bytes (buffered first, else one recv), empty on EOF/timeout.
  std::string read_some(size_t max, int timeout_ms);
  // Reads until `needle` is seen in the raw bytes or timeout; returns what was read.
  std::string read_until(const std::string& needle, int timeout_ms);
  bool wait_closed(int timeout_ms);  // peer closed (EOF or reset)
  void close();

 private:
  bool fill(int timeout_ms);
  int fd_ = -1;
  std::string buf_;
};

// One request on a fresh connection.
Response request(int port, const std::string& method, const std::string& path, const std::string& body = "",
                 const std::vector<std::string>& extra_headers = {}, int timeout_ms = 10000);
std::string build_request(const std::string& method, const std::string& path, const std::string& body,
                          const std::vector<std::string>& extra_headers);
bool wait_http(int port, int timeout_ms);
// Polls f every 25 ms until it holds (true) or timeout_ms passed (its last answer).
bool eventually(const std::function<bool()>& f, int timeout_ms = 5000);
// Sends `n` copies of a request over `conns` keep-alive connections in parallel;
// how many answers had another status than `expect_status`.
int traffic(int port, int n, int conns, const std::string& method, const std::string& path, const std::string& body,
            const std::vector<std::string>& headers, int expect_status);

// A corral-sim backend on a free port.
struct Sim {
  int port;
  Process proc;
  explicit Sim(const std::vector<std::string>& extra = {}, int fixed_port = 0);  // fixed_port: restart on a known port
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  long stat(const std::string& key);  // from GET /sim/stats
};

// corral on a free port in front of the given backends.
struct Corral {
  int port;
  Process proc;
  std::string log_path;
  std::string data_dir;  // --data-dir: a fresh directory per instance, removed with it
  // wrapper: a command corral runs under (e.g. prlimit --nofile=64:64 --).
  Corral(const std::vector<std::string>& backends, const std::string& io, const std::string& yaml = "",
         const std::vector<std::string>& extra = {}, const std::vector<std::string>& wrapper = {});
  // Stops corral with SIGTERM and fails the test unless it exits 0 with no
  // sanitizer report in its log.
  ~Corral();
  std::string log() const;
};

// /metrics once corral has finished accounting for every answered request: a
// client can read a response a moment before the proxy records it, so this
// scrapes until only the scrape itself is in flight (bounded, 5 s).
std::string settled_metrics(int port, const std::string& ns = "corral", int* scrapes = nullptr);

// Value of the Prometheus sample whose name+labels are exactly `series`, or -1.
double value_of(const std::string& metrics_text, const std::string& series);
// One series of a fresh /metrics scrape.
double metric(int port, const std::string& series);

// Whether process pid has a file whose name starts with `prefix` mapped ("libssl.so").
bool maps_library(pid_t pid, const std::string& prefix);

// A file's bytes ("" when it cannot be read).
std::string slurp(const std::string& path);

// What a command did: its exit status (-1 when a signal ended it), stdout and stderr.
struct Ran {
  int status = -1;
  std::string out, err;
  std::string last_line() const {
    std::string s = out.substr(0, out.find_last_not_of('\n') + 1);
    return s.substr(s.rfind('\n') + 1);
  }
};
// Runs argv (argv[0] a path) to its end, its output in scratch + ".out" and ".err"
// meanwhile. With `env` that is its whole environment, else it has this process's.
Ran run_command(std::vector<std::string> argv, const std::string& scratch,
                const std::vector<std::string>* env = nullptr);

// Integer value of `"key":N` in a JSON text, or -1.
long json_int(const std::string& json, const std::string& key);
// Replaces values that differ between runs (timestamps, durations, ids) with "*".
std::string normalize(const std::string& json);

}  // namespace harness
