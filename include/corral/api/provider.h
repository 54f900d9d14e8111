// What a hosted provider needs on every request besides the body: its key in
// the header it reads, and Anthropic's API version.
#pragma once
#include <string>
#include <string_view>

#include "corral/api/endpoint.h"

namespace corral::api {

// The version corral speaks: it takes temperature and top_p, which later ones refuse.
inline constexpr std::string_view kAnthropicVersion = "2023-06-01";

// Whole "Name: value\r\n" lines: Authorization: Bearer KEY (openai), x-api-key +
// anthropic-version (anthropic); empty for Ollama or without a key.
std::string provider_headers(Dialect d, std::string_view api_key);

}  // namespace corral::api
