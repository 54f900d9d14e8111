// An in-memory core::Loop for deterministic unit tests (as seastar's loopback
// sockets): sockets are numbers, the test plays the peer of each one — it
// delivers bytes, completes or refuses connects, closes — and the clock moves
// only when the test says so. Completions (sends, closes) are delivered by
// settle(), never from inside a call into the loop, as the real loops do.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"
#include "corral/core/net.h"

namespace corral::test {

class FakeLoop final : public core::Loop {
 public:
  struct Peer {
    core::Socket* sock = nullptr;
    std::string remote;    // where an outgoing connection goes (ip:port)
    std::string received;  // every byte the socket sent
    std::string inbox;     // bytes for the socket, held while it does not read
    bool reading = false;
    bool connecting = false;
    bool closed = false;      // closed by its owner
    bool gone = false;        // on_closed delivered: the socket may be freed
    bool hold_sends = false;  // a slow peer: sends stay in flight until released
    uint32_t in_flight = 0;   // bytes of the send in flight
  };

  explicit FakeLoop(uint32_t buffers = 64, uint32_t buffer_size = 4096);

  core::IoBackend backend() const override { return core::IoBackend::epoll; }
  void attach(core::Socket& s, int fd, core::SocketHandler* h) override;
  void accept(core::Socket&) override {}
  void start_read(core::Socket& s) override;
  void stop_read(core::Socket& s) override;
  void send(core::Socket& s, const char* p, uint32_t n) override;
  void connect(core::Socket& s, const sockaddr* a, socklen_t len) override;
  int open_stream(core::Socket& s, core::SocketHandler* h, const core::SockAddr& a) override;
  void close(core::Socket& s) override;
  void release(uint16_t buf_id) override;
  void run(std::function<void()>, int) override {}
  void stop() override {}
  void wake() override { ++wakes; }

  // The test's side.
  int accept_client(core::SocketHandler& h);  // a new client socket, as the listener would hand it out
  Peer& peer(int fd) { return peers_.at(fd); }
  int last_stream() const { return last_stream_; }  // the newest outgoing connection
  int streams() const { return streams_; }
  void finish_connect(int fd, int err = 0);
  void deliver(int fd, std::string_view bytes);  // the peer sends (held while the socket does not read)
  void peer_close(int fd, int err = 0);
  void release_sends(int fd);  // a held peer takes what was sent
  void set_now(uint64_t ms) { now_ms_ = ms; }
  void settle();  // delivers pending completions until there are none
  int buffers_out() const { return buffers_out_; }
  int fail_next_socket = 0;  // -errno for the next open_stream (e.g. -EMFILE)
  int wakes = 0;

 private:
  void pump(int fd);
  core::BufferPool pool_;
  std::map<int, Peer> peers_;
  std::vector<std::pair<int, int>> done_;  // (fd, kind): 0 sent, 1 closed
  int next_fd_ = 1000;
  int last_stream_ = -1;
  int streams_ = 0;
  int buffers_out_ = 0;
};

}  // namespace corral::test
