#include "corral/auth/token.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "corral/core/openssl.h"

namespace corral::auth {

bool make_token(std::string& out, std::string& err) {
  if (!openssl::load(err)) return false;
  unsigned char raw[kTokenRandomBytes];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = std::string("getrandom: ") + std::strerror(errno);
      return false;
    }
    got += static_cast<size_t>(n);
  }
  unsigned char b64[(sizeof raw + 2) / 3 * 4 + 1];
  int len = EVP_EncodeBlock(b64, raw, static_cast<int>(sizeof raw));
  OPENSSL_cleanse(raw, sizeof raw);
  out.assign(kTokenPrefix);
  for (int i = 0; i < len && b64[i] != '='; ++i) {
    char c = static_cast<char>(b64[i]);
    out.push_back(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  OPENSSL_cleanse(b64, sizeof b64);
  return true;
}

bool well_formed(std::string_view token) {
  if (token.size() != kTokenLength || !token.starts_with(kTokenPrefix)) return false;
  for (char c : token.substr(kTokenPrefix.size())) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

namespace {

const EVP_MD* sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // once: an implicit fetch per digest takes locks
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

bool digests_available(std::string& err) {
  if (openssl::load(err)) return true;
  err = "auth: keys are kept as SHA-256 digests, and " + err;
  return false;
}

bool digest_of(std::string_view token, Digest& out) {
  std::string err;
  if (!openssl::load(err)) return false;
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = sha256();
  unsigned int len = 0;
  return md && ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), token.data(), token.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
}

// The key store's digests reach here without digest_of, so this loads OpenSSL too;
// without it nothing is equal (no key matches).
bool digest_equal(const Digest& a, const Digest& b) {
  std::string err;
  return openssl::load(err) && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) s.append({kHex[b >> 4], kHex[b & 15]});
  return s;
}

}  // namespace corral::auth
