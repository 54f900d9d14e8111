#include "corral/fleet/demand.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <thread>
#include <vector>

using namespace corral::fleet;

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST(Demand, CountsEveryWorkersNotes) {
  Demand d(4, nullptr);
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < 4; ++w) {
    workers.emplace_back([&d, w] {
      for (int i = 0; i < 10000; ++i) d.note(w);
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(d.collect(), 40000u);
  d.note(2);
  EXPECT_EQ(d.collect(), 40001u);
}

TEST(Demand, WakesTheControlThreadOncePerRound) {
  auto wakeup = std::make_shared<Wakeup>();
  Demand d(2, wakeup);
  EXPECT_FALSE(readable(wakeup->fd()));
  for (int i = 0; i < 1000; ++i) d.note(i % 2);
  ASSERT_TRUE(readable(wakeup->fd()));
  uint64_t writes = 0;
  ASSERT_EQ(::read(wakeup->fd(), &writes, sizeof writes), static_cast<ssize_t>(sizeof writes));
  EXPECT_EQ(writes, 1u) << "a thousand notes, one eventfd write";
  wakeup->clear();
  d.collect();
  d.note(0);
  EXPECT_TRUE(readable(wakeup->fd())) << "after the control thread looked, the next note wakes it again";
  wakeup->clear();
  EXPECT_FALSE(readable(wakeup->fd()));
}

TEST(Demand, OneWakeupServesSeveralBackends) {
  auto wakeup = std::make_shared<Wakeup>();
  Demand a(1, wakeup), b(1, wakeup);
  a.note(0);
  wakeup->clear();
  a.collect();
  b.note(0);
  EXPECT_TRUE(readable(wakeup->fd()));
  EXPECT_EQ(b.collect(), 1u);
}
