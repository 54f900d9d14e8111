// TLS for corral's non-blocking loops: OpenSSL driven through in-memory buffers.
// The loop moves ciphertext between a socket and a TlsEngine; the engine turns it
// into plaintext and back and never touches a socket, so it runs the same over
// io_uring, epoll or a test's in-memory pump. Contexts are built once (config load,
// SIGHUP reload) and shared by every worker; an engine belongs to one connection
// on one thread. Errors are text, never exceptions.
#pragma once
#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// types.h names SSL and SSL_CTX; ssl.h (not needed by users of this header) names this one.
typedef struct ssl_session_st SSL_SESSION;

namespace corral::transport {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const;
};
struct SslSessionFree {
  void operator()(SSL_SESSION* s) const;
};
struct SslFree {
  void operator()(SSL* s) const;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

struct TlsClientOptions {
  std::string ca_file;      // PEM bundle to trust; empty: the system store
  bool verify = true;       // false: neither the certificate nor the name is checked (SNI is still sent)
  std::string server_name;  // SNI and the name checked; empty: the host given to TlsEngine::client
  std::vector<std::string> alpn = {"http/1.1"};  // protocols offered; empty: no ALPN extension
};

// One per configured TLS backend. TLS 1.2+, OpenSSL's default ciphers. Keeps the
// newest resumable session (a TLS 1.3 ticket or a TLS 1.2 session) of the last host
// it connected to and offers it to the next engine for that host; a connection
// that fails drops it (RFC 5246: no resuming what ended in a fatal alert).
class TlsClientContext {
 public:
  static std::shared_ptr<TlsClientContext> create(const TlsClientOptions& opts, std::string& err);
  const TlsClientOptions& options() const { return opts_; }

 private:
  friend class TlsEngine;
  friend struct TlsHooks;
  explicit TlsClientContext(const TlsClientOptions& opts) : opts_(opts) {}
  void keep_session(std::string_view host, SSL_SESSION* s);  // takes s's reference
  SslSessionPtr session_for(std::string_view host);          // a copy of the kept one, or null
  void forget_session(std::string_view host);                // after a failed connection to host

  TlsClientOptions opts_;
  SslCtxPtr ctx_;
  std::mutex mu_;  // guards the two below: engines on every worker hand in and take sessions
  std::string session_host_;
  SslSessionPtr session_;
};

// The TLS front door: certificate (PEM, chain allowed) and key, ALPN http/1.1 when the
// client offers it. Reload = create a new one; engines keep the one they started with.
class TlsServerContext {
 public:
  static std::shared_ptr<TlsServerContext> create(const std::string& cert_file, const std::string& key_file,
                                                  std::string& err);

 private:
  friend class TlsEngine;
  TlsServerContext() = default;
  SslCtxPtr ctx_;
};

// One TLS connection. Feed it what the socket received, send what pending_cipher()
// holds, and check pending_cipher() after every call: handshake records, tickets,
// key updates and alerts appear as a side effect of feed_cipher, read_plain,
// write_plain and shutdown (and of client(), which queues the ClientHello).
class TlsEngine {
 public:
  // ctx must not be null. Never returns null: an engine that cannot start is failed()
  // with error() saying why. host is the name (or IP literal, brackets allowed) the
  // certificate must match, unless the context's options name another.
  static std::unique_ptr<TlsEngine> client(std::shared_ptr<TlsClientContext> ctx, std::string_view host);
  static std::unique_ptr<TlsEngine> server(std::shared_ptr<TlsServerContext> ctx);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // Ciphertext received from the socket (copied). Drives the handshake. false on a
  // fatal TLS error (error() says why; pending_cipher() may hold an alert to send).
  bool feed_cipher(const char* p, size_t n);
  // Decrypted bytes, up to cap; 0 when none can be had now. Call until it returns 0:
  // then check peer_closed() and failed(). A socket EOF before peer_closed() is a
  // truncated stream; telling that apart is the caller's part.
  size_t read_plain(char* out, size_t cap);
  // Plaintext to send (copied); held until the handshake completes. false on fatal error.
  bool write_plain(const char* p, size_t n);
  // Ciphertext to send. The view stays valid until consume_cipher() has consumed all
  // of it, whatever else is called meanwhile (new ciphertext queues behind it), so it
  // can be the buffer of a send in flight. Empty: nothing to send.
  std::string_view pending_cipher();
  void consume_cipher(size_t n);
  // Queues close_notify (once, after the handshake). Plaintext not yet sent is dropped;
  // write_plain fails from here on.
  void shutdown();

  bool handshake_done() const { return handshake_done_; }
  bool peer_closed() const { return peer_closed_; }  // close_notify received
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  bool session_reused() const;
  std::string_view alpn() const;         // negotiated protocol, empty: none
  std::string_view server_name() const;  // server engine: the SNI the client sent, empty: none

 private:
  friend struct TlsHooks;  // OpenSSL's callbacks (BIO, new session) reach the engine through it
  enum class Io { done, again, failed };
  TlsEngine() = default;
  bool attach(SSL_CTX* ctx);
  bool set_peer_name(bool verify);
  bool advance_handshake();
  Io encrypt(const char* p, size_t n);
  bool send_held_plain();
  bool fail(std::string why);
  bool fail_with_peer(std::string why);
  std::string handshake_error(int ssl_error);

  SslPtr ssl_;
  std::shared_ptr<TlsClientContext> client_ctx_;
  std::shared_ptr<TlsServerContext> server_ctx_;
  std::string name_;  // client: what the certificate must match, the session key
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  std::string error_;

  std::string in_;  // fed ciphertext OpenSSL has not read yet, from in_pos_
  size_t in_pos_ = 0;
  std::string out_front_;  // what pending_cipher() returns, from out_pos_
  size_t out_pos_ = 0;
  std::string out_back_;    // ciphertext produced while out_front_ is being sent
  std::string held_plain_;  // written before the handshake completed (or refused until a read)
};

}  // namespace corral::transport
