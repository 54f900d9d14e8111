// corral-sim: a simulated Ollama server for tests and benchmarks (no GPU).
// Thread per connection, blocking sockets: simple and faithful, not fast.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace sim {

struct Model {
  std::string name;
  int64_t size;
  bool loaded;
};

struct Options {
  std::string listen = "127.0.0.1:11435";
  int tokens = 8;
  int ttft_ms = 0;
  int token_delay_ms = 0;
  int fail_status = 0;
  std::string version = "0.5.7";
};

struct Stats {
  std::atomic<long> connections_open{0}, connections_total{0}, requests_total{0}, streams_aborted{0};
};

class State {
 public:
  explicit State(std::vector<Model> models) : models_(std::move(models)) {}
  std::vector<Model> models();
  bool find(const std::string& name, Model* out);
  void add(const std::string& name, int64_t size);
  bool remove(const std::string& name);

 private:
  std::mutex mu_;
  std::vector<Model> models_;
};

// Per-request knobs: defaults from Options, overridden by X-Sim-* headers.
struct Knobs {
  int tokens, ttft_ms, token_delay_ms, status = 0;
  int disconnect_after = -1, stall_after = -1;
  int token_pad = 0;  // extra bytes per token, for bulk streams
};

// Writes responses on one client connection.
class Reply {
 public:
  explicit Reply(int fd, bool head_only) : fd_(fd), head_only_(head_only) {}
  bool json(int status, const std::string& body);
  bool text(int status, const std::string& content_type, const std::string& body);
  bool begin_stream(const std::string& content_type);
  bool chunk(const std::string& data);  // false when the client is gone
  bool end_stream();
  bool write_all(const std::string& s);
  int fd() const { return fd_; }

 private:
  int fd_;
  bool head_only_;
};

struct Request {
  std::string method, path, body;
  Knobs knobs;
};

// Answers one request; false when the connection must close.
bool handle(const Request& req, Reply& out, State& state, Stats& stats, const Options& opt);

std::string json_str(const std::string& s);  // quoted and escaped

}  // namespace sim
