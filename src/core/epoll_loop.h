// epoll implementation of Loop, for kernels or sandboxes without io_uring.
// Same contract as the io_uring loop; completions that finish inside a call
// (an immediate send, an immediate connect) are delivered from the loop later.
#pragma once
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "corral/core/buffer_pool.h"
#include "corral/core/fd.h"
#include "corral/core/loop.h"

namespace corral::core {

class EpollLoop final : public Loop {
 public:
  explicit EpollLoop(BufferPool& pool);

  IoBackend backend() const override { return IoBackend::epoll; }
  void attach(Socket& s, int fd, SocketHandler* h) override;
  void accept(Socket& listener) override;
  void start_read(Socket& s) override;
  void stop_read(Socket& s) override;
  void send(Socket& s, const char* p, uint32_t n) override;
  void connect(Socket& s, const sockaddr* a, socklen_t len) override;
  void close(Socket& s) override;
  void release(uint16_t buf_id) override;
  void run(std::function<void()> tick, int tick_ms) override;
  bool watch(int fd, std::function<void()> on_readable) override;
  void unwatch(int fd) override;
  void stop() override { stopped_ = true; }
  void wake() override;

 private:
  enum class Done { sent, connected, closed };
  struct Deferred {
    Socket* s;
    Done kind;
    int res;
  };
  void update(Socket& s);
  void on_readable(Socket& s);
  void on_writable(Socket& s);
  void do_accept(Socket& s);
  bool try_send(Socket& s);  // true when finished (ok or error stored in res)
  void run_deferred();

  BufferPool& pool_;
  UniqueFd ep_;
  UniqueFd wake_fd_;
  bool stopped_ = false;
  std::vector<Deferred> deferred_;
  std::vector<Socket*> starved_;
  // Watched descriptors; epoll's data for them is the Watch's address with bit 0 set.
  struct Watch {
    int fd;
    std::function<void()> on_readable;
  };
  std::unordered_map<int, std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Watch>> unwatched_;  // freed after the current batch of events
  int send_res_ = 0;
};

}  // namespace corral::core
