// Routing decisions on hand-built snapshots: tiers, memory, assignment,
// admission, circuit, failover exclusions; parsing discovery answers.
#include <gtest/gtest.h>

#include <set>

#include "../../support/members.h"

#include "corral/route/discovery.h"
#include "corral/route/picker.h"

using namespace corral;
using route::PickStatus;

namespace {

struct Fleet {
  config::Config cfg;
  route::BackendTable table;
  std::vector<route::MemberView> members;

  // models: "name=GB[:loaded]" comma list.
  route::MemberView& add(const std::string& name, std::vector<std::pair<std::string, double>> models,
                         std::vector<std::string> loaded = {}, uint32_t priority = 1) {
    std::string err;
    config::BackendConfig bc;
    config::parse_backend_url("http://127.0.0.1:" + std::to_string(20000 + members.size()), bc, err);
    bc.name = name;
    bc.priority = priority;
    route::MemberView v = test::healthy_member(table, bc);
    for (auto& [m, gb] : models) v.models.push_back({m, static_cast<int64_t>(gb * 1e9)});
    for (auto& m : loaded) v.loaded.push_back({m, 0, 0, ""});
    members.push_back(v);
    return members.back();
  }
  route::Pick pick(const std::string& model, const route::SlotSet* tried = nullptr, uint64_t rnd = 1,
                   uint64_t now_ms = 1000) {
    auto s = route::build_snapshot(members, cfg, 1);
    route::PickRequest r;
    r.model = model;
    r.tried = tried;
    r.random = rnd;
    r.now_ms = now_ms;
    route::Pick p = route::pick(*s, table, r);
    if (p.status == PickStatus::ok) route::release(table[p.slot]);
    return p;
  }
};

}  // namespace

TEST(Route, PresenceLoadedPriorityAndNotFound) {
  Fleet f;
  f.add("a", {{"m:latest", 1}}, {}, 1);
  f.add("b", {{"m:latest", 1}}, {"m:latest"}, 5);
  f.add("c", {{"x:latest", 1}}, {}, 0);
  EXPECT_EQ(f.pick("m").slot, 1);  // loaded beats priority; bare name finds ":latest"
  EXPECT_EQ(f.pick("m:latest").slot, 1);
  EXPECT_EQ(f.pick("x").slot, 2);
  EXPECT_EQ(f.pick("nope").status, PickStatus::not_found);
  route::SlotSet tried;
  tried.set(1);
  EXPECT_EQ(f.pick("m", &tried).slot, 0);  // failover skips what was tried
  tried.set(0);
  EXPECT_EQ(f.pick("m", &tried).status, PickStatus::unavailable);
}

// The ablation switches bench/fleet turns off one at a time.
TEST(Route, PreferLoadedAndBalanceCanBeTurnedOff) {
  Fleet f;
  f.add("a", {{"m:latest", 1}}, {"m:latest"}, 2);
  f.add("b", {{"m:latest", 1}}, {}, 1).cfg.max_memory_gb = 8;
  EXPECT_EQ(f.pick("m").slot, 0);  // loaded beats priority
  f.cfg.routing.prefer_loaded = false;
  EXPECT_EQ(f.pick("m").slot, 1);  // loaded is as good as room for it: priority decides

  Fleet g;
  g.add("busy", {{"m:latest", 1}}, {"m:latest"});
  g.add("idle", {{"m:latest", 1}}, {"m:latest"});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(route::try_admit(g.table[0], 0));
  std::set<int> picked;
  for (uint64_t rnd = 1; rnd <= 32; ++rnd) picked.insert(g.pick("m", nullptr, rnd).slot);
  EXPECT_EQ(picked, std::set<int>{1});  // least outstanding: always the idle one
  g.cfg.routing.balance_random = true;
  picked.clear();
  for (uint64_t rnd = 1; rnd <= 32; ++rnd) picked.insert(g.pick("m", nullptr, rnd).slot);
  EXPECT_EQ(picked, (std::set<int>{0, 1}));
}

TEST(Route, RoomBesideTheLoadedModelsBeatsMakingRoom) {
  Fleet f;
  route::MemberView& full = f.add("full", {{"m:latest", 4}, {"big:latest", 6}}, {"big:latest"}, 1);
  full.cfg.max_memory_gb = 8;
  full.loaded[0].size_vram = 6000000000;
  f.add("free", {{"m:latest", 4}}, {}, 2).cfg.max_memory_gb = 8;
  EXPECT_EQ(f.pick("m").slot, 1);  // 4 GB fit beside nothing, not beside 6 GB: priority comes after
  f.members[0].loaded.clear();
  route::forget_loading(f.table[1], "m:latest");  // (the control thread, once /api/ps lists it on "free")
  EXPECT_EQ(f.pick("m").slot, 0);
  route::forget_loading(f.table[0], "m");
  f.members[0].cfg.max_loaded_models = 1;
  f.members[0].loaded.push_back({"tiny:latest", 1000, 1000, ""});
  EXPECT_EQ(f.pick("m").slot, 1);  // memory to spare, but as many models as it holds
}

// A model sent to a member that did not have it loaded is loading there: the
// requests that follow go there too, until its /api/ps lists it or kLoadingMs pass.
TEST(Route, RequestsFollowAModelThatIsLoading) {
  Fleet f;
  for (const char* n : {"a", "b", "c"}) f.add(n, {{"m:latest", 1}, {"n:latest", 1}});
  route::Pick first = f.pick("m", nullptr, 7, 1000);
  ASSERT_EQ(first.status, PickStatus::ok);
  EXPECT_TRUE(first.cold);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(route::try_admit(f.table[first.slot], 0));  // busiest, yet followed
  for (uint64_t rnd = 1; rnd <= 16; ++rnd) {
    route::Pick p = f.pick("m:latest", nullptr, rnd, 60000);  // the tagged name is the same model
    EXPECT_EQ(p.slot, first.slot);
    EXPECT_FALSE(p.cold);
  }
  EXPECT_NE(f.pick("n", nullptr, 1, 60000).slot, first.slot);                     // other models are not
  EXPECT_NE(f.pick("m", nullptr, 1, 1000 + route::kLoadingMs).slot, first.slot);  // too long ago: not followed
  for (size_t i = 0; i < 3; ++i) {
    route::forget_loading(f.table[i], "m");
    route::forget_loading(f.table[i], "n");
  }
  f.cfg.routing.prefer_loaded = false;
  route::Pick again = f.pick("m", nullptr, 7, 2000);
  ASSERT_TRUE(route::try_admit(f.table[again.slot], 0));
  EXPECT_NE(f.pick("m", nullptr, 7, 2000).slot, again.slot);  // without loaded-model preference: not followed
}

// While one member runs the model, a second copy goes only where it fits
// beside what is loaded, never where another model would be unloaded for it.
TEST(Route, ASecondCopyNeverUnloadsAnotherModel) {
  Fleet f;
  route::MemberView& a = f.add("a", {{"m:latest", 4}}, {"m:latest"});
  a.cfg.max_memory_gb = 8;
  a.cfg.max_concurrent = 1;
  route::MemberView& b = f.add("b", {{"m:latest", 4}, {"big:latest", 6}}, {"big:latest"});
  b.cfg.max_memory_gb = 8;
  b.loaded[0].size_vram = 6000000000;
  auto s = route::build_snapshot(f.members, f.cfg, 1);
  route::PickRequest r;
  r.model = "m";
  r.now_ms = 1000;
  route::Pick first = route::pick(*s, f.table, r);
  EXPECT_EQ(first.slot, 0);
  EXPECT_FALSE(first.cold);  // loaded there
  route::Pick second = route::pick(*s, f.table, r);
  EXPECT_EQ(second.status, PickStatus::busy);  // a is full; b would have to unload big: wait
  f.members[1].loaded.clear();
  s = route::build_snapshot(f.members, f.cfg, 2);
  route::Pick third = route::pick(*s, f.table, r);
  EXPECT_EQ(third.slot, 1);  // room on b now: a second copy loads there
  EXPECT_TRUE(third.cold);
}

// Among members with room: the tightest fit (big holes stay for big models);
// among members that must make room: the least to unload.
TEST(Route, BestFitThenLeastToUnload) {
  Fleet f;
  f.add("small", {{"m:latest", 4}}).cfg.max_memory_gb = 8;
  f.add("large", {{"m:latest", 4}}).cfg.max_memory_gb = 24;
  auto forget = [&] {  // what the control thread's next /api/ps round would make of the last pick
    for (size_t i = 0; i < 2; ++i) {
      route::forget_loading(f.table[i], "m");
      f.table[i].placed_version = 0;
    }
  };
  EXPECT_EQ(f.pick("m").slot, 0);  // 4 GB left on small, 20 on large
  forget();
  f.members[0].loaded.push_back({"y:latest", 6000000000, 6000000000, ""});    // 2 GB free: 2 to unload
  f.members[1].loaded.push_back({"z:latest", 23000000000, 23000000000, ""});  // 1 GB free: 3 to unload
  EXPECT_EQ(f.pick("m").slot, 0);
  forget();
  f.members[0].loaded[0].size_vram = 7500000000;  // 0.5 GB free: 3.5 to unload, 4 in whole GB
  EXPECT_EQ(f.pick("m").slot, 1);
}

// A member just sent a model to load may not have the room its /api/ps showed:
// another model loaded nowhere goes elsewhere until a later snapshot.
TEST(Route, AMemberJustGivenALoadIsTheLastChoiceForTheNext) {
  Fleet f;
  f.add("small", {{"m:latest", 4}, {"n:latest", 4}}).cfg.max_memory_gb = 8;
  f.add("large", {{"m:latest", 4}, {"n:latest", 4}}).cfg.max_memory_gb = 24;
  EXPECT_EQ(f.pick("m").slot, 0);
  EXPECT_EQ(f.pick("n").slot, 1);  // small would be the better fit, but it is loading m
}

TEST(Route, LeastOutstandingLooksAtEveryMemberOfATier) {
  Fleet f;
  for (const char* n : {"a", "b", "c"}) f.add(n, {{"m:latest", 1}}, {"m:latest"});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(route::try_admit(f.table[0], 0));
  ASSERT_TRUE(route::try_admit(f.table[1], 0));
  for (uint64_t rnd = 1; rnd <= 32; ++rnd) EXPECT_EQ(f.pick("m", nullptr, rnd).slot, 2) << rnd;
}

TEST(Route, MemoryLimitsAssignmentsAndOverrides) {
  Fleet f;
  f.add("small", {{"big:latest", 50}, {"anon-70b:latest", 0}}, {}, 1).cfg.max_memory_gb = 24;
  f.add("large", {{"big:latest", 50}, {"anon-70b:latest", 0}}, {}, 2);
  f.cfg.models.memory_patterns.push_back({".*-70b.*", 40});
  EXPECT_EQ(f.pick("big").slot, 1);
  EXPECT_EQ(f.pick("anon-70b").slot, 1);  // no size reported: the pattern decides
  f.members[1].healthy = false;
  EXPECT_EQ(f.pick("big").status, PickStatus::too_big);
  f.members[1].healthy = true;
  f.cfg.models.assignments.push_back({"big:latest", "small"});
  EXPECT_EQ(f.pick("big").slot, 0);  // assignment overrides memory and priority
}

TEST(Route, AdmissionBusyAndCircuit) {
  Fleet f;
  f.add("a", {{"m:latest", 1}}).cfg.max_concurrent = 1;
  f.add("b", {{"m:latest", 1}}, {}, 2).cfg.max_concurrent = 1;
  auto s = route::build_snapshot(f.members, f.cfg, 1);
  route::PickRequest r;
  r.model = "m";
  r.now_ms = 1000;
  route::Pick p1 = route::pick(*s, f.table, r), p2 = route::pick(*s, f.table, r), p3 = route::pick(*s, f.table, r);
  EXPECT_EQ(p1.slot, 0);
  EXPECT_EQ(p2.slot, 1);  // a is full: the next tier
  EXPECT_EQ(p3.status, PickStatus::busy);
  route::release(f.table[0]);
  route::release(f.table[1]);
  route::record_outcome(f.table[0], false, 1, 500, 1000);
  EXPECT_EQ(route::circuit_state(f.table[0], 1000), route::Circuit::open);
  EXPECT_EQ(f.pick("m").slot, 1);  // a open
  route::record_outcome(f.table[1], false, 1, 500, 1000);
  EXPECT_EQ(f.pick("m").status, PickStatus::ok);  // every candidate open: tried anyway
  EXPECT_EQ(route::circuit_state(f.table[0], 1600), route::Circuit::half_open);
  EXPECT_TRUE(route::circuit_allows(f.table[0], 1600));
  EXPECT_FALSE(route::circuit_allows(f.table[0], 1600));  // one trial at a time
  route::record_outcome(f.table[0], true, 1, 500, 1600);
  EXPECT_EQ(route::circuit_state(f.table[0], 1600), route::Circuit::closed);
}

TEST(Route, ParseDiscoveryAnswers) {
  std::vector<route::ModelInfo> tags;
  ASSERT_TRUE(route::parse_tags(R"({"models":[{"name":"a:latest","size":12},{"name":"b:7b","size":34}]})", tags));
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[1].name, "b:7b");
  EXPECT_EQ(tags[1].size, 34);
  std::vector<route::LoadedModel> ps;
  ASSERT_TRUE(route::parse_ps(
      R"({"models":[{"name":"a:latest","size":5,"size_vram":4,"expires_at":"2026-01-01T00:00:00Z"}]})", ps));
  EXPECT_EQ(ps[0].size_vram, 4);
  EXPECT_EQ(ps[0].expires_at, "2026-01-01T00:00:00Z");
  EXPECT_FALSE(route::parse_tags("<html>", tags));
  std::string v;
  EXPECT_TRUE(route::parse_version(R"({"version":"0.5.7"})", v));
  EXPECT_EQ(v, "0.5.7");
}

TEST(Route, AWaiterIsOutrankedOnlyByAMoreImportantOneForTheSameBackend) {
  route::Backend b, other;
  for (uint8_t p = 0; p < 3; ++p) EXPECT_FALSE(route::outranked(b, p)) << "nobody waits";
  b.queued_by_priority[1].store(2);  // two normal requests wait (on any worker)
  EXPECT_FALSE(route::outranked(b, 0)) << "high goes first";
  EXPECT_FALSE(route::outranked(b, 1)) << "normal is not behind normal (FIFO within a worker's queue)";
  EXPECT_TRUE(route::outranked(b, 2)) << "low waits for them";
  b.queued_by_priority[0].store(1);
  EXPECT_TRUE(route::outranked(b, 1));
  EXPECT_FALSE(route::outranked(other, 2)) << "waiters for another backend do not count";
}
