// The Ollama and OpenAI routes corral knows: what each one is (generation,
// fan-out, pull-like, default stream flag, dialect) and its bounded metric label.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace corral::api {

// The wire format a client speaks, or a backend serves.
enum class Dialect : uint8_t { ollama, openai, anthropic };

enum Endpoint : unsigned char {
  kRoot,
  kGenerate,
  kChat,
  kEmbed,
  kEmbeddings,
  kTags,
  kPs,
  kShow,
  kPull,
  kPush,
  kCreate,
  kCopy,
  kDelete,
  kVersion,
  kBlobs,
  kOaiChat,
  kOaiCompletions,
  kOaiEmbeddings,
  kOaiModels,
  kMessages,
  kHealth,
  kMetrics,
  kStatus,
  kAnalytics,
  kAdmin,
  kTest,
  kOther,
  kEndpointCount
};

// How corral treats a route.
enum class Fanout : uint8_t {
  none,
  list,     // GET/HEAD merged from every healthy member (tags, ps, models)
  holders,  // sent to every member that has the model (delete, copy)
};

struct EndpointInfo {
  std::string_view label;  // the path, as a metric label value
  Dialect dialect;         // the shape of its answers and errors
  bool generation;         // produces tokens: time to first token is measured
  bool local;              // answered by corral itself, not recorded in analytics
  bool pull_like;          // goes where the model fits best, not where it is
  Fanout fanout;
  int8_t stream_default;  // the stream flag when the body has none: 1, 0, or -1 (no such flag)
};

Endpoint classify(std::string_view path);
const EndpointInfo& info(Endpoint e);
inline std::string_view endpoint_name(Endpoint e) { return info(e).label; }
inline bool is_local(Endpoint e) { return info(e).local; }
// The fan-out an endpoint asks for, for this method and path (only GET lists merge).
Fanout fanout_of(Endpoint e, std::string_view method, std::string_view path);

// The prefix the k8s deployment's clients put before /api/*; stripped when forwarding.
inline constexpr std::string_view kProxyPrefix = "/proxy";
// The path without kProxyPrefix when it prefixes an /api/ route, else as it is.
std::string_view strip_proxy_prefix(std::string_view path);

}  // namespace corral::api
