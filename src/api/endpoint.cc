#include "corral/api/endpoint.h"

#include <array>

namespace corral::api {
namespace {
using D = Dialect;
using F = Fanout;
constexpr std::array<EndpointInfo, kEndpointCount> kInfo = {{
    {"/", D::ollama, false, false, false, F::none, -1},
    {"/api/generate", D::ollama, true, false, false, F::none, 1},
    {"/api/chat", D::ollama, true, false, false, F::none, 1},
    {"/api/embed", D::ollama, false, false, false, F::none, -1},
    {"/api/embeddings", D::ollama, false, false, false, F::none, -1},
    {"/api/tags", D::ollama, false, false, false, F::list, -1},
    {"/api/ps", D::ollama, false, false, false, F::list, -1},
    {"/api/show", D::ollama, false, false, false, F::none, -1},
    {"/api/pull", D::ollama, false, false, true, F::none, -1},
    {"/api/push", D::ollama, false, false, false, F::none, -1},
    {"/api/create", D::ollama, false, false, true, F::none, -1},
    {"/api/copy", D::ollama, false, false, false, F::holders, -1},
    {"/api/delete", D::ollama, false, false, false, F::holders, -1},
    {"/api/version", D::ollama, false, false, false, F::none, -1},
    {"/api/blobs", D::ollama, false, false, false, F::none, -1},
    {"/v1/chat/completions", D::openai, true, false, false, F::none, 0},
    {"/v1/completions", D::openai, true, false, false, F::none, 0},
    {"/v1/embeddings", D::openai, false, false, false, F::none, -1},
    {"/v1/models", D::openai, false, false, false, F::list, -1},
    {"/v1/messages", D::anthropic, true, false, false, F::none, 0},
    {"/health", D::ollama, false, true, false, F::none, -1},
    {"/metrics", D::ollama, false, true, false, F::none, -1},
    {"/status", D::ollama, false, true, false, F::none, -1},
    {"/analytics", D::ollama, false, true, false, F::none, -1},
    {"/admin", D::ollama, false, true, false, F::none, -1},
    {"/test", D::ollama, false, true, false, F::none, -1},
    {"other", D::ollama, false, false, false, F::none, -1},
}};
}  // namespace

std::string_view strip_proxy_prefix(std::string_view path) {
  if (path.starts_with(kProxyPrefix) && path.substr(kProxyPrefix.size()).starts_with("/api/")) {
    path.remove_prefix(kProxyPrefix.size());
  }
  return path;
}

Endpoint classify(std::string_view path) {
  path = strip_proxy_prefix(path);
  if (path.starts_with("/api/blobs/")) return kBlobs;
  if (path.starts_with("/v1/models/")) return kOaiModels;
  if (path.starts_with("/analytics/")) return kAnalytics;
  if (path.starts_with("/admin/")) return kAdmin;
  for (size_t i = 0; i < kOther; ++i) {
    if (path == kInfo[i].label) return static_cast<Endpoint>(i);
  }
  return kOther;
}

const EndpointInfo& info(Endpoint e) { return kInfo[e]; }

Fanout fanout_of(Endpoint e, std::string_view method, std::string_view path) {
  Fanout f = kInfo[e].fanout;
  if (f != Fanout::list) return f;
  bool get = method == "GET" || method == "HEAD";
  if (!get) return Fanout::none;
  if (e == kOaiModels && path != "/v1/models") return Fanout::none;  // /v1/models/NAME goes to one backend
  return f;
}

}  // namespace corral::api
