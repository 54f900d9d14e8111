// The immutable key table workers check tokens against: built on the control
// thread from the store, published with a version number like the routing
// snapshot; a worker swaps its copy only when the version moved, so a request
// pays one atomic load, one SHA-256 and one hash lookup, with no lock or I/O.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "corral/auth/key.h"
#include "corral/auth/limits.h"
#include "corral/core/published.h"

namespace corral::auth {

struct KeyEntry {
  Key key;
  KeyLimiter limiter;
};

// What a token is: ok, or why it is refused (all of them 401s).
enum class Verdict : uint8_t { ok, malformed, unknown, revoked, expired };
// "invalid API key", "unknown API key", "API key revoked", "API key expired": never the token.
std::string_view verdict_message(Verdict v);

struct Lookup {
  Verdict verdict = Verdict::unknown;
  const KeyEntry* entry = nullptr;  // set for ok, revoked and expired (logs name the key)
};

class KeyTable {
 public:
  // previous: the table this one replaces (null at start); keys that stay keep their counters.
  static std::shared_ptr<const KeyTable> build(std::vector<Key> keys, const KeyTable* previous, uint64_t version);

  uint64_t version() const { return version_; }
  // Well-formedness first, then the digest looked up and confirmed in constant time.
  Lookup find(std::string_view token, int64_t now_unix_ms) const;
  const KeyEntry* by_name(std::string_view name) const;
  const std::vector<KeyEntry>& entries() const { return entries_; }

 private:
  struct DigestHash {
    size_t operator()(const Digest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof h);  // a digest's bytes are already uniform
      return h;
    }
  };
  struct DigestEqual {
    bool operator()(const Digest& a, const Digest& b) const { return digest_equal(a, b); }
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  uint64_t version_ = 0;
  std::vector<KeyEntry> entries_;
  std::unordered_map<Digest, uint32_t, DigestHash, DigestEqual> by_digest_;
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> by_name_;
};

// Where the current table lives (control thread publishes, workers read).
class KeyTableBox : public core::Published<const KeyTable> {
 public:
  void publish(std::shared_ptr<const KeyTable> t) {
    uint64_t v = t->version();
    Published::publish(std::move(t), v);
  }
  // A worker's copy, replaced only when the version moved: one acquire load per request otherwise.
  void refresh(std::shared_ptr<const KeyTable>& mine) const {
    if (!mine || mine->version() != version()) mine = get();
  }
};

}  // namespace corral::auth
