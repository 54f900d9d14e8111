// Probes on a loop of their own, as the control thread runs them.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "corral/core/buffer_pool.h"
#include "corral/route/probe.h"

using namespace corral;

namespace {

upstream::Target target_of(const core::SockAddr& addr) {
  upstream::Target t;
  t.addr = &addr;
  t.host_header = "127.0.0.1:9";
  return t;
}

route::ProbeResult probe(const core::SockAddr& addr, std::string& err) {
  core::BufferPool buffers(8, 16384);
  core::LoopChoice lc = core::make_loop(false, buffers);
  upstream::Pool pool(*lc.loop, 1, 1000, nullptr);
  route::ProbeResult result;
  {
    route::MemberProbe p(pool, [] {});
    p.start(target_of(addr), false, 100, route::MemberView{});
    lc.loop->run(
        [&] {
          p.tick(lc.loop->now_ms());
          if (p.result() != route::ProbeResult::pending) lc.loop->stop();
        },
        10);
    result = p.result();
    err = p.error();
  }
  pool.drain();
  lc.loop->run([&] { lc.loop->stop(); }, 1);
  return result;
}

}  // namespace

// Out of descriptors, corral cannot probe anyone: that is its own shortage, not a
// failed member (which would mark a healthy backend down).
TEST(Discovery, NoSocketToSpareIsALocalShortageNotAFailedProbe) {
  core::SockAddr addr;
  std::string err;
  ASSERT_TRUE(core::resolve("127.0.0.1", 9, addr, err));
  // With descriptors, a closed port is a failed probe. (First, also for clang's UBSan: it checks
  // a virtual call by probing memory through a pipe, which it cannot open once descriptors are
  // gone; a call it has seen once is in its cache.)
  EXPECT_EQ(probe(addr, err), route::ProbeResult::failed);
  EXPECT_NE(err.find("refused"), std::string::npos) << err;
  core::BufferPool buffers(8, 16384);
  core::LoopChoice lc = core::make_loop(false, buffers);  // the loop's own descriptors first
  upstream::Pool pool(*lc.loop, 1, 1000, nullptr);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<int> held;
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int fd; (fd = dup(0)) >= 0;) held.push_back(fd);
  route::MemberProbe p(pool, [] {});
  p.start(target_of(addr), false, 100, route::MemberView{});
  for (int fd : held) close(fd);
  setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_EQ(p.result(), route::ProbeResult::local_shortage);
  EXPECT_NE(p.error().find("Too many open files"), std::string::npos) << p.error();
  // With descriptors again, probes work again.
  EXPECT_EQ(probe(addr, err), route::ProbeResult::failed);
  EXPECT_NE(err.find("refused"), std::string::npos) << err;
}
