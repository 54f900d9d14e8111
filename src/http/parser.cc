#include "corral/http/parser.h"

#include <algorithm>

namespace corral::http {
namespace {
MessageParser* self(llhttp_t* p) { return static_cast<MessageParser*>(p->data); }

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_one_of(char c, std::string_view set) { return c != 0 && set.find(c) != std::string_view::npos; }

bool is_tchar(char c) { return is_alnum(c) || is_one_of(c, "!#$%&'*+-.^_`|~"); }
// RFC 3986 unreserved / sub-delims: what a reg-name is made of.
bool is_host_char(char c) { return is_alnum(c) || is_one_of(c, "-._~!$&'()*+,;="); }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §7.2: Host = uri-host [ ":" port ], uri-host = IP-literal / IPv4address / reg-name.
bool valid_host(std::string_view v) {
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : v.substr(1, close - 1)) {
      if (!is_host_char(c) && c != ':') return false;
    }
    v.remove_prefix(close + 1);
  } else {
    size_t end = std::min(v.find(':'), v.size());
    for (size_t i = 0; i < end; ++i) {
      if (v[i] == '%' && i + 2 < end && is_hex(v[i + 1]) && is_hex(v[i + 2])) i += 2;
      else if (!is_host_char(v[i])) return false;
    }
    v.remove_prefix(end);
  }
  if (v.empty()) return true;
  if (v.front() != ':') return false;
  for (char c : v.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// True when every coding in a Transfer-Encoding list is chunked (empty elements are ignored, RFC 9110 §5.6.1).
bool only_chunked(std::string_view list) {
  while (!list.empty()) {
    size_t comma = std::min(list.find(','), list.size());
    std::string_view coding = trim_ows(list.substr(0, comma));
    if (!coding.empty() && !iequals(coding, "chunked")) return false;
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
  return true;
}
}  // namespace

const llhttp_settings_t* MessageParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_url = on_url;
    x.on_header_field = on_field;
    x.on_header_value = on_value;
    x.on_header_value_complete = on_value_complete;
    x.on_headers_complete = on_headers_complete;
    x.on_body = on_body;
    x.on_chunk_header = on_chunk_header;
    x.on_chunk_complete = on_chunk_complete;
    x.on_message_complete = on_message_complete;
    return x;
  }();
  return &s;
}

MessageParser::MessageParser(Kind kind, Limits limits) : limits_(limits), kind_(kind) {
  llhttp_init(&p_, kind == Kind::request ? HTTP_REQUEST : HTTP_RESPONSE, settings());
  p_.data = this;
}

int MessageParser::fail(int status, std::string text) {
  error_status_ = status;
  error_text_ = std::move(text);
  return HPE_USER;
}

bool MessageParser::count_head(size_t n) {
  head_bytes_ += n;
  return head_bytes_ <= limits_.max_header_bytes;
}

int MessageParser::on_url(llhttp_t* p, const char* at, size_t n) {
  MessageParser& m = *self(p);
  if (!m.count_head(n)) return m.fail(431, "request header fields too large");
  m.head_.append_url(at, n);
  return 0;
}

int MessageParser::on_field(llhttp_t* p, const char* at, size_t n) {
  MessageParser& m = *self(p);
  if (!m.count_head(n)) return m.fail(431, "request header fields too large");
  m.head_.append_field(at, n);
  if (m.head_.header_count() > m.limits_.max_headers) return m.fail(431, "too many header fields");
  return 0;
}

int MessageParser::on_value(llhttp_t* p, const char* at, size_t n) {
  MessageParser& m = *self(p);
  if (!m.count_head(n)) return m.fail(431, "request header fields too large");
  m.head_.append_value(at, n);
  return 0;
}

int MessageParser::on_value_complete(llhttp_t* p) {
  MessageParser& m = *self(p);
  // ": " and CRLF, once per field line: counted per on_field call they made the limit depend on how the bytes
  // were cut (found by fuzz-http_parser).
  if (!m.count_head(4)) return m.fail(431, "request header fields too large");
  size_t last = m.head_.header_count() - 1;
  if (int err = m.check_field(m.head_.name(last), m.head_.value(last))) return err;
  m.head_.end_header();
  return 0;
}

// One complete field line: its name is a token (RFC 9112 §5.1, RFC 9110 §5.1: at
// least one tchar), Host and Transfer-Encoding lines are counted for the head checks.
int MessageParser::check_field(std::string_view name, std::string_view value) {
  if (name.empty()) return fail(400, "malformed HTTP: empty header field name");
  for (char c : name) {
    if (!is_tchar(c)) return fail(400, "malformed HTTP: invalid header name '" + std::string(name) + "'");
  }
  if (iequals(name, "host")) {
    ++host_lines_;
    if (kind_ == Kind::request && !valid_host(trim_ows(value))) return fail(400, "malformed HTTP: invalid Host header");
  } else if (iequals(name, "transfer-encoding")) {
    ++te_lines_;
    te_not_just_chunked_ = te_not_just_chunked_ || !only_chunked(value);
  }
  return 0;
}

// The checks on a whole request head that llhttp leaves to its user.
int MessageParser::check_request_head() {
  if (p_.http_major != 1) return fail(505, "HTTP version not supported: corral speaks HTTP/1.0 and HTTP/1.1");
  if (host_lines_ > 1) return fail(400, "malformed HTTP: more than one Host header");  // RFC 9112 §3.2
  if (host_lines_ == 0 && p_.http_minor == 1) return fail(400, "malformed HTTP: HTTP/1.1 request without Host");
  if (te_lines_ == 0) return 0;
  // RFC 9112 §6.1: faulty framing, whatever Content-Length says.
  if (p_.http_minor == 0) return fail(400, "malformed HTTP: Transfer-Encoding in an HTTP/1.0 request");
  // RFC 9112 §6.3 rule 4: the body length cannot be determined.
  if ((p_.flags & F_CHUNKED) == 0) return fail(400, "malformed HTTP: Transfer-Encoding does not end in chunked");
  // RFC 9112 §6.1: a coding the server does not understand (the body is forwarded and read as it is).
  if (te_not_just_chunked_) return fail(501, "transfer coding not implemented: only chunked is accepted");
  return 0;
}

int MessageParser::on_headers_complete(llhttp_t* p) {
  MessageParser& m = *self(p);
  m.head_.set_start(llhttp_method_name(static_cast<llhttp_method_t>(p->method)), p->status_code, p->http_minor);
  if (m.kind_ == Kind::request) {
    if (int err = m.check_request_head()) return err;
  } else {
    if (p->http_major != 1) return m.fail(400, "malformed HTTP: not an HTTP/1 response");
    m.framing_suspect_ = m.te_lines_ > 0 && p->http_minor == 0;  // RFC 9112 §6.1: relay it, then close
  }
  m.has_length_ = (p->flags & F_CONTENT_LENGTH) != 0;
  m.length_ = m.has_length_ ? p->content_length : 0;
  if (m.has_length_ && m.length_ > m.limits_.max_body_bytes) return m.fail(413, "request body too large");
  m.head_done_ = true;
  return HPE_PAUSED;
}

int MessageParser::on_chunk_header(llhttp_t* p) {
  self(p)->in_chunk_ = true;
  return 0;
}

int MessageParser::on_chunk_complete(llhttp_t* p) {
  self(p)->in_chunk_ = false;
  return 0;
}

int MessageParser::on_body(llhttp_t* p, const char* at, size_t n) {
  MessageParser& m = *self(p);
  m.body_bytes_ += n;
  if (n > 0) m.last_body_byte_ = at[n - 1];
  if (m.body_bytes_ > m.limits_.max_body_bytes) return m.fail(413, "request body too large");
  if (m.sink_) m.sink_->on_body(at, n);
  return 0;
}

int MessageParser::on_message_complete(llhttp_t* p) {
  self(p)->paused_ = true;
  return HPE_PAUSED;
}

// llhttp 8 accepts a bare LF as a line end and obs-fold continuation lines;
// strict HTTP/1.1 (and smuggling defence) does not, so head bytes are checked here.
// Empty lines before a request-line are skipped (RFC 9112 §2.2), CRLF or LF
// alone, up to max_header_bytes of them.
const char* MessageParser::bad_head_bytes(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    char c = p[i];
    if (!begun_ && kind_ == Kind::request && (c == '\r' || c == '\n')) {
      if (c == '\r' && prev_ == '\r') return "bare CR before the request-line";
      if (++blank_bytes_ > limits_.max_header_bytes) return "too many empty lines before the request-line";
      prev_ = c;
      continue;
    }
    if (!begun_) {
      if (prev_ == '\r') return "bare CR before the request-line";
      begun_ = true;
      prev_ = 0;
    }
    if (c == '\n' && prev_ != '\r') return "bare LF line ending";
    if (prev_ == '\n' && (c == ' ' || c == '\t')) return "obsolete header line folding";
    prev_ = c;
  }
  return nullptr;
}

MessageParser::Result MessageParser::error_result(llhttp_errno_t err, size_t n) {
  if (error_status_ == 0) {
    error_status_ = 400;
    error_text_ = std::string("malformed HTTP: ") + llhttp_errno_name(err) + " (" + llhttp_get_error_reason(&p_) + ")";
  }
  return {Status::error, n};
}

MessageParser::Result MessageParser::feed(const char* p, size_t n) {
  if (!p) p = "";  // nothing, as an empty string_view gives it: llhttp's data + len is undefined on null
  bool was_head = !head_done_;
  llhttp_errno_t err = llhttp_execute(&p_, p, n);
  size_t used = n;
  if (err == HPE_PAUSED) {
    used = static_cast<size_t>(llhttp_get_error_pos(&p_) - p);
    llhttp_resume(&p_);
  } else if (err != HPE_OK) {
    return error_result(err, n);
  }
  if (was_head) {
    if (const char* why = bad_head_bytes(p, head_done_ ? used : n)) {
      error_status_ = 400;
      error_text_ = std::string("malformed HTTP: ") + why;
      return {Status::error, n};
    }
  }
  if (paused_) {
    paused_ = false;
    return {Status::done, used};
  }
  if (was_head && head_done_) return {Status::head, used};
  return {Status::more, used};
}

MessageParser::Result MessageParser::finish() {
  llhttp_errno_t err = llhttp_finish(&p_);
  if (err != HPE_OK && err != HPE_PAUSED) return error_result(err, 0);
  if (paused_) {
    paused_ = false;
    return {Status::done, 0};
  }
  return {Status::more, 0};
}

void MessageParser::reset() {
  llhttp_reset(&p_);
  error_status_ = 0;
  error_text_.clear();
  next_message();
}

void MessageParser::skip_body() { p_.flags |= F_SKIPBODY; }

void MessageParser::next_message() {
  head_.clear();
  head_bytes_ = body_bytes_ = length_ = 0;
  has_length_ = head_done_ = paused_ = false;
  begun_ = framing_suspect_ = te_not_just_chunked_ = in_chunk_ = false;
  last_body_byte_ = 0;
  host_lines_ = te_lines_ = blank_bytes_ = 0;
  prev_ = 0;
}

}  // namespace corral::http
