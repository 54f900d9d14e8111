#include "corral/auth/table.h"

namespace corral::auth {

std::string_view verdict_message(Verdict v) {
  switch (v) {
    case Verdict::ok:
      return "ok";
    case Verdict::malformed:
      return "invalid API key";
    case Verdict::revoked:
      return "API key revoked";
    case Verdict::expired:
      return "API key expired";
    case Verdict::unknown:
      break;
  }
  return "unknown API key";
}

std::shared_ptr<const KeyTable> KeyTable::build(std::vector<Key> keys, const KeyTable* previous, uint64_t version) {
  auto t = std::make_shared<KeyTable>();
  t->version_ = version;
  t->entries_.reserve(keys.size());
  t->by_digest_.reserve(keys.size());
  t->by_name_.reserve(keys.size());
  for (Key& k : keys) {
    const KeyEntry* before = previous ? previous->by_name(k.name) : nullptr;
    KeyLimiter limiter(k.limits, before ? &before->limiter : nullptr);
    if (t->by_name_.contains(k.name) || t->by_digest_.contains(k.digest)) continue;  // the store's keys are unique
    auto index = static_cast<uint32_t>(t->entries_.size());
    t->by_name_.emplace(k.name, index);
    t->by_digest_.emplace(k.digest, index);
    t->entries_.push_back({std::move(k), std::move(limiter)});
  }
  return t;
}

Lookup KeyTable::find(std::string_view token, int64_t now_unix_ms) const {
  Digest d;
  if (!well_formed(token)) return {Verdict::malformed, nullptr};
  if (!digest_of(token, d)) return {Verdict::unknown, nullptr};
  auto it = by_digest_.find(d);
  if (it == by_digest_.end()) return {Verdict::unknown, nullptr};
  const KeyEntry& e = entries_[it->second];
  if (e.key.state == KeyState::revoked) return {Verdict::revoked, &e};
  if (e.key.expired_at(now_unix_ms)) return {Verdict::expired, &e};
  return {Verdict::ok, &e};
}

const KeyEntry* KeyTable::by_name(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

}  // namespace corral::auth
