#include <gtest/gtest.h>

#include <initializer_list>

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

// One table for corral's own errors and a backend's translated ones (Anthropic's types from
// its errors reference and its SDK's ErrorObject).
TEST(Errors, OneStatusToTypeTable) {
  struct Case {
    int status;
    const char *openai, *anthropic;
  };
  for (const Case& c : std::initializer_list<Case>{{400, "invalid_request_error", "invalid_request_error"},
                                                   {401, "authentication_error", "authentication_error"},
                                                   {402, "invalid_request_error", "billing_error"},
                                                   {403, "permission_error", "permission_error"},
                                                   {404, "not_found_error", "not_found_error"},
                                                   {408, "timeout_error", "timeout_error"},
                                                   {410, "invalid_request_error", "invalid_request_error"},
                                                   {413, "invalid_request_error", "request_too_large"},
                                                   {429, "rate_limit_error", "rate_limit_error"},
                                                   {500, "server_error", "api_error"},
                                                   {502, "server_error", "api_error"},
                                                   {503, "server_error", "overloaded_error"},
                                                   {504, "server_error", "timeout_error"},
                                                   {529, "server_error", "overloaded_error"}}) {
    EXPECT_EQ(api::error_type(api::Dialect::openai, c.status), c.openai) << c.status;
    EXPECT_EQ(api::error_type(api::Dialect::anthropic, c.status), c.anthropic) << c.status;
    EXPECT_EQ(api::error_type(api::Dialect::ollama, c.status), "") << c.status;
  }
}
