// The YAML of hosted and OpenAI-compatible backends: backends[i].kind,
// api_key_env and tls, models.aliases, and the TLS listener.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "corral/config/config.h"
#include "yaml_setters.h"

namespace corral::config::yaml {

Setter backend_kind(BackendKind& dst);
Setter backend_tls(BackendTls& dst, const std::string& key);
Setter env_name(std::string& dst);
Setter aliases(std::vector<std::pair<std::string, std::string>>& dst);
Setter tls_listen(TlsListenConfig& dst);

}  // namespace corral::config::yaml

namespace corral::config {

// TLS settings only on https:// backends, API keys only on hosted kinds, an
// alias neither empty nor naming itself, a TLS listener with both files.
bool finalize_hosted(const Config& cfg, std::string& err);

}  // namespace corral::config
