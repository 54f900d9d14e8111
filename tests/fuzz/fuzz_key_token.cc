// A request head's credential headers (Authorization: Bearer …, x-api-key: …,
// any others the input adds) through auth::credential, the key table lookup
// and auth::check against a table of an active, an admin, a revoked, an
// expired and a rate-limited key. Invariants: the credential is a header's
// value (or its Bearer part); the verdict is the table's for exactly that
// token (ok only for an active key's token, malformed for what is not shaped
// like a token); a request is admitted only with an active key allowed to do
// what was asked; no message names a token-shaped credential.
#include <string>
#include <vector>

#include "corral/auth/gate.h"
#include "corral/http/parser.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

namespace {

constexpr int64_t kNowMs = 1'733'000'000'000;

// Tokens of the table's keys, in the seeds and the dictionary so the fuzzer reaches them.
struct Known {
  const char* name;
  const char* token;
  bool admin;
  auth::KeyState state;
  int64_t expires_ms;
  uint32_t rpm;
  uint32_t concurrency = 0;
};
constexpr Known kKeys[] = {
    {"user", "crl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false, auth::KeyState::active, 0, 0},
    {"admin", "crl_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", true, auth::KeyState::active, 0, 0, 4},
    {"gone", "crl_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", false, auth::KeyState::revoked, 0, 0},
    {"old", "crl_DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD", false, auth::KeyState::active, kNowMs - 1, 0},
    {"slow", "crl_EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE", false, auth::KeyState::active, 0, 1},
};

std::shared_ptr<const auth::KeyTable> table() {
  std::vector<auth::Key> keys;
  for (const Known& k : kKeys) {
    auth::Key key;
    key.name = k.name;
    if (!auth::digest_of(k.token, key.digest)) broken("no SHA-256");
    key.admin = k.admin;
    key.state = k.state;
    key.expires_ms = k.expires_ms;
    key.limits.rpm = k.rpm;
    key.limits.concurrency = k.concurrency;
    keys.push_back(std::move(key));
  }
  return auth::KeyTable::build(std::move(keys), nullptr, 1);
}

const Known* known(std::string_view token) {
  for (const Known& k : kKeys) {
    if (token == k.token) return &k;
  }
  return nullptr;
}

bool within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

auth::Verdict expected_verdict(std::string_view token) {
  const Known* k = known(token);
  if (!k) return auth::well_formed(token) ? auth::Verdict::unknown : auth::Verdict::malformed;
  if (k->state == auth::KeyState::revoked) return auth::Verdict::revoked;
  if (k->expires_ms && kNowMs >= k->expires_ms) return auth::Verdict::expired;
  return auth::Verdict::ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  std::string raw = "GET /api/tags HTTP/1.1\r\nHost: corral\r\n";
  raw.append(in.stream).append("\r\n\r\n");
  http::MessageParser m(http::MessageParser::Kind::request, http::Limits{});
  if (m.feed(raw.data(), raw.size()).status != http::MessageParser::Status::head) return 0;
  const http::Head& h = m.head();
  std::string_view token = auth::credential(h);
  bool from_header = false;
  for (size_t i = 0; i < h.header_count(); ++i) from_header = from_header || within(token, h.value(i));
  if (!token.empty() && !from_header) broken("a credential that is no header's value", token);

  auto t = table();
  auth::Lookup l = t->find(token, kNowMs);
  if (l.verdict != expected_verdict(token)) broken("the table's verdict is not the one for this token", token);
  if ((l.entry != nullptr) != (known(token) != nullptr)) broken("a lookup names a key it should not");
  if (l.entry && l.entry->key.name != known(token)->name) broken("a token found another key");

  auto need = static_cast<auth::Access>(in.options % 3);
  for (int round = 0; round < 2; ++round) {  // twice: the rate-limited key's second request is refused
    auth::Decision d = auth::check(*t, h, need, kNowMs, 1'000'000 + round);
    if (auth::well_formed(token) && d.message.find(token) != std::string::npos) broken("a message names the token");
    if (d.denial == auth::Denial::none) {
      if (l.verdict != auth::Verdict::ok) broken("admitted without an active key", token);
      if (need == auth::Access::admin && !l.entry->key.admin) broken("admin access without an admin key");
      const auth::KeyLimits& lim = l.entry->key.limits;
      bool holds = lim.concurrency != 0 || lim.tpm != 0;  // only these limits need the request held
      if (bool(d.admission) != holds) broken(holds ? "admitted without a concurrency slot" : "a slot no limit needs");
      if (round == 1 && l.entry->key.limits.rpm == 1) broken("rpm 1 admitted twice in a minute");
    } else if (d.message.empty()) {
      broken("a refusal without a message");
    }
  }
  return 0;
}
