#include "corral/api/provider.h"

namespace corral::api {

std::string provider_headers(Dialect d, std::string_view api_key) {
  std::string out;
  if (d == Dialect::anthropic) {
    if (!api_key.empty()) out.append("x-api-key: ").append(api_key).append("\r\n");
    out.append("anthropic-version: ").append(kAnthropicVersion).append("\r\n");
  } else if (d == Dialect::openai && !api_key.empty()) {
    out.append("Authorization: Bearer ").append(api_key).append("\r\n");
  }
  return out;
}

}  // namespace corral::api
