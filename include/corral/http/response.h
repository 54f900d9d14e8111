// Responses corral writes itself: errors in Ollama's {"error": "..."} shape and
// small local bodies.
#pragma once
#include <string>
#include <string_view>

namespace corral::http {

void json_escape(std::string& out, std::string_view s);

struct LocalResponse {
  int status = 200;
  std::string_view content_type = "application/json; charset=utf-8";
  std::string body;
  int retry_after = 0;  // seconds; 0 = no Retry-After header
};

// Serializes a complete response with Content-Length (head only when head_only).
void write_response(std::string& out, const LocalResponse& r, std::string_view request_id, bool close,
                    bool head_only = false);

LocalResponse json_error(int status, std::string_view message);
// OpenAI-compatible endpoints: {"error":{"message":…,"type":…,"param":null,"code":null}}
LocalResponse openai_error(int status, std::string_view message, std::string_view type);

}  // namespace corral::http
