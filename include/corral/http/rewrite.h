// Header rewriting at the proxy boundary: hop-by-hop headers are dropped,
// forwarding headers added; everything else passes through in order.
#pragma once
#include <string>
#include <string_view>

#include "corral/http/head.h"

namespace corral::http {

// RFC 9110 7.6.1 hop-by-hop headers, plus any named in `Connection`.
// Transfer-Encoding and Content-Length stay: the body bytes pass verbatim.
bool is_hop_by_hop(const Head& h, std::string_view name);

struct ForwardInfo {
  std::string_view path_prefix_strip;  // e.g. "/proxy" for /proxy/api/*
  std::string_view upstream_host;      // Host header for the backend
  std::string_view client_ip;
  std::string_view request_id;
  bool drop_credentials = false;  // Authorization and x-api-key stay behind
  // A body corral wrote instead of the client's (a translation, an alias): a new
  // path, its own Content-Length and JSON type, and no compression asked for.
  std::string_view path_override;
  int64_t body_length = -1;
  bool identity_encoding = false;  // Accept-Encoding stays behind: corral reads the answer
  std::string_view extra_headers;  // whole "Name: value\r\n" lines added (a provider's key)
};

// "METHOD url HTTP/1.1" + filtered headers + X-Forwarded-* + X-Request-Id.
void build_upstream_request(const Head& h, const ForwardInfo& f, std::string& out);

// Status line + filtered response headers + X-Request-Id (+ Connection: close).
void build_client_response(const Head& h, std::string_view request_id, bool close, std::string& out);

std::string_view reason_phrase(int status);

// The client's X-Request-Id when it is sane (1..128 visible chars), else empty.
std::string_view usable_request_id(const Head& h);

}  // namespace corral::http
