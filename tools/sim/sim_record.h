// corral-sim: the heads of the last requests it was sent (--record-heads N),
// so a test can check what a proxy forwarded (which headers reached the
// backend, in which order requests left the proxy's queue). Off by default:
// benchmarks pay nothing for it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sim {

struct RecordedHead {
  int64_t seq = 0;  // 1 for the first request recorded
  std::string method, path;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
};

// Shared by the loop threads (a mutex: this is a test tool, and only on when asked for).
class HeadLog {
 public:
  explicit HeadLog(size_t capacity) : capacity_(capacity) {}
  void add(RecordedHead h);
  // {"requests":[{"seq":1,"method":"POST","path":"/api/chat","headers":[["Host","…"],…]},…]}, oldest first.
  std::string json() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<RecordedHead> heads_;
  int64_t seq_ = 0;
};

}  // namespace sim
