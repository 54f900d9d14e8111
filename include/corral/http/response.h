// Responses corral writes itself (errors, local endpoints), serialized whole.
#pragma once
#include <string>
#include <string_view>

namespace corral::http {

struct LocalResponse {
  int status = 200;
  std::string_view content_type = "application/json; charset=utf-8";
  std::string body;
  int retry_after = 0;             // seconds; 0 = no Retry-After header
  std::string_view extra_headers;  // whole "Name: value\r\n" lines, e.g. WWW-Authenticate
};

inline LocalResponse json_response(int status, std::string body) {
  LocalResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Serializes a complete response with Content-Length (head only when head_only).
void write_response(std::string& out, const LocalResponse& r, std::string_view request_id, bool close,
                    bool head_only = false);

}  // namespace corral::http
