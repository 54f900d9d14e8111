// The event loop interface one worker drives: io_uring first, epoll fallback.
//
// A Socket is owned by its user; the loop keeps its own bookkeeping inside it,
// out of reach of everyone but the loops. All callbacks run on the loop's
// thread, never re-entrantly from a call into the loop. After close(), the only
// callback left is on_closed(), delivered once every operation the kernel still
// holds has finished; then the Socket may be freed.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace corral::core {

class BufferPool;
struct SockAddr;

// Where a received buffer goes back to once its bytes were consumed or sent.
class BufferOwner {
 public:
  virtual void release(uint16_t buf_id) = 0;

 protected:
  ~BufferOwner() = default;
};

struct IoBuf {
  char* data;
  uint32_t len;
  uint16_t id;
  BufferOwner* owner;
  void release() const { owner->release(id); }
};

class Socket;

class SocketHandler {
 public:
  virtual void on_accept(Socket&, int /*fd*/) {}
  virtual void on_data(Socket&, IoBuf) {}
  virtual void on_eof(Socket&, int /*err: 0 = orderly close, else -errno*/) {}
  virtual void on_sent(Socket&, int /*err: 0 or -errno*/) {}
  virtual void on_connected(Socket&, int /*err*/) {}
  virtual void on_closed(Socket&) {}

 protected:
  ~SocketHandler() = default;
};

class Loop;

class Socket {
 public:
  int fd() const { return st_.fd; }
  bool is_open() const { return st_.fd >= 0 && !st_.closing; }
  bool send_busy() const { return st_.sending; }
  bool connecting() const { return st_.connecting; }

 private:
  friend class Loop;  // the loops reach the state through Loop::state()
  struct State {
    int fd = -1;
    SocketHandler* handler = nullptr;
    uint16_t in_kernel = 0;  // operations the kernel still holds
    bool closing = false;
    bool want_read = false;
    bool recv_armed = false;
    bool starved = false;
    bool sending = false;
    bool connecting = false;
    bool listening = false;
    bool accept_paused = false;  // out of descriptors: accepting resumes at the next tick
    uint32_t epoll_mask = 0;
    const char* send_ptr = nullptr;
    uint32_t send_left = 0;
    Socket* next_starved = nullptr;
  };
  State st_;
};

enum class IoBackend { uring, epoll };

class Loop : public BufferOwner {
 public:
  virtual ~Loop() = default;
  virtual IoBackend backend() const = 0;

  virtual void attach(Socket& s, int fd, SocketHandler* h) = 0;
  virtual void accept(Socket& listener) = 0;                              // continuous until close
  virtual void start_read(Socket& s) = 0;                                 // continuous until stop_read/close
  virtual void stop_read(Socket& s) = 0;                                  // data already in flight may still arrive
  virtual void send(Socket& s, const char* p, uint32_t n) = 0;            // one at a time; on_sent when all sent
  virtual void connect(Socket& s, const sockaddr* a, socklen_t len) = 0;  // a must outlive the call's completion
  virtual void close(Socket& s) = 0;
  // While reading: looks at the socket afresh. io_uring replaces its multishot
  // receive: a reset can go unreported to one armed on a socket that had data
  // (Linux 6.18, about 1 in 50,000 resets under load: the error stays pending on
  // the socket, the receive stays in the ring's poll list); epoll: nothing.
  virtual void refresh_read(Socket&) {}
  void release(uint16_t buf_id) override = 0;
  // A new non-blocking TCP connection to a (which must outlive the connect):
  // 0, or -errno when no socket could be made (on_connected reports the rest).
  virtual int open_stream(Socket& s, SocketHandler* h, const SockAddr& a);

  // Calls on_readable (from the loop) whenever fd is readable, until unwatch(fd):
  // pidfds, pipes and eventfds of the control thread. false where the loop does
  // not watch plain descriptors (io_uring workers have no use for it).
  virtual bool watch(int fd, std::function<void()> on_readable);
  virtual void unwatch(int fd);

  // Runs until stop() (a later run() goes on); tick() is called about every tick_ms milliseconds.
  virtual void run(std::function<void()> tick, int tick_ms) = 0;
  virtual void stop() = 0;  // from the loop thread
  virtual void wake() = 0;  // from any thread: runs tick() soon

  uint64_t now_ms() const { return now_ms_; }

 protected:
  static Socket::State& state(Socket& s) { return s.st_; }
  static IoBuf buf(char* p, uint32_t n, uint16_t id, BufferOwner* o) { return IoBuf{p, n, id, o}; }
  void refresh_clock();
  // accept() failed for want of descriptors: stop accepting until the next tick
  // instead of spinning on a connection that cannot be taken yet.
  void pause_accept(Socket& listener, int err);
  // Listeners to accept on again (called at each tick); the backend re-arms them.
  template <typename F>
  void resume_accepts(F&& rearm) {
    std::vector<Socket*> paused;
    paused.swap(paused_accepts_);
    for (Socket* s : paused) {
      state(*s).accept_paused = false;
      if (!state(*s).closing) rearm(*s);
    }
  }
  uint64_t now_ms_ = 0;

 private:
  std::vector<Socket*> paused_accepts_;
  uint64_t last_pause_log_ms_ = 0;
};

struct LoopChoice {
  std::unique_ptr<Loop> loop;
  std::string why;  // reason for the backend in use, for the start-up log
};

// want_uring=false forces epoll. Falls back to epoll when io_uring is missing.
LoopChoice make_loop(bool want_uring, BufferPool& pool);

// Checks once whether this kernel/seccomp allows the io_uring features corral needs.
bool uring_supported(std::string& why);

}  // namespace corral::core
