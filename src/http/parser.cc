#include "corral/http/parser.h"

namespace corral::http {
namespace {
MessageParser* self(llhttp_t* p) { return static_cast<MessageParser*>(p->data); }

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos);
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
    x.on_message_complete = on_message_complete;
    return x;
  }();
  return &s;
}

MessageParser::MessageParser(Kind kind, Limits limits) : limits_(limits) {
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
  if (!m.count_head(n + 4)) return m.fail(431, "request header fields too large");
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
  std::string_view name = m.head_.name(m.head_.header_count() - 1);
  for (char c : name) {
    if (!is_tchar(c)) return m.fail(400, "malformed HTTP: invalid header name '" + std::string(name) + "'");
  }
  m.head_.end_header();
  return 0;
}

int MessageParser::on_headers_complete(llhttp_t* p) {
  MessageParser& m = *self(p);
  m.head_.set_start(llhttp_method_name(static_cast<llhttp_method_t>(p->method)), p->status_code, p->http_minor);
  m.has_length_ = (p->flags & F_CONTENT_LENGTH) != 0;
  m.length_ = m.has_length_ ? p->content_length : 0;
  if (m.has_length_ && m.length_ > m.limits_.max_body_bytes) return m.fail(413, "request body too large");
  m.head_done_ = true;
  return HPE_PAUSED;
}

int MessageParser::on_body(llhttp_t* p, const char* at, size_t n) {
  MessageParser& m = *self(p);
  m.body_bytes_ += n;
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
const char* MessageParser::bad_head_bytes(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    char c = p[i];
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
  prev_ = 0;
}

}  // namespace corral::http
