#include "corral/proxy/endpoint.h"

#include <array>

namespace corral::proxy {
namespace {
constexpr std::array<std::string_view, kEndpointCount> kNames = {
    "/", "/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/api/tags", "/api/ps", "/api/show",
    "/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/version", "/api/blobs",
    "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/health", "/metrics", "/status",
    "/analytics", "other"};
}  // namespace

Endpoint classify(std::string_view path) {
  if (path.starts_with(kProxyPrefix) && path.substr(kProxyPrefix.size()).starts_with("/api/")) {
    path.remove_prefix(kProxyPrefix.size());
  }
  if (path.starts_with("/api/blobs/")) return kBlobs;
  if (path.starts_with("/v1/models/")) return kOaiModels;
  if (path.starts_with("/analytics/")) return kAnalytics;
  for (size_t i = 0; i < kOther; ++i) {
    if (path == kNames[i]) return static_cast<Endpoint>(i);
  }
  return kOther;
}

std::string_view endpoint_name(Endpoint e) { return kNames[e]; }

}  // namespace corral::proxy
