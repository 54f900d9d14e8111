// Routing decisions on hand-built snapshots: tiers, memory, assignment,
// admission, circuit, failover exclusions; parsing discovery answers.
#include <gtest/gtest.h>

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
  route::Pick pick(const std::string& model, const route::SlotSet* tried = nullptr, uint64_t rnd = 1) {
    auto s = route::build_snapshot(members, cfg, 1);
    route::PickRequest r;
    r.model = model;
    r.tried = tried;
    r.random = rnd;
    r.now_ms = 1000;
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
  EXPECT_EQ(f.pick("m").slot, 1);          // loaded beats priority; bare name finds ":latest"
  EXPECT_EQ(f.pick("m:latest").slot, 1);
  EXPECT_EQ(f.pick("x").slot, 2);
  EXPECT_EQ(f.pick("nope").status, PickStatus::not_found);
  route::SlotSet tried;
  tried.set(1);
  EXPECT_EQ(f.pick("m", &tried).slot, 0);  // failover skips what was tried
  tried.set(0);
  EXPECT_EQ(f.pick("m", &tried).status, PickStatus::unavailable);
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
  ASSERT_TRUE(route::parse_ps(R"({"models":[{"name":"a:latest","size":5,"size_vram":4,"expires_at":"2026-01-01T00:00:00Z"}]})", ps));
  EXPECT_EQ(ps[0].size_vram, 4);
  EXPECT_EQ(ps[0].expires_at, "2026-01-01T00:00:00Z");
  EXPECT_FALSE(route::parse_tags("<html>", tags));
  std::string v;
  EXPECT_TRUE(route::parse_version(R"({"version":"0.5.7"})", v));
  EXPECT_EQ(v, "0.5.7");
}
