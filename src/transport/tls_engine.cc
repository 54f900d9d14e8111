#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "corral/transport/tls.h"
#include "tls_hooks.h"

namespace corral::transport {

namespace {

// Gives the memory back, not just the length: an idle connection holds no buffers.
void release(std::string& s) { std::string().swap(s); }

bool is_ip_literal(const std::string& host) {
  unsigned char addr[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

// Per-record growth of ciphertext over plaintext (header, AEAD tag, TLS 1.3 type byte),
// to size the output once per write.
constexpr size_t kRecordOverhead = 32;
constexpr size_t kMaxRecord = 16384;

}  // namespace

BIO_METHOD* TlsHooks::bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "corral-tls-engine");
    if (m != nullptr) {
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_ctrl(m, bio_ctrl);
    }
    return m;
  }();
  return method;
}

int TlsHooks::bio_read(BIO* b, char* out, int len) {
  auto* e = static_cast<TlsEngine*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  size_t avail = e->in_.size() - e->in_pos_;
  if (avail == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = std::min(avail, static_cast<size_t>(len));
  std::memcpy(out, e->in_.data() + e->in_pos_, n);
  e->in_pos_ += n;
  if (e->in_pos_ == e->in_.size()) {
    release(e->in_);
    e->in_pos_ = 0;
  }
  return static_cast<int>(n);
}

int TlsHooks::bio_write(BIO* b, const char* in, int len) {
  auto* e = static_cast<TlsEngine*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  e->out_back_.append(in, static_cast<size_t>(len));
  return len;
}

long TlsHooks::bio_ctrl(BIO* b, int cmd, long, void*) {
  auto* e = static_cast<TlsEngine*>(BIO_get_data(b));
  switch (cmd) {
    case BIO_CTRL_FLUSH:  // OpenSSL flushes after each handshake flight; the bytes are already queued
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(e->in_.size() - e->in_pos_);
    case BIO_CTRL_WPENDING:
      return static_cast<long>(e->out_front_.size() - e->out_pos_ + e->out_back_.size());
    default:
      return 0;
  }
}

int TlsHooks::new_session(SSL* ssl, SSL_SESSION* session) {
  auto* e = static_cast<TlsEngine*>(SSL_get_app_data(ssl));
  if (e == nullptr || !e->client_ctx_ || SSL_SESSION_is_resumable(session) != 1) return 0;
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) e->client_ctx_->keep_session(e->name_, copy);
  return 0;  // OpenSSL keeps its own reference: the connection goes on using it
}

TlsEngine::~TlsEngine() { ssl_.reset(); }

bool TlsEngine::attach(SSL_CTX* ctx) {
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx));
  BIO_METHOD* method = TlsHooks::bio_method();
  BIO* bio = ssl_ && method ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    ssl_.reset();
    return fail("TLS: cannot start a connection: " + take_openssl_errors());
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways; the SSL owns it
  SSL_set_app_data(ssl_.get(), this);
  return true;
}

std::unique_ptr<TlsEngine> TlsEngine::client(std::shared_ptr<TlsClientContext> ctx, std::string_view host) {
  std::unique_ptr<TlsEngine> e(new TlsEngine());
  e->client_ctx_ = std::move(ctx);
  const TlsClientOptions& opts = e->client_ctx_->options();
  e->name_ = strip_brackets(opts.server_name.empty() ? host : std::string_view(opts.server_name));
  if (!e->attach(e->client_ctx_->ctx_.get()) || !e->set_peer_name(opts.verify)) return e;
  if (SslSessionPtr s = e->client_ctx_->session_for(e->name_)) SSL_set_session(e->ssl_.get(), s.get());
  SSL_set_connect_state(e->ssl_.get());
  e->advance_handshake();  // queues the ClientHello
  return e;
}

// SNI for names (never for IP literals, RFC 6066), and the name or address the
// certificate must carry.
bool TlsEngine::set_peer_name(bool verify) {
  SSL* ssl = ssl_.get();
  bool ip = is_ip_literal(name_);
  if (!ip && !name_.empty() && SSL_set_tlsext_host_name(ssl, name_.c_str()) != 1) {
    return fail("TLS: cannot send server name " + name_ + ": " + take_openssl_errors());
  }
  if (!verify) return true;
  if (name_.empty()) return fail("TLS: no host name to check the certificate against");
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name_.c_str())
              : X509_VERIFY_PARAM_set1_host(param, name_.data(), name_.size());
  if (ok != 1) return fail("TLS: cannot check the certificate against " + name_ + ": " + take_openssl_errors());
  return true;
}

std::unique_ptr<TlsEngine> TlsEngine::server(std::shared_ptr<TlsServerContext> ctx) {
  std::unique_ptr<TlsEngine> e(new TlsEngine());
  e->server_ctx_ = std::move(ctx);
  if (e->attach(e->server_ctx_->ctx_.get())) SSL_set_accept_state(e->ssl_.get());
  return e;
}

bool TlsEngine::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  release(held_plain_);
  release(in_);
  in_pos_ = 0;
  return false;
}

// The connection ended in a fatal alert (sent or received): its session must not be
// resumed (RFC 5246 7.2.2), so the client context forgets the one it keeps for this host.
bool TlsEngine::fail_with_peer(std::string why) {
  if (client_ctx_) client_ctx_->forget_session(name_);
  return fail(std::move(why));
}

std::string TlsEngine::handshake_error(int ssl_error) {
  unsigned long first = ERR_peek_error();
  std::string reasons = take_openssl_errors();
  // The two mistakes operators make most: plain HTTP to the TLS port, TLS to a plain port.
  if (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_HTTP_REQUEST) {
    return "TLS handshake failed: the client sent plain HTTP";
  }
  if (client_ctx_ && ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_WRONG_VERSION_NUMBER) {
    return "TLS handshake failed: wrong version number (does " + name_ + " speak TLS on this port?)";
  }
  if (client_ctx_ && client_ctx_->options().verify) {
    long result = SSL_get_verify_result(ssl_.get());
    if (result != X509_V_OK) {
      return std::string("TLS verification failed: ") + X509_verify_cert_error_string(result) + " (expected " + name_ +
             ")";
    }
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return "TLS handshake failed: the peer closed the connection";
  if (reasons.empty()) reasons = "OpenSSL error " + std::to_string(ssl_error);
  return "TLS handshake failed: " + reasons;
}

bool TlsEngine::advance_handshake() {
  ERR_clear_error();  // the queue is per thread: another engine's leftovers would be misread as ours
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    handshake_done_ = true;
    return send_held_plain();
  }
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
  return fail_with_peer(handshake_error(err));
}

TlsEngine::Io TlsEngine::encrypt(const char* p, size_t n) {
  out_back_.reserve(out_back_.size() + n + (n / kMaxRecord + 1) * kRecordOverhead);
  ERR_clear_error();
  size_t written = 0;
  int rc = SSL_write_ex(ssl_.get(), p, n, &written);  // all of it: partial writes are not enabled
  if (rc == 1) return Io::done;
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Io::again;
  std::string reasons = take_openssl_errors();
  fail("TLS write failed: " + (reasons.empty() ? "OpenSSL error " + std::to_string(err) : reasons));
  return Io::failed;
}

// Plaintext held back (written before the handshake completed, or refused until
// OpenSSL has read something) goes out now, in order, before anything newer.
bool TlsEngine::send_held_plain() {
  if (held_plain_.empty()) return true;
  Io r = encrypt(held_plain_.data(), held_plain_.size());
  if (r == Io::done) release(held_plain_);
  return r != Io::failed;
}

bool TlsEngine::feed_cipher(const char* p, size_t n) {
  if (failed_) return false;
  if (n == 0) return true;
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(p, n);
  if (!handshake_done_) return advance_handshake();
  return send_held_plain();
}

size_t TlsEngine::read_plain(char* out, size_t cap) {
  if (failed_ || !handshake_done_ || peer_closed_) return 0;
  size_t total = 0;
  while (total < cap) {  // one record per SSL_read_ex: fill the caller's buffer
    size_t got = 0;
    ERR_clear_error();
    int rc = SSL_read_ex(ssl_.get(), out + total, cap - total, &got);
    if (rc == 1) {
      total += got;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ) {
      // Looking for the next record header allocated a 16 KiB read buffer that
      // SSL_MODE_RELEASE_BUFFERS keeps while idle; free it unless a record is half in.
      SSL_free_buffers(ssl_.get());
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
    } else if (err != SSL_ERROR_WANT_WRITE) {
      std::string reasons = take_openssl_errors();
      fail_with_peer("TLS read failed: " + (reasons.empty() ? "OpenSSL error " + std::to_string(err) : reasons));
    }
    break;
  }
  if (!failed_) send_held_plain();
  return total;
}

bool TlsEngine::write_plain(const char* p, size_t n) {
  if (failed_) return false;
  if (n == 0) return true;
  if (!handshake_done_ || !held_plain_.empty()) {
    held_plain_.append(p, n);
    return handshake_done_ ? send_held_plain() : true;
  }
  Io r = encrypt(p, n);
  if (r == Io::again) held_plain_.assign(p, n);  // retried from here, same bytes first (as OpenSSL requires)
  return r != Io::failed;
}

std::string_view TlsEngine::pending_cipher() {
  if (out_front_.empty() && !out_back_.empty()) out_front_.swap(out_back_);
  return std::string_view(out_front_).substr(out_pos_);
}

void TlsEngine::consume_cipher(size_t n) {
  out_pos_ = std::min(out_front_.size(), out_pos_ + n);
  if (out_pos_ < out_front_.size()) return;
  out_pos_ = 0;
  if (out_back_.empty()) {  // all sent: give both buffers back
    release(out_front_);
    release(out_back_);
  } else {
    out_front_.clear();  // more queued: keep the capacity for the next swap
  }
}

void TlsEngine::shutdown() {
  release(held_plain_);
  if (failed_ || !handshake_done_ || (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // queues close_notify; the peer's is seen by read_plain
  ERR_clear_error();
}

bool TlsEngine::session_reused() const { return ssl_ && SSL_session_reused(ssl_.get()) == 1; }

std::string_view TlsEngine::alpn() const {
  if (!ssl_) return {};
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return {reinterpret_cast<const char*>(data), len};
}

std::string_view TlsEngine::server_name() const {
  if (!ssl_ || !server_ctx_) return {};
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? std::string_view(name) : std::string_view();
}

}  // namespace corral::transport
