#include "corral/http/response.h"

#include "corral/http/rewrite.h"

namespace corral::http {

void write_response(std::string& out, const LocalResponse& r, std::string_view request_id, bool close, bool head_only) {
  out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason_phrase(r.status));
  if (!r.content_type.empty()) out.append("\r\nContent-Type: ").append(r.content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(r.body.size()));
  if (!request_id.empty()) out.append("\r\nX-Request-Id: ").append(request_id);
  if (r.retry_after > 0) out.append("\r\nRetry-After: ").append(std::to_string(r.retry_after));
  if (close) out.append("\r\nConnection: close");
  out.append("\r\n").append(r.extra_headers).append("\r\n");
  if (!head_only) out.append(r.body);
}

}  // namespace corral::http
