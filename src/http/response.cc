#include "corral/http/response.h"

#include <cstdio>

#include "corral/http/rewrite.h"

namespace corral::http {

void json_escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
}

LocalResponse json_error(int status, std::string_view message) {
  LocalResponse r;
  r.status = status;
  r.body = "{\"error\":\"";
  json_escape(r.body, message);
  r.body += "\"}";
  return r;
}

LocalResponse openai_error(int status, std::string_view message, std::string_view type) {
  LocalResponse r;
  r.status = status;
  r.body = "{\"error\":{\"message\":\"";
  json_escape(r.body, message);
  r.body += "\",\"type\":\"";
  json_escape(r.body, type);
  r.body += "\",\"param\":null,\"code\":null}}";
  return r;
}

void write_response(std::string& out, const LocalResponse& r, std::string_view request_id, bool close,
                    bool head_only) {
  out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason_phrase(r.status));
  if (!r.content_type.empty()) out.append("\r\nContent-Type: ").append(r.content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(r.body.size()));
  if (!request_id.empty()) out.append("\r\nX-Request-Id: ").append(request_id);
  if (r.retry_after > 0) out.append("\r\nRetry-After: ").append(std::to_string(r.retry_after));
  if (close) out.append("\r\nConnection: close");
  out.append("\r\n\r\n");
  if (!head_only) out.append(r.body);
}

}  // namespace corral::http
