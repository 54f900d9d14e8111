// corral-sim: one event-loop thread: its own SO_REUSEPORT listener, epoll
// set, timer heap and connections. Threads share only the model list and the
// stats counters (both in Ctx).
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "sim_conn.h"

namespace sim {

class Worker {
 public:
  Worker(int listen_fd, Ctx& ctx);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  [[noreturn]] void run();

 private:
  void accept_all();
  void after(std::unordered_map<uint64_t, std::unique_ptr<Conn>>::iterator it);

  int lfd_, epfd_, spare_fd_;
  Ctx& ctx_;
  Timers timers_;
  ConnEnv env_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t next_id_ = 1;  // 0 is the listener
};

}  // namespace sim
