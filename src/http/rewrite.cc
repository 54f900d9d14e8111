#include "corral/http/rewrite.h"

#include <array>

namespace corral::http {
namespace {
constexpr std::array<std::string_view, 9> kHopByHop = {
    "connection", "keep-alive",         "proxy-connection",    "te",    "trailer",
    "upgrade",    "proxy-authenticate", "proxy-authorization", "expect"};

void add_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}
}  // namespace

bool is_hop_by_hop(const Head& h, std::string_view name) {
  for (std::string_view hop : kHopByHop) {
    if (iequals(name, hop)) return true;
  }
  std::string_view conn = h.get("connection");
  return !conn.empty() && has_token(conn, name);
}

std::string_view usable_request_id(const Head& h) {
  std::string_view id = h.get("x-request-id");
  if (id.empty() || id.size() > 128) return {};
  for (char c : id) {
    if (c <= ' ' || c > '~') return {};
  }
  return id;
}

void build_upstream_request(const Head& h, const ForwardInfo& f, std::string& out) {
  std::string_view url = h.url();
  if (!f.path_prefix_strip.empty() && url.starts_with(f.path_prefix_strip))
    url.remove_prefix(f.path_prefix_strip.size());
  if (!f.path_override.empty()) url = f.path_override;
  bool new_body = f.body_length >= 0;
  out.append(h.method()).append(" ").append(url).append(" HTTP/1.1\r\n");
  std::string_view forwarded_for;
  std::string_view host;
  for (size_t i = 0; i < h.header_count(); ++i) {
    std::string_view n = h.name(i);
    if (is_hop_by_hop(h, n)) continue;
    if (iequals(n, "x-forwarded-for")) {
      forwarded_for = h.value(i);
      continue;
    }
    if (iequals(n, "host")) {
      host = h.value(i);
      continue;
    }
    if (iequals(n, "x-request-id") || iequals(n, "x-forwarded-proto") || iequals(n, "x-forwarded-host")) continue;
    if (f.drop_credentials && (iequals(n, "authorization") || iequals(n, "x-api-key"))) continue;
    if (new_body && (iequals(n, "content-length") || iequals(n, "transfer-encoding") || iequals(n, "content-type") ||
                     iequals(n, "anthropic-version") || iequals(n, "anthropic-beta"))) {
      continue;
    }
    if ((new_body || f.identity_encoding) && iequals(n, "accept-encoding")) continue;
    add_header(out, n, h.value(i));
  }
  if (new_body) {
    add_header(out, "Content-Type", "application/json");
    out.append("Content-Length: ").append(std::to_string(f.body_length)).append("\r\n");
  }
  add_header(out, "Host", f.upstream_host);
  if (!host.empty()) add_header(out, "X-Forwarded-Host", host);
  out.append("X-Forwarded-For: ");
  if (!forwarded_for.empty()) out.append(forwarded_for).append(", ");
  out.append(f.client_ip).append("\r\n");
  add_header(out, "X-Forwarded-Proto", "http");
  add_header(out, "X-Request-Id", f.request_id);
  out.append(f.extra_headers).append("\r\n");
}

void build_client_response(const Head& h, std::string_view request_id, bool close, std::string& out) {
  out.append("HTTP/1.1 ")
      .append(std::to_string(h.status()))
      .append(" ")
      .append(reason_phrase(h.status()))
      .append("\r\n");
  for (size_t i = 0; i < h.header_count(); ++i) {
    std::string_view n = h.name(i);
    if (is_hop_by_hop(h, n) || iequals(n, "x-request-id")) continue;
    add_header(out, n, h.value(i));
  }
  add_header(out, "X-Request-Id", request_id);
  if (close) add_header(out, "Connection", "close");
  out.append("\r\n");
}

std::string_view reason_phrase(int s) {
  switch (s) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace corral::http
