#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "conversation.h"
#include "histogram.h"
#include "options.h"
#include "stream_timing.h"

using load::Histogram;
using load::StreamTiming;

TEST(LoadHistogram, ExactBelowSixtyFourAndBoundedErrorAbove) {
  for (uint64_t v = 0; v < 64; ++v) EXPECT_EQ(Histogram::upper(Histogram::index(v)), v);
  for (uint64_t v : {64ull, 100ull, 1000ull, 123456ull, 10000000ull, 1ull << 40}) {
    uint64_t up = Histogram::upper(Histogram::index(v));
    EXPECT_GE(up, v);
    EXPECT_LE(double(up - v) / double(v), 1.0 / 64) << v;
  }
}

TEST(LoadHistogram, PercentilesOfAKnownDistribution) {
  Histogram h;
  for (uint64_t v = 1; v <= 10000; ++v) h.record(v * 100);  // 100 µs .. 1 s uniformly
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.min(), 100u);
  EXPECT_EQ(h.max(), 1000000u);
  EXPECT_NEAR(double(h.percentile(50)), 500000, 500000 * 0.016);
  EXPECT_NEAR(double(h.percentile(99)), 990000, 990000 * 0.016);
  EXPECT_EQ(h.percentile(100), 1000000u);
  EXPECT_NEAR(h.mean(), 500050, 1);
  Histogram other;
  other.record(5);
  h.merge(other);
  EXPECT_EQ(h.count(), 10001u);
  EXPECT_EQ(h.min(), 5u);
}

TEST(LoadStreamTiming, NdjsonChunksSplitAcrossReads) {
  StreamTiming t;
  t.start(1000);
  t.set_now(1500);
  std::string first = "{\"response\":\"a\",\"done\":false}\n{\"resp";
  t.on_body(first.data(), first.size());
  t.set_now(1700);
  std::string second = "onse\":\"b\",\"done\":false}\n";
  t.on_body(second.data(), second.size());
  t.set_now(2000);
  std::string last = "{\"done\":true,\"eval_count\":42,\"eval_duration\":9}\n";
  t.on_body(last.data(), last.size());
  EXPECT_EQ(t.ttft_us(), 500);
  EXPECT_EQ(t.chunks(), 3u);
  ASSERT_EQ(t.gaps_us().size(), 2u);
  EXPECT_EQ(t.gaps_us()[0], 200);
  EXPECT_EQ(t.gaps_us()[1], 300);
  EXPECT_EQ(t.tokens(), 42);  // from the final stats, not the chunk count
}

TEST(LoadStreamTiming, SseEventsIgnoreDoneAndBlankLines) {
  StreamTiming t;
  t.start(0);
  t.set_now(10);
  std::string a = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
  t.on_body(a.data(), a.size());
  t.set_now(30);
  std::string b = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7}}\n\ndata: [DONE]\n\n";
  t.on_body(b.data(), b.size());
  EXPECT_EQ(t.chunks(), 2u);
  EXPECT_EQ(t.ttft_us(), 10);
  EXPECT_EQ(t.tokens(), 7);
}

TEST(LoadConversations, TurnsCarryTheConversationSoFarAndEndAfterTheirCount) {
  load::Conversations chats(3, 4);
  std::mt19937_64 rng(1);
  load::Conversations::Turn first = chats.next(rng, "m", "q1");
  std::string system = load::Conversations::system_prompt("m", 4);
  EXPECT_EQ(first.model, "m");
  EXPECT_EQ(first.messages,
            "[{\"role\":\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"q1\"}]");
  EXPECT_EQ(chats.waiting(), 0u);  // not answered yet: nothing to continue
  load::Conversations::Turn other = chats.next(rng, "m", "q");
  EXPECT_NE(other.id, first.id);
  EXPECT_EQ(other.messages.substr(0, 40), first.messages.substr(0, 40));  // the model's system prompt is shared
  chats.failed(other.id);

  chats.answered(first.id, 3);
  EXPECT_EQ(chats.waiting(), 1u);
  load::Conversations::Turn second;
  for (int i = 0; i < 100 && second.id != first.id; ++i) {  // continued with probability 2/3
    second = chats.next(rng, "n", "q2");
    if (second.id != first.id) chats.failed(second.id);
  }
  ASSERT_EQ(second.id, first.id);
  EXPECT_EQ(second.model, "m");
  std::string prefix = first.messages.substr(0, first.messages.size() - 1);
  EXPECT_EQ(second.messages,
            prefix + ",{\"role\":\"assistant\",\"content\":\"tok tok tok\"},{\"role\":\"user\",\"content\":\"q2\"}]");
  EXPECT_EQ(chats.waiting(), 0u);
  chats.answered(second.id, 1);
  ASSERT_EQ(chats.waiting(), 1u);
  load::Conversations::Turn third;
  for (int i = 0; i < 100 && third.id != first.id; ++i) {
    third = chats.next(rng, "n", "q3");
    if (third.id != first.id) chats.failed(third.id);
  }
  ASSERT_EQ(third.id, first.id);
  chats.answered(third.id, 1);  // its third turn: done
  EXPECT_EQ(chats.waiting(), 0u);
}

TEST(LoadOptions, HeadersGoWithEveryRequestAndAreChecked) {
  auto parse = [](std::vector<std::string> args, load::Options& o, std::string& err) {
    args.insert(args.begin(), "corral-load");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    bool help = false;
    return load::parse_options(static_cast<int>(argv.size()), argv.data(), o, help, err);
  };
  load::Options o;
  std::string err;
  ASSERT_TRUE(
      parse({"--url", "http://127.0.0.1:1", "--header", "Authorization: Bearer crl_x", "--header", "X-A: 1"}, o, err))
      << err;
  EXPECT_EQ(o.headers, "Authorization: Bearer crl_x\r\nX-A: 1\r\n");
  load::Options bad;
  EXPECT_FALSE(parse({"--url", "http://127.0.0.1:1", "--header", "no colon"}, bad, err));
  EXPECT_EQ(err, "--header: expected 'Name: value', got 'no colon'");
}
