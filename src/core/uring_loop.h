// io_uring implementation of Loop: multishot accept, multishot recv from a
// provided-buffer ring, batched submit and reap, cancel before close.
#pragma once
#include <liburing.h>

#include <vector>

#include "corral/core/buffer_pool.h"
#include "corral/core/fd.h"
#include "corral/core/loop.h"

namespace corral::core {

class UringLoop final : public Loop {
 public:
  // Returns nullptr (and why) when the ring cannot be set up on this kernel.
  static std::unique_ptr<UringLoop> create(BufferPool& pool, std::string& why);
  ~UringLoop() override;

  IoBackend backend() const override { return IoBackend::uring; }
  void attach(Socket& s, int fd, SocketHandler* h) override;
  void accept(Socket& listener) override;
  void start_read(Socket& s) override;
  void stop_read(Socket& s) override;
  void refresh_read(Socket& s) override;
  void send(Socket& s, const char* p, uint32_t n) override;
  void connect(Socket& s, const sockaddr* a, socklen_t len) override;
  void close(Socket& s) override;
  void release(uint16_t buf_id) override;
  void run(std::function<void()> tick, int tick_ms) override;
  void stop() override { stopped_ = true; }
  void wake() override;

  bool defer_taskrun() const { return defer_taskrun_; }

 private:
  explicit UringLoop(BufferPool& pool) : pool_(pool) {}
  bool init(std::string& why);
  io_uring_sqe* sqe();
  void arm_recv(Socket& s);
  void arm_accept(Socket& s);
  void arm_timer();
  void arm_wake();
  void submit_send(Socket& s);
  void handle(io_uring_cqe* cqe);
  void on_recv_cqe(Socket& s, int res, unsigned flags);
  void on_send_cqe(Socket& s, int res);
  void op_done(Socket& s);
  void cancel(Socket& s, uint64_t op);
  void retry_starved();
  void unlist_starved(Socket& s);
  void run_deferred();

  BufferPool& pool_;
  io_uring ring_{};
  bool ring_ok_ = false;
  bool defer_taskrun_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  unsigned buf_mask_ = 0;
  UniqueFd wake_fd_;
  uint64_t wake_value_ = 0;
  __kernel_timespec tick_ts_{};
  bool stopped_ = false;
  bool armed_ = false;
  std::function<void()> tick_;
  Socket* starved_ = nullptr;
  std::vector<Socket*> closed_;
};

}  // namespace corral::core
