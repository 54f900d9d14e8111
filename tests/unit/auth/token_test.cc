// Tokens: format, randomness length, the SHA-256 digest against the FIPS 180-2
// test vectors, and that digests are compared with CRYPTO_memcmp.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <atomic>
#include <set>

#include "corral/auth/table.h"
#include "corral/auth/token.h"
#include "corral/core/openssl.h"

using namespace corral::auth;

// corral reaches CRYPTO_memcmp through the pointer core/openssl resolves; this one
// counts the calls corral's code makes, then asks libcrypto's.
namespace {
std::atomic<int> memcmp_calls{0};
decltype(&::CRYPTO_memcmp) real_memcmp = nullptr;
int counting_memcmp(const void* a, const void* b, size_t len) {
  memcmp_calls.fetch_add(1);
  return real_memcmp(a, b, len);
}
// Before any test: OpenSSL loaded, and corral's pointer to CRYPTO_memcmp the counting one.
[[maybe_unused]] const bool counting = [] {
  std::string err;
  if (!corral::openssl::load(err)) return false;
  real_memcmp = corral::openssl::CRYPTO_memcmp;
  corral::openssl::CRYPTO_memcmp = counting_memcmp;
  return true;
}();
}  // namespace

namespace {

std::string make() {
  std::string t, err;
  EXPECT_TRUE(make_token(t, err)) << err;
  return t;
}

Digest digest(std::string_view s) {
  Digest d{};
  EXPECT_TRUE(digest_of(s, d));
  return d;
}

}  // namespace

TEST(KeysToken, HasThePrefixLengthAndAlphabet) {
  std::string t = make();
  EXPECT_EQ(t.substr(0, 4), "crl_");
  EXPECT_EQ(t.size(), 47u);
  const char* base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  EXPECT_EQ(t.find_first_not_of(base64url, 4), std::string::npos);
  EXPECT_TRUE(well_formed(t));
}

TEST(KeysToken, CarriesThirtyTwoRandomBytes) {
  std::string t = make();
  std::string b64 = t.substr(4);
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  b64 += '=';
  unsigned char raw[64];
  int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  EXPECT_EQ(n - 1, 32) << "EVP_DecodeBlock counts the padding byte";
  EXPECT_GE(kTokenRandomBytes, 32u);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(make());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(KeysToken, GarbageIsNotWellFormed) {
  std::string t = make();
  EXPECT_FALSE(well_formed(""));
  EXPECT_FALSE(well_formed("crl_"));
  EXPECT_FALSE(well_formed(t.substr(0, 46)));
  EXPECT_FALSE(well_formed(t + "A"));
  EXPECT_FALSE(well_formed("xrl_" + t.substr(4)));
  EXPECT_FALSE(well_formed("Bearer " + t.substr(7)));
  std::string bad = t;
  bad[20] = '+';
  EXPECT_FALSE(well_formed(bad));
  bad[20] = ' ';
  EXPECT_FALSE(well_formed(bad));
  bad[20] = '\0';
  EXPECT_FALSE(well_formed(bad));
}

TEST(KeysToken, Sha256KnownAnswers) {
  EXPECT_EQ(hex(digest("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(digest("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(KeysToken, DigestsCompareInConstantTime) {
  Digest a = digest("one"), b = digest("one"), c = digest("two");
  Digest last = a;
  last[31] ^= 1;
  int before = memcmp_calls.load();
  EXPECT_TRUE(digest_equal(a, b));
  EXPECT_FALSE(digest_equal(a, c));
  EXPECT_FALSE(digest_equal(a, last));
  EXPECT_EQ(memcmp_calls.load() - before, 3);
}

TEST(KeysToken, TableLookupConfirmsWithCryptoMemcmp) {
  std::string t = make();
  Key k;
  k.name = "alice";
  k.digest = digest(t);
  auto table = KeyTable::build({k}, nullptr, 1);
  int before = memcmp_calls.load();
  Lookup l = table->find(t, 0);
  ASSERT_EQ(l.verdict, Verdict::ok);
  EXPECT_GE(memcmp_calls.load() - before, 1) << "the digest found by hash must be confirmed by CRYPTO_memcmp";
}
