// Limit counters with an injected clock (window arithmetic, Retry-After) and
// with real threads hammering one key (exactness across workers).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "corral/auth/limits.h"

using namespace corral::auth;

namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kT0 = 1000 * kSec;  // an arbitrary monotonic start

KeyLimiter limiter(uint32_t rpm, uint64_t tpm, uint32_t concurrency) {
  return KeyLimiter({rpm, tpm, concurrency}, nullptr);
}

bool admit(const KeyLimiter& l, int64_t now, Refusal* why = nullptr) {
  Admission a;
  Refusal r;
  bool ok = l.admit(now, a, r);
  if (why) *why = r;
  return ok;  // a leaves scope: its concurrency slot is given back
}

}  // namespace

TEST(KeysLimits, RpmIsAnExactSlidingWindow) {
  KeyLimiter l = limiter(10, 0, 0);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(admit(l, kT0 + i * 3 * kSec)) << i;  // t = 0, 3, …, 27 s
  Refusal why;
  EXPECT_FALSE(admit(l, kT0 + 30 * kSec, &why)) << "the 11th inside the minute";
  EXPECT_EQ(why.limit, Limit::rpm);
  EXPECT_EQ(why.allowed, 10u);
  EXPECT_EQ(why.retry_after_s, 30u) << "the first request leaves the window at t = 60 s";
  EXPECT_FALSE(admit(l, kT0 + 59 * kSec + 999000, &why));
  EXPECT_EQ(why.retry_after_s, 1u) << "Retry-After is whole seconds, at least 1";
  EXPECT_TRUE(admit(l, kT0 + 60 * kSec)) << "60 s after the first, one more";
  EXPECT_FALSE(admit(l, kT0 + 61 * kSec, &why));
  EXPECT_EQ(why.retry_after_s, 2u) << "the second (t = 3 s) leaves at 63 s";
  EXPECT_TRUE(admit(l, kT0 + 63 * kSec));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(admit(l, kT0 + 200 * kSec + i)) << "a quiet minute later, all ten again";
  EXPECT_FALSE(admit(l, kT0 + 200 * kSec + 11));
}

TEST(KeysLimits, RpmHoldsExactlyAcrossTwoHammeringThreads) {
  for (int round = 0; round < 20; ++round) {
    KeyLimiter l = limiter(10, 0, 0);
    std::atomic<int> admitted{0}, ready{0};
    auto hammer = [&] {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      for (int i = 0; i < 500; ++i) admitted.fetch_add(admit(l, kT0 + i) ? 1 : 0);
    };
    std::thread a(hammer), b(hammer);
    a.join();
    b.join();
    ASSERT_EQ(admitted.load(), 10) << "round " << round;
  }
}

TEST(KeysLimits, RpmWindowWrapsManyLaps) {
  KeyLimiter l = limiter(3, 0, 0);
  int admitted = 0;
  for (int64_t s = 0; s < 6000; ++s) admitted += admit(l, kT0 + s * 21 * kSec);  // 3 in any 63 s: always room
  EXPECT_EQ(admitted, 6000);
  EXPECT_FALSE(admit(l, kT0 + 5999 * 21 * kSec + 1)) << "3 within the last 42 s, so not a 4th";
}

TEST(KeysLimits, TpmChargesAfterAndRefusesOnceSpent) {
  KeyLimiter l = limiter(0, 1000, 0);
  Admission a;
  Refusal why;
  ASSERT_TRUE(l.admit(kT0, a, why));
  a.finish(600, kT0 + 2 * kSec);
  ASSERT_TRUE(l.admit(kT0 + 3 * kSec, a, why)) << "600 of 1000 used";
  a.finish(500, kT0 + 10 * kSec);
  EXPECT_EQ(l.usage().tokens.used(kT0 + 10 * kSec), 1100u);
  EXPECT_FALSE(l.admit(kT0 + 11 * kSec, a, why)) << "the minute's budget is spent";
  EXPECT_EQ(why.limit, Limit::tpm);
  EXPECT_EQ(why.retry_after_s, 51u) << "the 600 charged in second 1002 leave when second 1062 begins";
  EXPECT_TRUE(l.admit(kT0 + 62 * kSec, a, why)) << "only the 500 remain";
  a.finish(0, kT0 + 62 * kSec);
  EXPECT_EQ(l.usage().tokens.used(kT0 + 62 * kSec), 500u);
  EXPECT_EQ(l.usage().tokens.used(kT0 + 70 * kSec), 0u);
}

TEST(KeysLimits, TokenWindowRetryWhenOneSecondHoldsItAll) {
  TokenWindow w;
  w.charge(5000, kT0 + 500000);  // in second 1000
  EXPECT_EQ(w.wait_us(1000, kT0 + 30 * kSec), 30 * kSec) << "leaves when second 1060 begins";
  EXPECT_EQ(w.wait_us(6000, kT0 + 30 * kSec), 0);
  EXPECT_EQ(w.used(kT0 + 59 * kSec), 5000u);
  EXPECT_EQ(w.used(kT0 + 60 * kSec), 0u);
  w.charge(1, kT0 + 64 * kSec);  // the same bucket, 64 s later: starts over
  EXPECT_EQ(w.used(kT0 + 64 * kSec), 1u);
}

TEST(KeysLimits, ConcurrencyAdmitsAndReleases) {
  KeyLimiter l = limiter(0, 0, 2);
  Admission a, b, c;
  Refusal why;
  ASSERT_TRUE(l.admit(kT0, a, why));
  ASSERT_TRUE(l.admit(kT0, b, why));
  EXPECT_FALSE(l.admit(kT0, c, why));
  EXPECT_EQ(why.limit, Limit::concurrency);
  EXPECT_EQ(why.retry_after_s, 1u);
  EXPECT_EQ(l.usage().in_flight.load(), 2u) << "a refusal takes nothing";
  a.finish(10, kT0 + 1);
  EXPECT_EQ(l.usage().in_flight.load(), 1u);
  ASSERT_TRUE(l.admit(kT0, c, why));
  { Admission gone = std::move(b); }  // a client gone mid-stream: the slot comes back with the Admission
  EXPECT_EQ(l.usage().in_flight.load(), 1u);
  c = Admission();
  EXPECT_EQ(l.usage().in_flight.load(), 0u);
}

TEST(KeysLimits, ARefusedRequestTakesNoRpmUnit) {
  KeyLimiter l = limiter(2, 0, 1);
  Admission a, b, c;
  Refusal why;
  ASSERT_TRUE(l.admit(kT0, a, why));
  EXPECT_FALSE(l.admit(kT0 + 1, b, why));
  EXPECT_EQ(why.limit, Limit::concurrency);
  a.finish(0, kT0 + 2);
  ASSERT_TRUE(l.admit(kT0 + 3, b, why)) << "the concurrency refusal left the second rpm unit";
  b.finish(0, kT0 + 4);
  EXPECT_FALSE(l.admit(kT0 + 5, c, why));
  EXPECT_EQ(why.limit, Limit::rpm);
  EXPECT_EQ(l.usage().in_flight.load(), 0u) << "the rpm refusal gave its concurrency slot back";
}

TEST(KeysLimits, CountersSurviveARebuildAndRpmRestartsOnlyWhenItChanges) {
  KeyLimiter before = limiter(2, 100, 5);
  Admission held;
  Refusal why;
  ASSERT_TRUE(before.admit(kT0, held, why));
  ASSERT_TRUE(admit(before, kT0));
  KeyLimiter same({2, 200, 5}, &before);
  EXPECT_EQ(same.usage().in_flight.load(), 1u) << "the in-flight count is the key's, not the table's";
  EXPECT_FALSE(admit(same, kT0 + 1)) << "rpm unchanged: its window goes on";
  KeyLimiter changed({3, 200, 5}, &same);
  EXPECT_TRUE(admit(changed, kT0 + 2)) << "rpm changed: a new window";
  held.finish(150, kT0 + 3);
  EXPECT_EQ(changed.usage().in_flight.load(), 0u) << "released through the old table's entry";
  EXPECT_EQ(changed.usage().tokens.used(kT0 + 3), 150u);
  EXPECT_FALSE(admit(before, kT0 + 4, &why));
  EXPECT_EQ(why.limit, Limit::tpm) << "150 tokens, charged through any entry, against the old limit of 100";
}

TEST(KeysLimits, RefusalsSayWhichLimit) {
  EXPECT_EQ(Refusal({Limit::rpm, 10, 3}).message(), "rate limit reached: 10 requests per minute (rpm)");
  EXPECT_EQ(Refusal({Limit::tpm, 500, 3}).message(), "rate limit reached: 500 tokens per minute (tpm)");
  EXPECT_EQ(Refusal({Limit::concurrency, 2, 1}).message(), "rate limit reached: 2 requests in flight (concurrency)");
  EXPECT_EQ(limit_name(Limit::tpm), "tpm");
}
