#include <gtest/gtest.h>

#include "corral/api/endpoint.h"
#include "corral/api/errors.h"

using namespace corral;

TEST(Endpoint, ClassifiesApiRoutes) {
  EXPECT_EQ(api::classify("/api/generate"), api::kGenerate);
  EXPECT_EQ(api::classify("/proxy/api/chat"), api::kChat);
  EXPECT_EQ(api::classify("/v1/chat/completions"), api::kOaiChat);
  EXPECT_EQ(api::classify("/v1/models/llama3.2"), api::kOaiModels);
  EXPECT_EQ(api::classify("/api/blobs/sha256:abc"), api::kBlobs);
  EXPECT_EQ(api::classify("/etc/passwd"), api::kOther);
}

TEST(Endpoint, PropertiesDriveTheStages) {
  EXPECT_TRUE(api::info(api::kChat).generation);
  EXPECT_FALSE(api::info(api::kTags).generation);
  EXPECT_EQ(api::info(api::kChat).stream_default, 1);
  EXPECT_EQ(api::info(api::kOaiChat).stream_default, 0);
  EXPECT_EQ(api::info(api::kOaiChat).dialect, api::Dialect::openai);
  EXPECT_TRUE(api::info(api::kPull).pull_like);
  EXPECT_TRUE(api::is_local(api::kMetrics));
  EXPECT_EQ(api::fanout_of(api::kTags, "GET", "/api/tags"), api::Fanout::list);
  EXPECT_EQ(api::fanout_of(api::kTags, "POST", "/api/tags"), api::Fanout::none);
  EXPECT_EQ(api::fanout_of(api::kOaiModels, "GET", "/v1/models/llama3.2"), api::Fanout::none);
  EXPECT_EQ(api::fanout_of(api::kDelete, "DELETE", "/api/delete"), api::Fanout::holders);
  EXPECT_EQ(api::strip_proxy_prefix("/proxy/api/chat"), "/api/chat");
  EXPECT_EQ(api::strip_proxy_prefix("/proxy/other"), "/proxy/other");
}

TEST(Errors, EachDialectsShape) {
  EXPECT_EQ(api::error_body(api::Dialect::ollama, 404, "no \"x\""), R"({"error":"no \"x\""})");
  EXPECT_EQ(api::error_body(api::Dialect::openai, 429, "slow down"),
            R"({"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}})");
  EXPECT_EQ(api::error_body(api::Dialect::anthropic, 401, "who?"),
            R"({"type":"error","error":{"type":"authentication_error","message":"who?"}})");
  EXPECT_EQ(api::model_not_found(api::kShow, "m"), "model 'm' not found");
  EXPECT_EQ(api::model_not_found(api::kChat, "m"), "model \"m\" not found, try pulling it first");
}
