#include <gtest/gtest.h>

#include "corral/api/sniff.h"

using namespace corral::api;

TEST(Categorize, RealisticPrompts) {
  EXPECT_EQ(categorize("Write a Python function that parses ISO 8601 dates"), kCategoryCode);
  EXPECT_EQ(categorize("```js\nconst x = 1;\n```\nwhy does this throw?"), kCategoryCode);
  EXPECT_EQ(categorize("Translate 'good morning' into Spanish"), kCategoryTranslation);
  EXPECT_EQ(categorize("Summarize the following article in three bullet points: ..."), kCategorySummarization);
  EXPECT_EQ(categorize("Write a short poem about autumn leaves"), kCategoryCreative);
  EXPECT_EQ(categorize("Compare PostgreSQL and MySQL for a write-heavy workload"), kCategoryAnalysis);
  EXPECT_EQ(categorize("Why is the sky blue?"), kCategoryQuestion);
  EXPECT_EQ(categorize("how do vaccines work"), kCategoryQuestion);
  EXPECT_EQ(categorize("hello there"), kCategoryChat);
  EXPECT_EQ(categorize(std::string(300, 'x')), kCategoryOther);
  EXPECT_EQ(categorize("   "), kCategoryOther);
}

TEST(Complexity, FollowsSeedRules) {
  EXPECT_EQ(estimate({5, 1, 0, 0}).cls, kLow);
  EXPECT_EQ(estimate({301, 1, 0, 0}).cls, kHigh);  // > 300 words is high
  Complexity design = estimate({120, 1, 0, 2});    // architecture/design keywords
  EXPECT_EQ(design.score, 20 + 30);
  EXPECT_EQ(design.cls, kMedium);
  Complexity big = estimate({250, 25, 65536, 2});
  EXPECT_EQ(big.score, 100);
  EXPECT_EQ(big.cls, kHigh);
}

TEST(AnalyzeRequest, ChatBodyWithOptions) {
  std::string body = R"({"model":"qwen2.5:7b","stream":false,"options":{"num_ctx":65536},"messages":[
    {"role":"system","content":"You are a senior engineer."},
    {"role":"user","content":"Refactor the architecture of our distributed billing system"}]})";
  RequestInfo info = analyze_request(body);
  ASSERT_TRUE(info.json);
  EXPECT_EQ(info.model, "qwen2.5:7b");
  EXPECT_TRUE(info.has_stream);
  EXPECT_FALSE(info.stream);
  EXPECT_EQ(info.category, kCategoryCode);
  EXPECT_GE(info.complexity.score, 50);                        // keywords + large num_ctx
  EXPECT_EQ(body.substr(0, 22), R"({"model":"qwen2.5:7b",)");  // body untouched
}

TEST(AnalyzeRequest, GenerateAndGarbage) {
  std::string gen = R"({"model":"llama3.2","prompt":"Why is the sky blue?"})";
  RequestInfo g = analyze_request(gen);
  EXPECT_EQ(g.model, "llama3.2");
  EXPECT_TRUE(g.stream);
  EXPECT_FALSE(g.has_stream);
  EXPECT_EQ(g.category, kCategoryQuestion);
  EXPECT_EQ(g.prompt_chars, 20u);
  std::string junk = "not json at all";
  EXPECT_FALSE(analyze_request(junk).json);
  std::string arr = "[1,2,3]";
  EXPECT_FALSE(analyze_request(arr).json);
}

TEST(AnalyzeRequest, ContentPartsAndBlocks) {
  std::string openai =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"Translate hello into French"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]})";
  RequestInfo a = analyze_request(openai);
  EXPECT_EQ(a.model, "gpt-4o");
  EXPECT_EQ(a.category, kCategoryTranslation);
  EXPECT_EQ(a.prompt_chars, std::string("Translate hello into French").size());
  std::string anthropic =
      R"({"model":"claude","system":[{"type":"text","text":"Be brief."}],"max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"Summarize this article"}]}]})";
  RequestInfo b = analyze_request(anthropic);
  EXPECT_EQ(b.category, kCategorySummarization);
  EXPECT_EQ(b.prompt_chars, std::string("Be brief.").size() + std::string("Summarize this article").size());
  EXPECT_NE(b.prefix_hash, 0u);
}
