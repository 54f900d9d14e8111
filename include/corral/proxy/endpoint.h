// The Ollama/OpenAI API routes corral knows, used as bounded metric labels.
#pragma once
#include <cstddef>
#include <string_view>

namespace corral::proxy {

enum Endpoint : unsigned char {
  kRoot, kGenerate, kChat, kEmbed, kEmbeddings, kTags, kPs, kShow, kPull, kPush, kCreate, kCopy,
  kDelete, kVersion, kBlobs, kOaiChat, kOaiCompletions, kOaiEmbeddings, kOaiModels, kHealth, kMetrics, kStatus,
  kAnalytics, kOther, kEndpointCount
};

Endpoint classify(std::string_view path);
// Answered by corral itself and kept out of analytics: health, metrics, status, analytics.
inline bool is_local(Endpoint e) { return e == kHealth || e == kMetrics || e == kStatus || e == kAnalytics; }
std::string_view endpoint_name(Endpoint e);

// The prefix the k8s deployment's clients put before /api/*; stripped when forwarding.
inline constexpr std::string_view kProxyPrefix = "/proxy";

}  // namespace corral::proxy
