// What the two TLS sources share and nobody else needs: OpenSSL's error queue as
// text, and the callbacks through which OpenSSL reaches back into an engine.
#pragma once
#include <string>

#include "corral/core/openssl.h"

namespace corral::transport {

// Empties this thread's OpenSSL error queue into "reason; reason" ("" when empty).
std::string take_openssl_errors();

struct TlsHooks {
  // The engine's BIO: reads take fed ciphertext, writes queue ciphertext to send.
  static BIO_METHOD* bio_method();
  static int bio_read(BIO* b, char* out, int len);
  static int bio_write(BIO* b, const char* in, int len);
  static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);
  // Client context's new-session callback: a resumable session (in TLS 1.3 a ticket,
  // which arrives after the handshake) for the engine's context to keep.
  static int new_session(SSL* ssl, SSL_SESSION* session);
};

}  // namespace corral::transport
