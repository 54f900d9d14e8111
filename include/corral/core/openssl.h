// OpenSSL, opened on first need: a proxy with neither TLS nor keys never maps libssl
// and libcrypto (their relocations and symbol tables are about 1.7 MiB resident at
// start). Only the sources that call OpenSSL include this, after the <openssl/...>
// headers they use; code in namespace corral then calls SSL_new(...) and the rest as
// usual and reaches the pointers below: ordinary lookup finds them before the global
// declarations, and a variable it finds turns argument-dependent lookup off. A function
// missing from the list fails the link, since nothing links libssl or libcrypto.
// Every pointer is null until load() succeeds; what needs OpenSSL calls load() first.
#pragma once
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

// Several names a line, as written (clang-format would make a call chain of it).
// clang-format off
#define CORRAL_OPENSSL_FUNCTIONS(X)                                                                                \
  X(BIO_clear_flags) X(BIO_get_data) X(BIO_get_new_index) X(BIO_meth_new) X(BIO_meth_set_ctrl)                     \
  X(BIO_meth_set_read) X(BIO_meth_set_write) X(BIO_new) X(BIO_set_data) X(BIO_set_flags) X(BIO_set_init)            \
  X(CRYPTO_memcmp) X(ERR_clear_error) X(ERR_error_string_n) X(ERR_get_error) X(ERR_peek_error)                     \
  X(ERR_reason_error_string) X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex2) X(EVP_DigestUpdate) X(EVP_EncodeBlock)    \
  X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_MD_fetch) X(OPENSSL_cleanse) X(SSL_CTX_check_private_key)             \
  X(SSL_CTX_ctrl) X(SSL_CTX_free) X(SSL_CTX_load_verify_locations) X(SSL_CTX_new) X(SSL_CTX_sess_set_new_cb)        \
  X(SSL_CTX_set_alpn_protos) X(SSL_CTX_set_alpn_select_cb) X(SSL_CTX_set_default_verify_paths)                     \
  X(SSL_CTX_set_options) X(SSL_CTX_set_verify) X(SSL_CTX_use_PrivateKey_file) X(SSL_CTX_use_certificate_chain_file) \
  X(SSL_SESSION_dup) X(SSL_SESSION_free) X(SSL_SESSION_is_resumable) X(SSL_ctrl) X(SSL_do_handshake) X(SSL_free)   \
  X(SSL_free_buffers) X(SSL_get0_alpn_selected) X(SSL_get0_param) X(SSL_get_error) X(SSL_get_ex_data)              \
  X(SSL_get_servername) X(SSL_get_shutdown) X(SSL_get_verify_result) X(SSL_new) X(SSL_read_ex)                     \
  X(SSL_select_next_proto) X(SSL_session_reused) X(SSL_set_accept_state) X(SSL_set_bio) X(SSL_set_connect_state)   \
  X(SSL_set_ex_data) X(SSL_set_session) X(SSL_shutdown) X(SSL_write_ex) X(TLS_client_method) X(TLS_server_method)  \
  X(X509_VERIFY_PARAM_set1_host) X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_VERIFY_PARAM_set_hostflags)               \
  X(X509_verify_cert_error_string)
// clang-format on

namespace corral::openssl {

#define CORRAL_OPENSSL_DECLARE(name) extern decltype(&::name) name;
CORRAL_OPENSSL_FUNCTIONS(CORRAL_OPENSSL_DECLARE)
#undef CORRAL_OPENSSL_DECLARE

// Opens libssl (and with it libcrypto) of the major version corral was built against,
// once, from any thread. false, with err naming the library and the reason, when it is
// not there or lacks a function; every later call answers the same.
bool load(std::string& err);

}  // namespace corral::openssl

namespace corral {
using namespace openssl;  // NOLINT: the point of this header (see the top)
}
