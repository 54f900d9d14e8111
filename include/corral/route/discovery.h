// What the control thread reads from members' answers (/api/version,
// /api/tags, /api/ps), and name resolution for DNS backends.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "corral/config/config.h"
#include "corral/core/net.h"
#include "corral/route/snapshot.h"

namespace corral::route {

bool parse_tags(const std::string& body, std::vector<ModelInfo>& out);
bool parse_ps(const std::string& body, std::vector<LoadedModel>& out);
bool parse_version(const std::string& body, std::string& out);
// OpenAI's and Anthropic's GET /v1/models: {"data":[{"id":…}, …]}.
bool parse_model_list(const std::string& body, std::vector<ModelInfo>& out);

// Every address of a backend: one for http://, all A/AAAA records for dns+http://.
bool resolve_all(const config::BackendConfig& b, std::vector<core::SockAddr>& out, std::string& err);

}  // namespace corral::route
