#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "corral/transport/tls.h"
#include "tls_hooks.h"

namespace corral::transport {

void SslCtxFree::operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
void SslSessionFree::operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
void SslFree::operator()(SSL* s) const { SSL_free(s); }

std::string take_openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    const char* reason = ERR_reason_error_string(e);
    if (reason == nullptr) {
      ERR_error_string_n(e, buf, sizeof buf);
      reason = buf;
    }
    if (out.find(reason) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out;
}

namespace {

// Checked before OpenSSL reads the file, so a missing or unreadable one is named plainly.
bool readable(const char* what, const std::string& path, std::string& err) {
  if (::access(path.c_str(), R_OK) == 0) return true;
  err = std::string(what) + " " + path + ": " + std::strerror(errno);
  return false;
}

SslCtxPtr new_ctx(bool server, std::string& err) {
  if (!openssl::load(err)) {
    err = "TLS: " + err;
    return nullptr;
  }
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) {
    err = "TLS: cannot create a context: " + take_openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their record buffers (about 34 KiB) back to the allocator.
  // A write OpenSSL retries may come from a buffer that has grown meanwhile.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

// ALPN's wire form: each protocol prefixed by its length.
bool alpn_wire(const std::vector<std::string>& protocols, std::string& out, std::string& err) {
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      err = "TLS: ALPN protocol '" + p + "' must be 1 to 255 bytes";
      return false;
    }
    out += static_cast<char>(p.size());
    out += p;
  }
  return true;
}

bool load_trust(SSL_CTX* ctx, const TlsClientOptions& opts, std::string& err) {
  if (!opts.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return true;
  }
  if (!opts.ca_file.empty()) {
    if (!readable("TLS CA file", opts.ca_file, err)) return false;
    if (SSL_CTX_load_verify_locations(ctx, opts.ca_file.c_str(), nullptr) != 1) {
      err = "TLS CA file " + opts.ca_file + ": " + take_openssl_errors();
      return false;
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    err = "TLS: cannot load the system CA store: " + take_openssl_errors();
    return false;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return true;
}

// corral speaks HTTP/1.1 only: choose it when offered, else go on without ALPN
// (a client offering only h2 gets HTTP/1.1 rather than a handshake failure).
int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                  void*) {
  static const unsigned char kOurs[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kOurs, sizeof kOurs, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::shared_ptr<TlsClientContext> TlsClientContext::create(const TlsClientOptions& opts, std::string& err) {
  std::shared_ptr<TlsClientContext> c(new TlsClientContext(opts));
  c->ctx_ = new_ctx(false, err);
  if (!c->ctx_) return nullptr;
  SSL_CTX* ctx = c->ctx_.get();
  if (!load_trust(ctx, opts, err)) return nullptr;
  std::string alpn;
  if (!alpn_wire(opts.alpn, alpn, err)) return nullptr;
  if (!alpn.empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn.data()), alpn.size()) != 0) {
    err = "TLS: cannot set ALPN: " + take_openssl_errors();
    return nullptr;
  }
  // The session store is ours (keep_session/session_for): OpenSSL only reports new sessions.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, TlsHooks::new_session);
  return c;
}

void TlsClientContext::keep_session(std::string_view host, SSL_SESSION* s) {
  SslSessionPtr old;  // freed outside the lock
  std::lock_guard lock(mu_);
  old = std::move(session_);
  session_.reset(s);
  session_host_.assign(host);
}

// A copy each: the kept session is never touched by a connection (OpenSSL marks a
// connection's session unresumable when it ends without close_notify), so no thread
// writes what another one reads.
SslSessionPtr TlsClientContext::session_for(std::string_view host) {
  std::lock_guard lock(mu_);
  if (!session_ || host != session_host_) return nullptr;
  return SslSessionPtr(SSL_SESSION_dup(session_.get()));
}

void TlsClientContext::forget_session(std::string_view host) {
  SslSessionPtr old;
  std::lock_guard lock(mu_);
  if (host == session_host_) old = std::move(session_);
}

std::shared_ptr<TlsServerContext> TlsServerContext::create(const std::string& cert_file, const std::string& key_file,
                                                           std::string& err) {
  if (!readable("TLS certificate file", cert_file, err) || !readable("TLS key file", key_file, err)) return nullptr;
  std::shared_ptr<TlsServerContext> c(new TlsServerContext());
  c->ctx_ = new_ctx(true, err);
  if (!c->ctx_) return nullptr;
  SSL_CTX* ctx = c->ctx_.get();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    err = "TLS certificate file " + cert_file + ": " + take_openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    err = "TLS key file " + key_file + " (for " + cert_file + "): " + take_openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  // Resumption by ticket only (the keys live in this context): no per-session cache to grow.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return c;
}

}  // namespace corral::transport
