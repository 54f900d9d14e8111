#include "sim_http.h"

#include <cstdio>
#include <ctime>

#include "sim_json.h"

namespace sim {

const char* const kJson = "application/json; charset=utf-8";
const char* const kNdjson = "application/x-ndjson";
const char* const kSse = "text/event-stream";
const char* const kText = "text/plain; charset=utf-8";

Reply json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.content_type = kJson;
  r.body = std::move(body);
  return r;
}

Reply error_reply(int status, std::string_view message) {
  Json j;
  j.begin_object().str("error", message).end_object();
  return json_reply(status, j.take());
}

Reply text_reply(int status, const char* content_type, std::string body) {
  Reply r;
  r.status = status;
  if (content_type) r.content_type = content_type;
  r.body = std::move(body);
  return r;
}

const char* reason_phrase(int status) {
  switch (status) {
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
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
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
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
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
    default:
      return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
  }
}

bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

namespace {

// "Date:" value, cached per thread for the current second.
const std::string& http_date() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string value;
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    value = buf;
    cached_at = now;
  }
  return value;
}

}  // namespace

std::string response_head(int status, std::string_view content_type, int64_t content_length, bool close, bool chunked) {
  std::string h;
  h.reserve(160);
  h += "HTTP/1.1 ";
  h += std::to_string(status);
  h += ' ';
  h += reason_phrase(status);
  h += "\r\n";
  if (!content_type.empty()) {
    h += "Content-Type: ";
    h += content_type;
    h += "\r\n";
  }
  h += "Date: ";
  h += http_date();
  h += "\r\n";
  if (content_length >= 0) {
    if (status_has_body(status)) {
      h += "Content-Length: ";
      h += std::to_string(content_length);
      h += "\r\n";
    }
  } else if (chunked) {
    h += "Transfer-Encoding: chunked\r\n";
  }
  if (close) h += "Connection: close\r\n";
  h += "\r\n";
  return h;
}

}  // namespace sim
