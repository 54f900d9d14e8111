// Receive buffers run out: a socket waiting for one (starved) that is closed is
// forgotten by its loop, so a buffer coming back later reaches nothing of it (the
// sanitized tier reports the use after free it was), on io_uring and on epoll.
// A refreshed read (io_uring: its receive replaced) loses and repeats nothing.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <vector>

#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"

using namespace corral;

namespace {

// One end of a socketpair on the loop; keeps what it receives, so the pool runs dry.
struct Conn final : core::SocketHandler {
  core::Socket sock;
  int peer = -1;
  std::vector<core::IoBuf> held;
  bool closed = false;
  int eofs = 0;
  void on_data(core::Socket&, core::IoBuf b) override { held.push_back(b); }
  void on_eof(core::Socket&, int) override { ++eofs; }
  void on_closed(core::Socket&) override { closed = true; }
  ~Conn() { ::close(peer); }
};

// Runs the loop until done() holds (true) or about max_ms passed (false).
bool run_until(core::Loop& loop, const std::function<bool()>& done, int max_ms = 2000) {
  int ticks = 0;
  loop.run(
      [&] {
        if (done() || ++ticks > max_ms) loop.stop();
      },
      1);
  return done();
}

std::unique_ptr<Conn> attach(core::Loop& loop) {
  auto c = std::make_unique<Conn>();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  c->peer = sv[1];
  loop.attach(c->sock, sv[0], c.get());
  loop.start_read(c->sock);
  return c;
}

class Loops : public ::testing::TestWithParam<core::IoBackend> {};

}  // namespace

TEST_P(Loops, AClosedSocketStarvedOfBuffersIsForgotten) {
  core::BufferPool buffers(1, 4096);  // one receive buffer in all
  core::LoopChoice lc = core::make_loop(GetParam() == core::IoBackend::uring, buffers);
  ASSERT_EQ(lc.loop->backend(), GetParam()) << lc.why;
  core::Loop& loop = *lc.loop;
  std::unique_ptr<Conn> a = attach(loop), b = attach(loop);
  ASSERT_TRUE(a && b);

  ASSERT_EQ(::write(a->peer, "a", 1), 1);
  ASSERT_TRUE(run_until(loop, [&] { return !a->held.empty(); })) << "a holds the only buffer";
  ASSERT_EQ(::write(b->peer, "b", 1), 1);
  run_until(
      loop, [] { return false; }, 20);  // b is readable and finds no buffer
  EXPECT_TRUE(b->held.empty());

  loop.close(b->sock);
  ASSERT_TRUE(run_until(loop, [&] { return b->closed; }));
  b.reset();                                       // its socket is gone
  for (core::IoBuf& buf : a->held) buf.release();  // the buffer comes back: nothing may reach b
  a->held.clear();
  run_until(
      loop, [] { return false; }, 20);

  ASSERT_EQ(::write(a->peer, "c", 1), 1);
  EXPECT_TRUE(run_until(loop, [&] { return !a->held.empty(); })) << "the loop goes on";
  for (core::IoBuf& buf : a->held) buf.release();
  loop.close(a->sock);
  EXPECT_TRUE(run_until(loop, [&] { return a->closed; }));
}

// Received bytes so far, their buffers given back.
std::string take(Conn& c) {
  std::string s;
  for (core::IoBuf& b : c.held) {
    s.append(b.data, b.len);
    b.release();
  }
  c.held.clear();
  return s;
}

TEST_P(Loops, ARefreshedReadKeepsTheStreamAndStillSeesItsEnd) {
  core::BufferPool buffers(8, 4096);
  core::LoopChoice lc = core::make_loop(GetParam() == core::IoBackend::uring, buffers);
  ASSERT_EQ(lc.loop->backend(), GetParam()) << lc.why;
  core::Loop& loop = *lc.loop;
  std::unique_ptr<Conn> a = attach(loop);
  ASSERT_TRUE(a);
  std::string got;
  ASSERT_EQ(::write(a->peer, "ab", 2), 2);
  ASSERT_TRUE(run_until(loop, [&] { return (got += take(*a)).size() == 2; }));
  loop.refresh_read(a->sock);
  loop.refresh_read(a->sock);  // twice before the first is done: still one receive
  run_until(
      loop, [] { return false; }, 20);
  ASSERT_EQ(::write(a->peer, "cd", 2), 2);
  ASSERT_TRUE(run_until(loop, [&] { return (got += take(*a)).size() >= 4; })) << "reading goes on after a refresh";
  loop.refresh_read(a->sock);
  ASSERT_EQ(::write(a->peer, "ef", 2), 2);
  ::close(a->peer);
  a->peer = -1;
  EXPECT_TRUE(run_until(loop, [&] {
    got += take(*a);
    return a->eofs > 0;
  })) << "the end is reported";
  EXPECT_EQ(got, "abcdef");
  EXPECT_EQ(a->eofs, 1);
  loop.close(a->sock);
  EXPECT_TRUE(run_until(loop, [&] { return a->closed; }));
}

INSTANTIATE_TEST_SUITE_P(Io, Loops, ::testing::Values(core::IoBackend::uring, core::IoBackend::epoll),
                         [](const auto& info) { return info.param == core::IoBackend::uring ? "uring" : "epoll"; });
