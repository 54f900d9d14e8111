#include "corral/fleet/scaling.h"

#include <gtest/gtest.h>

#include "corral/fleet/scaling_group.h"
#include "corral/fleet/scaling_load.h"

#include <cmath>

using namespace corral::fleet;

namespace {

constexpr int64_t kSec = 1000;

corral::config::ScalingGroupConfig group() {
  corral::config::ScalingGroupConfig g;
  g.name = "gpu";
  g.members = {"gpu-1", "gpu-2", "gpu-3"};
  g.min = 0;
  g.max = 3;
  g.model_weights = {{"qwen2.5:3b", 1.0}, {"deepseek-r1", 2.5}, {"codellama", 2.0}};
  return g;
}

std::vector<MemberView> members(std::initializer_list<bool> up) {
  std::vector<MemberView> m;
  for (bool u : up) m.push_back({u, !u, 0, 4});
  return m;
}

// Members become what the decision says, as the drivers would make them.
void take_effect(const ScalingDecision& d, std::vector<MemberView>& m) {
  for (size_t i : d.start) m[i].up = true, m[i].startable = false;
  for (size_t i : d.stop) m[i].up = false, m[i].startable = true;
}

}  // namespace

TEST(Scaler, ModelWeightsByExactNameThenNameWithoutTag) {
  corral::config::ScalingGroupConfig g = group();
  g.model_weights.push_back({"deepseek-r1:1.5b", 0.5});
  Scaler s(g);
  EXPECT_EQ(s.weight("qwen2.5:3b"), 1.0);
  EXPECT_EQ(s.weight("deepseek-r1"), 2.5);
  EXPECT_EQ(s.weight("deepseek-r1:70b"), 2.5);
  EXPECT_EQ(s.weight("deepseek-r1:1.5b"), 0.5);
  EXPECT_EQ(s.weight("codellama:13b"), 2.0);
  EXPECT_EQ(s.weight("llama3.2"), 1.0);
}

TEST(Scaler, ComplexityFactorsByThreshold) {
  Scaler s(group());
  EXPECT_EQ(s.factor(0), 1.0);
  EXPECT_EQ(s.factor(29), 1.0);
  EXPECT_EQ(s.factor(30), 1.2);
  EXPECT_EQ(s.factor(49), 1.2);
  EXPECT_EQ(s.factor(50), 1.5);
  EXPECT_EQ(s.factor(79), 1.5);
  EXPECT_EQ(s.factor(80), 2.0);
  EXPECT_EQ(s.factor(100), 2.0);
  std::vector<RequestLoad> r = {{"deepseek-r1:7b", 90, 2}, {"llama3.2", 10, 3}};
  EXPECT_DOUBLE_EQ(s.load(r), 2 * 2.5 * 2.0 + 3 * 1.0);
}

TEST(Scaler, RecommendsTheFewestMembersThatCoverTheLoadAtTargetUtilization) {
  Scaler s(group());
  auto m = members({false, false, false});  // capacity 4 each: 2.8 at 70 %
  EXPECT_EQ(s.recommend(0, m), 0u);
  EXPECT_EQ(s.recommend(2.8, m), 1u);
  EXPECT_EQ(s.recommend(2.81, m), 2u);
  EXPECT_EQ(s.recommend(8.4, m), 3u);
  EXPECT_EQ(s.recommend(100, m), 3u) << "max";
  corral::config::ScalingGroupConfig g = group();
  g.min = 1;
  g.max = 2;
  Scaler bounded(g);
  EXPECT_EQ(bounded.recommend(0, m), 1u);
  EXPECT_EQ(bounded.recommend(100, m), 2u);
}

TEST(Scaler, ComplexityRaisesTheDesiredCount) {
  Scaler s(group());
  auto m = members({true, false, false});
  std::vector<RequestLoad> simple = {{"qwen2.5:3b", 10, 2}};
  std::vector<RequestLoad> hard = {{"qwen2.5:3b", 85, 2}};
  EXPECT_EQ(s.evaluate(0, simple, m).recommended, 1u);
  EXPECT_EQ(s.evaluate(0, hard, m).recommended, 2u) << "2 requests × factor 2.0 = 4 > 2.8";
}

TEST(Scaler, ScalesUpInOrderOnceTheUpWindowHasOnlyHigherRecommendations) {
  Scaler s(group());
  auto m = members({true, false, false});
  std::vector<RequestLoad> light = {{"qwen2.5:3b", 10, 1}};
  std::vector<RequestLoad> heavy = {{"qwen2.5:3b", 10, 8}};  // 8 > 2 × 2.8: three members
  for (int64_t t = 0; t <= 60 * kSec; t += 10 * kSec) EXPECT_TRUE(s.evaluate(t, light, m).start.empty());
  int64_t t = 70 * kSec;
  for (; t < 130 * kSec; t += 10 * kSec) {
    ScalingDecision d = s.evaluate(t, heavy, m);
    EXPECT_EQ(d.recommended, 3u);
    EXPECT_EQ(d.desired, 1u) << "the window still holds a recommendation of 1 at " << t;
    EXPECT_TRUE(d.start.empty());
  }
  ScalingDecision d = s.evaluate(t, heavy, m);
  EXPECT_EQ(d.desired, 3u);
  EXPECT_EQ(d.start, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(d.direction, ScaleDirection::up);
  EXPECT_DOUBLE_EQ(d.load, 8.0);
}

TEST(Scaler, TheFirstMemberStartsAtOnceForWaitingRequests) {
  Scaler s(group());
  auto m = members({false, false, false});
  for (int64_t t = 0; t < 60 * kSec; t += 10 * kSec) s.evaluate(t, {}, m);
  std::vector<RequestLoad> one = {{"llama3.2", 0, 1}};
  ScalingDecision d = s.evaluate(60 * kSec, one, m);
  EXPECT_EQ(d.start, (std::vector<size_t>{0}));
  take_effect(d, m);
  EXPECT_TRUE(s.evaluate(61 * kSec, one, m).start.empty());
}

TEST(Scaler, ScalesDownAfterTheDownWindowNeverStoppingAStreamingMember) {
  corral::config::ScalingGroupConfig g = group();
  g.min = 1;
  Scaler s(g);
  auto m = members({true, true, true});
  std::vector<RequestLoad> heavy = {{"qwen2.5:3b", 10, 8}};
  for (int64_t t = 0; t <= 100 * kSec; t += 10 * kSec) EXPECT_TRUE(s.evaluate(t, heavy, m).stop.empty());
  int64_t quiet = 110 * kSec;
  int64_t t = quiet;
  for (; t < 100 * kSec + 300 * kSec + 10 * kSec; t += 10 * kSec) {
    ScalingDecision d = s.evaluate(t, {}, m);
    EXPECT_EQ(d.desired, 3u) << "the highest recommendation of the last 300 s at " << t;
    EXPECT_TRUE(d.stop.empty());
  }
  m[2].in_flight = 1;  // still streaming a long answer
  ScalingDecision d = s.evaluate(t, {}, m);
  EXPECT_EQ(d.desired, 1u);
  EXPECT_EQ(d.stop, (std::vector<size_t>{1, 0})) << "from the last started, skipping the streaming one";
  EXPECT_EQ(d.direction, ScaleDirection::down);
}

TEST(Scaler, MinKeepsMembersUp) {
  corral::config::ScalingGroupConfig g = group();
  g.min = 2;
  g.stabilization_down_ms = 0;
  Scaler s(g);
  auto m = members({false, false, false});
  ScalingDecision d = s.evaluate(0, {}, m);
  EXPECT_EQ(d.desired, 2u);
  EXPECT_EQ(d.start, (std::vector<size_t>{0, 1}));
}

TEST(Scaler, SkipsMembersThatCannotStartYet) {
  Scaler s(group());
  auto m = members({false, false, false});
  m[0].startable = false;  // in back-off after an error
  std::vector<RequestLoad> one = {{"llama3.2", 0, 1}};
  EXPECT_EQ(s.evaluate(0, one, m).start, (std::vector<size_t>{1}));
}

TEST(ScalingGroup, MemberCapacityFromTheGroupThenTheBackendThenTheDefault) {
  corral::config::Config cfg;
  cfg.metrics.default_capacity = 4;
  for (const char* n : {"gpu-1", "gpu-2", "gpu-3"}) {
    corral::config::BackendConfig b;
    b.name = n;
    cfg.backends.push_back(b);
  }
  cfg.backends[1].max_concurrent = 16;
  corral::config::ScalingGroupConfig g = group();
  EXPECT_EQ(member_capacities(cfg, g), (std::vector<uint32_t>{4, 16, 4}));
  g.capacity = 8;
  EXPECT_EQ(member_capacities(cfg, g), (std::vector<uint32_t>{8, 8, 8}));
}

TEST(ScalingLoad, WeighsRequestsByModelAndComplexityPerGroup) {
  corral::config::ScalingConfig cfg;
  cfg.groups.push_back(group());
  corral::config::ScalingGroupConfig other = group();
  other.name = "cpu";
  other.members = {"cpu-1"};
  cfg.groups.push_back(other);
  ScalingLoad load(cfg);
  EXPECT_EQ(load.groups(), 2u);
  EXPECT_EQ(load.group_of("gpu-2"), 0);
  EXPECT_EQ(load.group_of("cpu-1"), 1);
  EXPECT_EQ(load.group_of("elsewhere"), -1);
  Scaler s(group());
  int64_t heavy = load.weight_milli(0, "deepseek-r1", 90);
  EXPECT_EQ(heavy, std::llround(2.5 * s.factor(90) * 1000));
  EXPECT_GT(heavy, load.weight_milli(0, "deepseek-r1", 10));  // complexity raises the weight
  EXPECT_EQ(load.weight_milli(0, "unknown", -1), std::llround(s.weight("unknown") * s.factor(0) * 1000));
  load.add(0, heavy);
  load.add(0, 1000);
  EXPECT_DOUBLE_EQ(load.load(0), double(heavy + 1000) / 1000.0);
  EXPECT_DOUBLE_EQ(load.load(1), 0.0);
  load.add(0, -heavy);
  EXPECT_DOUBLE_EQ(load.load(0), 1.0);
}

TEST(Scaler, EvaluatesALoadTheWorkersAlreadyWeighed) {
  corral::config::ScalingGroupConfig g = group();
  g.stabilization_up_ms = 0;
  Scaler s(g);
  std::vector<MemberView> m = members({false, false, false});
  ScalingDecision up = s.evaluate(0, 6.0, m);
  EXPECT_EQ(up.direction, ScaleDirection::up);
  EXPECT_DOUBLE_EQ(up.load, 6.0);
  EXPECT_GE(up.desired, 2u);  // 6 weighted requests on members of capacity 4 at 70 %
  EXPECT_EQ(s.evaluate(0, 0.0, members({false, false, false})).desired, 0u);
}
