// The last-minute window: which seconds a scrape counts, bucket reuse a minute
// later, and idle workers' old seconds ageing out.
#include <gtest/gtest.h>

#include "corral/metrics/window.h"

using corral::metrics::MinuteWindow;

TEST(MinuteWindow, CountsTheCurrentSecondAndTheFiftyNineBefore) {
  MinuteWindow w;
  w.add(1000, 200);
  w.add(1000, 300);
  w.add(1030, 1000);
  EXPECT_EQ(w.sum(1000).requests, 2u);
  EXPECT_EQ(w.sum(1000).duration_us, 500u);
  EXPECT_EQ(w.sum(1030).requests, 3u);
  EXPECT_EQ(w.sum(1030).duration_us, 1500u);
  EXPECT_EQ(w.sum(1059).requests, 3u);  // second 1000 is the oldest of 1000..1059
  EXPECT_EQ(w.sum(1060).requests, 1u);  // it has left; 1030 has not
  EXPECT_EQ(w.sum(1060).duration_us, 1000u);
  EXPECT_EQ(w.sum(1089).requests, 1u);
  EXPECT_EQ(w.sum(1090).requests, 0u);
  EXPECT_EQ(w.sum(1090).duration_us, 0u);
}

TEST(MinuteWindow, ASecondAMinuteLaterReusesTheBucketFromZero) {
  MinuteWindow w;
  for (int i = 0; i < 5; ++i) w.add(2000, 10);
  w.add(2060, 7);  // same bucket (2000 % 60 == 2060 % 60)
  MinuteWindow::Totals t = w.sum(2060);
  EXPECT_EQ(t.requests, 1u);
  EXPECT_EQ(t.duration_us, 7u);
  // A reader a second behind the writer has lost second 2000 already: an undercount at the edge, never a
  // count of a second twice or of one from the future.
  EXPECT_EQ(w.sum(2059).requests, 0u);
}

TEST(MinuteWindow, ASteadyRateShowsSixtySecondsOfIt) {
  MinuteWindow w;
  for (int64_t s = 5000; s < 5200; ++s) {
    w.add(s, 1000);
    w.add(s, 3000);
  }
  MinuteWindow::Totals t = w.sum(5199);
  EXPECT_EQ(t.requests, 120u);
  EXPECT_EQ(t.duration_us, 60u * 4000);
}

TEST(MinuteWindow, AnIdleWorkersSecondsAgeOutWithoutAWrite) {
  MinuteWindow w;
  for (int64_t s = 100; s < 160; ++s) w.add(s, 1);
  EXPECT_EQ(w.sum(159).requests, 60u);
  EXPECT_EQ(w.sum(189).requests, 30u);
  EXPECT_EQ(w.sum(100000).requests, 0u);
}

TEST(MinuteWindow, SecondsAfterTheScrapesNowAreNotCounted) {
  MinuteWindow w;
  w.add(300, 5);
  w.add(301, 5);
  EXPECT_EQ(w.sum(300).requests, 1u);
}
