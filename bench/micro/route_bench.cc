// Routing micro benchmarks: one routing decision (snapshot lookup, tiers, power
// of two choices, admission) for a fleet of 100 backends x 1,000 models, and
// the control thread's cost to build and publish such a snapshot.
#include <benchmark/benchmark.h>

#include <string>

#include "../../tests/support/members.h"
#include "corral/core/net.h"
#include "corral/route/picker.h"

using namespace corral;

namespace {

struct Fleet {
  config::Config cfg;
  route::BackendTable table;
  std::vector<route::MemberView> members;
  std::vector<std::string> names;

  Fleet(int backends, int models) {
    for (int m = 0; m < models; ++m) names.push_back("model-" + std::to_string(m) + ":latest");
    for (int b = 0; b < backends; ++b) {
      std::string err;
      config::BackendConfig bc;
      config::parse_backend_url("http://10.0." + std::to_string(b / 250) + "." + std::to_string(b % 250 + 1) + ":11434",
                                bc, err);
      bc.priority = 1 + b % 3;
      bc.max_concurrent = 1000000;
      route::MemberView v = test::healthy_member(table, bc);
      for (int m = 0; m < models; ++m) {
        v.models.push_back({names[m], int64_t(4) << 30});
        if ((m + b) % 10 == 0) v.loaded.push_back({names[m], int64_t(4) << 30, int64_t(4) << 30, ""});
      }
      members.push_back(std::move(v));
    }
  }
};

Fleet& fleet() {
  static Fleet f(100, 1000);
  return f;
}

}  // namespace

static void BM_PickBackend100x1000(benchmark::State& state) {
  Fleet& f = fleet();
  auto snap = route::build_snapshot(f.members, f.cfg, 1);
  route::SlotSet tried;
  route::PickRequest r;
  r.tried = &tried;
  uint64_t i = 0;
  for (auto _ : state) {
    r.model = f.names[i % f.names.size()];
    r.random = ++i * 0x9e3779b97f4a7c15ull;
    route::Pick p = route::pick(*snap, f.table, r);
    route::release(f.table[p.slot]);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_PickBackend100x1000);

static void BM_SnapshotBuildPublish100x1000(benchmark::State& state) {
  Fleet& f = fleet();
  route::SnapshotBox box;
  uint64_t v = 0;
  for (auto _ : state) box.publish(route::build_snapshot(f.members, f.cfg, ++v));
  state.SetLabel("per publish");
}
BENCHMARK(BM_SnapshotBuildPublish100x1000)->Unit(benchmark::kMillisecond);

static void BM_SnapshotRead(benchmark::State& state) {
  route::SnapshotBox box;
  box.publish(route::build_snapshot({}, fleet().cfg, 1));
  uint64_t seen = 0;
  for (auto _ : state) {
    uint64_t v = box.version();  // what a worker does per request
    if (v != seen) seen = v;
    benchmark::DoNotOptimize(seen);
  }
}
BENCHMARK(BM_SnapshotRead);
