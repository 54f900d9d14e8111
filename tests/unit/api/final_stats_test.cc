#include <gtest/gtest.h>

#include <string>

#include "corral/api/final_stats.h"

using namespace corral;

TEST(StreamStats, OllamaFinalNdjsonObject) {
  std::string tail =
      "{\"model\":\"m\",\"response\":\"x\",\"done\":false}\n"
      "{\"model\":\"m\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\",\"total_duration\":5000,"
      "\"load_duration\":100,\"prompt_eval_count\":26,\"prompt_eval_duration\":300,\"eval_count\":290,"
      "\"eval_duration\":4000}\n";
  auto s = api::extract_final_stats(tail);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.prompt_tokens, 26);
  EXPECT_EQ(s.completion_tokens, 290);
  EXPECT_EQ(s.total_duration_ns, 5000);
  EXPECT_EQ(s.load_duration_ns, 100);
  EXPECT_EQ(s.prompt_eval_duration_ns, 300);
  EXPECT_EQ(s.eval_duration_ns, 4000);
}

TEST(StreamStats, OpenAiSseUsageChunk) {
  std::string tail =
      "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
      "data: "
      "{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n"
      "data: [DONE]\n\n";
  auto s = api::extract_final_stats(tail);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.prompt_tokens, 11);
  EXPECT_EQ(s.completion_tokens, 7);
}

TEST(StreamStats, NothingInPlainText) { EXPECT_FALSE(api::extract_final_stats("Ollama is running").found); }

TEST(StreamStats, BodySampleKeepsOnlyTheEnd) {
  api::BodySample t;
  std::string big(5000, 'a');
  t.add(big.data(), big.size());
  t.add("xyz", 3);
  EXPECT_EQ(t.tail().size(), api::BodySample::kTailBytes);
  EXPECT_EQ(t.tail().substr(t.tail().size() - 3), "xyz");
  EXPECT_TRUE(t.head().empty());  // no head asked for
}

// A long stream's tail, token by token, holds a kTailBytes string: one grown by
// doubling holds up to twice that (1,536 bytes with these lines) for as long as
// the stream lasts.
TEST(StreamStats, ALongStreamsTailHoldsNoMoreThanItKeeps) {
  api::BodySample t;
  std::string line;
  for (int i = 0; i < 200; ++i) {
    line = "{\"model\":\"m\",\"response\":\"token " + std::to_string(i) + "\",\"done\":false}\n";
    t.add(line.data(), line.size());
    ASSERT_LE(t.tail().size(), api::BodySample::kTailBytes);
    ASSERT_EQ(t.tail().substr(t.tail().size() - line.size()), line);
  }
  EXPECT_EQ(t.tail().size(), api::BodySample::kTailBytes);
  EXPECT_EQ(t.tail_capacity(), api::BodySample::kTailBytes);
  std::string big(5000, 'b');  // a read larger than the tail keeps its end, in the same room
  t.add(big.data(), big.size());
  EXPECT_EQ(t.tail(), big.substr(big.size() - api::BodySample::kTailBytes));
  EXPECT_EQ(t.tail_capacity(), api::BodySample::kTailBytes);
}

TEST(StreamStats, BodySampleKeepsTheFirstBytesWhenAsked) {
  api::BodySample t;
  t.clear(6);
  t.add("abcd", 4);
  t.add("efgh", 4);
  EXPECT_EQ(t.head(), "abcdef");
  EXPECT_EQ(t.tail(), "abcdefgh");
  t.clear(0);
  EXPECT_TRUE(t.head().empty());
}

// Found by fuzz-final_stats (UBSan: signed overflow): a count past int64 is not a count, not a wrapped number.
TEST(StreamStats, CountTooLargeForInt64IsAbsent) {
  auto s = api::extract_final_stats(R"({"done":true,"prompt_eval_count":5,"eval_count":99999999999999999999})");
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.completion_tokens, -1);
  EXPECT_EQ(s.prompt_tokens, 5);
  EXPECT_EQ(api::extract_final_stats(R"({"eval_count":9223372036854775807})").completion_tokens, INT64_MAX);
}
