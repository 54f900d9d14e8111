// A backend's non-2xx answer in the error shape the client's SDK parses.
#include "corral/api/errors.h"
#include "corral/api/json.h"
#include "translate_codec.h"

namespace corral::api {
namespace detail {

std::string_view anthropic_error_name(std::string_view type) {
  for (std::string_view known :
       {"invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
        "request_too_large", "rate_limit_error", "timeout_error", "api_error", "overloaded_error"}) {
    if (type == known) return known;
  }
  return "api_error";
}

namespace {

// The message of any of the shapes backends use: Ollama {"error":"…"}, OpenAI
// {"error":{"message"}}, Anthropic {"error":{"message"}}, vLLM {"message"},
// FastAPI {"detail"}. Otherwise the status and the start of the body.
std::string error_message(int status, std::string_view body) {
  element root, error;
  if (json_parser().parse(body.data(), body.size()).get(root) == SUCCESS && root.is_object()) {
    std::string_view m;
    if (root["error"].get(error) == SUCCESS && (error.get(m) == SUCCESS || error["message"].get(m) == SUCCESS)) {
      return std::string(m);
    }
    if (root["message"].get(m) == SUCCESS || root["detail"].get(m) == SUCCESS) return std::string(m);
  }
  std::string m = "the backend answered " + std::to_string(status);
  std::string_view start = body.substr(0, 200);
  if (start.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    m.append(": ");
    for (char c : start) m.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  return m;
}

}  // namespace
}  // namespace detail

std::string translate_error(Dialect backend, Call client, int status, std::string_view body) {
  using namespace detail;
  if (dialect_of(client) == backend) return std::string(body);
  std::string message = error_message(status, body);
  std::string out;
  JsonWriter w(out);
  switch (dialect_of(client)) {
    case Dialect::ollama:
      w.begin_object().key("error").string(message).end_object();
      break;
    case Dialect::openai:
      w.begin_object().key("error").begin_object().key("message").string(message);
      w.key("type")
          .string(error_type(Dialect::openai, status))
          .key("param")
          .null()
          .key("code")
          .null()
          .end_object()
          .end_object();
      break;
    case Dialect::anthropic:
      w.begin_object().key("type").string("error").key("error").begin_object();
      w.key("type")
          .string(error_type(Dialect::anthropic, status))
          .key("message")
          .string(message)
          .end_object()
          .end_object();
      break;
  }
  return out;
}

}  // namespace corral::api
