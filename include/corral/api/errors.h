// Errors in each dialect's own shape, so a client's SDK raises the error it
// knows: Ollama {"error":"…"}, OpenAI {"error":{"message","type","param","code"}},
// Anthropic {"type":"error","error":{"type","message"}}.
#pragma once
#include <string>
#include <string_view>

#include "corral/api/endpoint.h"

namespace corral::api {

// The error type OpenAI or Anthropic use for an HTTP status (empty for Ollama).
std::string_view error_type(Dialect d, int status);

// The body of an error answer; type empty: error_type(d, status).
std::string error_body(Dialect d, int status, std::string_view message, std::string_view type = {});

// {"error":"message"}: Ollama's shape, also corral's own endpoints'.
inline std::string ollama_error(std::string_view message) { return error_body(Dialect::ollama, 0, message); }

// Ollama's own words for a model no backend has, as that endpoint says them.
std::string model_not_found(Endpoint e, std::string_view model);

}  // namespace corral::api
