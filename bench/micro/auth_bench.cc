// Key micro benchmarks: a token checked against a table of 1,000 keys (shape
// check, SHA-256, hash lookup, constant-time confirm) as a worker does per
// request, an unknown token, the SHA-256 alone, and one admission with rpm,
// tpm and concurrency limits (taken and given back).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "corral/auth/table.h"

using namespace corral::auth;

namespace {

struct Keys {
  std::vector<std::string> tokens;
  std::shared_ptr<const KeyTable> table;

  explicit Keys(int n) {
    std::vector<Key> keys;
    for (int i = 0; i < n; ++i) {
      std::string t, err;
      make_token(t, err);
      Key k;
      k.name = "key-" + std::to_string(i);
      digest_of(t, k.digest);
      k.limits = {100000, 1ull << 40, 100000};
      tokens.push_back(t);
      keys.push_back(k);
    }
    table = KeyTable::build(std::move(keys), nullptr, 1);
  }
};

Keys& thousand() {
  static Keys k(1000);
  return k;
}

void BM_KeyLookup(benchmark::State& state) {
  Keys& k = thousand();
  size_t i = 0;
  for (auto _ : state) {
    Lookup l = k.table->find(k.tokens[i++ % k.tokens.size()], 0);
    benchmark::DoNotOptimize(l.entry);
  }
}
BENCHMARK(BM_KeyLookup);

void BM_KeyLookupUnknown(benchmark::State& state) {
  Keys& k = thousand();
  std::string t, err;
  make_token(t, err);
  for (auto _ : state) benchmark::DoNotOptimize(k.table->find(t, 0).verdict);
}
BENCHMARK(BM_KeyLookupUnknown);

void BM_TokenDigest(benchmark::State& state) {
  std::string t, err;
  make_token(t, err);
  Digest d;
  for (auto _ : state) {
    digest_of(t, d);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_TokenDigest);

void BM_AdmitAndFinish(benchmark::State& state) {
  const KeyEntry& e = thousand().table->entries()[0];
  int64_t now = 1'000'000'000;
  for (auto _ : state) {
    Admission a;
    Refusal why;
    now += 1000000;  // a request per simulated second keeps the windows open
    benchmark::DoNotOptimize(e.limiter.admit(now, a, why));
    a.finish(100, now);
  }
}
BENCHMARK(BM_AdmitAndFinish);

}  // namespace
