#include "corral/api/errors.h"

#include "corral/api/json.h"

namespace corral::api {

// The one status -> type table of both APIs. Anthropic's are its errors reference and its
// SDK's ErrorObject (timeout_error, billing_error; "invalid_request_error ... for other 4XX
// status codes"); OpenAI's SDKs read only the status, the type is informational.
std::string_view error_type(Dialect d, int status) {
  if (d == Dialect::ollama) return {};
  bool anthropic = d == Dialect::anthropic;
  switch (status) {
    case 401:
      return "authentication_error";
    case 402:
      return anthropic ? "billing_error" : "invalid_request_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 408:
      return "timeout_error";
    case 413:
      return anthropic ? "request_too_large" : "invalid_request_error";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return anthropic ? "overloaded_error" : "server_error";
    case 504:
      return anthropic ? "timeout_error" : "server_error";
    default:
      if (status >= 400 && status < 500) return "invalid_request_error";
      return anthropic ? "api_error" : "server_error";
  }
}

// OpenAI's `code` is machine-readable for the two cases clients branch on (its API
// reference: invalid_api_key, rate_limit_exceeded); null otherwise, as OpenAI sends it.
std::string error_body(Dialect d, int status, std::string_view message, std::string_view type) {
  if (type.empty()) type = error_type(d, status);
  std::string out;
  out.reserve(message.size() + 64);
  switch (d) {
    case Dialect::ollama:
      out = "{\"error\":";
      append_json_string(out, message);
      out += "}";
      break;
    case Dialect::openai:
      out = "{\"error\":{\"message\":";
      append_json_string(out, message);
      out += ",\"type\":";
      append_json_string(out, type);
      out += ",\"param\":null,\"code\":";
      out += status == 401 ? "\"invalid_api_key\"" : status == 429 ? "\"rate_limit_exceeded\"" : "null";
      out += "}}";
      break;
    case Dialect::anthropic:
      out = "{\"type\":\"error\",\"error\":{\"type\":";
      append_json_string(out, type);
      out += ",\"message\":";
      append_json_string(out, message);
      out += "}}";
      break;
  }
  return out;
}

std::string model_not_found(Endpoint e, std::string_view model) {
  std::string m(model);
  if (e == kShow || e == kPush) return "model '" + m + "' not found";
  return "model \"" + m + "\" not found, try pulling it first";
}

}  // namespace corral::api
