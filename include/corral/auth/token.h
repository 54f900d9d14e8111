// API tokens: how they are made, recognised and hashed. A token is "crl_"
// followed by 32 bytes from getrandom(2) in unpadded base64url (43 characters,
// 47 in all): the prefix makes a leaked token easy to find by secret scanners
// and in logs, base64url keeps it safe in headers, URLs and shell variables.
// Only the SHA-256 digest of a token is ever stored; a 256-bit random token
// needs no slow or salted hash, so one digest per request stays cheap.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corral::auth {

inline constexpr std::string_view kTokenPrefix = "crl_";
inline constexpr size_t kTokenRandomBytes = 32;
inline constexpr size_t kTokenLength = kTokenPrefix.size() + (kTokenRandomBytes * 4 + 2) / 3;  // 47

using Digest = std::array<uint8_t, 32>;

// A new token; false with err when the kernel gives no randomness.
bool make_token(std::string& out, std::string& err);

// The prefix, the length and the base64url alphabet: garbage is refused before it is hashed.
bool well_formed(std::string_view token);

// Loads what digests need (OpenSSL, opened on first need), once; false with err when it cannot.
bool digests_available(std::string& err);

// SHA-256 of the token (OpenSSL EVP, the digest fetched once and a context kept
// per thread: no allocation or lock after a thread's first call). False only
// when OpenSSL cannot be loaded or libcrypto has no SHA-256 at all.
bool digest_of(std::string_view token, Digest& out);

// Equal digests, in time that does not depend on where they differ (CRYPTO_memcmp).
bool digest_equal(const Digest& a, const Digest& b);

// Lower-case hex, for tests and diagnostics (a digest is not a secret, but is never logged either).
std::string hex(const Digest& d);

}  // namespace corral::auth
