// Label interning caps (models, keys), per-key series summed over workers, and
// the seed names (seed 000's gauges, seed 004's tokens_generated and labels)
// present exactly when asked for.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "corral/metrics/names.h"
#include "corral/metrics/registry.h"

namespace metrics = corral::metrics;
using metrics::LabelNames;

namespace {

// Value of the sample whose name and labels are exactly `series`, or -1.
double value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

bool has_family(const std::string& text, const std::string& name) {
  return text.find("# TYPE " + name + " ") != std::string::npos;
}

metrics::RequestRecord generate(std::string_view key, int64_t prompt, int64_t completion) {
  metrics::RequestRecord r;
  r.endpoint = corral::api::kGenerate;
  r.model = "llama3.2";
  r.backend = 0;
  r.status = 200;
  r.category = corral::api::kCategoryCode;
  r.duration_s = 0.25;
  r.prompt_tokens = prompt;
  r.completion_tokens = completion;
  r.key = key;
  return r;
}

std::string render(const metrics::Registry& reg, std::vector<metrics::BackendGauge> backends = {}) {
  std::string out;
  reg.render(out, metrics::RenderOptions{}, backends);
  return out;
}

}  // namespace

TEST(LabelNames, CapsDistinctValuesAndFoldsTheRestIntoOther) {
  LabelNames n(2);
  uint8_t a = n.intern("alice");
  uint8_t b = n.intern("bob");
  EXPECT_EQ(n.intern("alice"), a);
  EXPECT_NE(a, b);
  EXPECT_EQ(n.intern("carol"), LabelNames::kOther);
  EXPECT_EQ(n.intern("bob"), b);  // known values keep their id past the cap
  EXPECT_EQ(n.size(), 2u);
  EXPECT_EQ(n.name(a), "alice");
  EXPECT_EQ(n.name(b), "bob");
  EXPECT_EQ(n.name(LabelNames::kOther), "other");
  EXPECT_EQ(n.intern(""), LabelNames::kNone);
  EXPECT_EQ(n.name(LabelNames::kNone), "");
}

TEST(LabelNames, OnlyPlainNamesBecomeLabelValues) {
  LabelNames n(10);
  EXPECT_EQ(n.intern("two words"), LabelNames::kOther);
  EXPECT_EQ(n.intern("quote\"d"), LabelNames::kOther);
  EXPECT_EQ(n.intern(std::string(65, 'k')), LabelNames::kOther);
  std::string longest(64, 'k');  // auth allows key names of 64
  uint8_t id = n.intern(longest);
  ASSERT_NE(id, LabelNames::kOther);
  EXPECT_EQ(n.name(id), longest);
  EXPECT_NE(n.intern("qwen2.5:7b"), LabelNames::kOther);
  EXPECT_NE(n.intern("library/llama3.2_q4-K"), LabelNames::kOther);
  EXPECT_EQ(n.size(), 3u);
}

TEST(LabelNames, TheCapIsAtMost254Ids) {
  LabelNames n(1000);
  for (int i = 0; i < 254; ++i) {
    std::string name = std::to_string(i);
    name.insert(name.begin(), 'm');
    ASSERT_EQ(n.intern(name), i);
  }
  EXPECT_EQ(n.intern("one-more"), LabelNames::kOther);
}

TEST(KeyLabels, PerKeyCountsAreSummedByNameAcrossWorkersAndCapped) {
  metrics::Registry reg(2, 100, {false, true, 2});
  // Each worker numbers keys in the order it meets them; the scrape sums by name.
  reg.shard(0).record(generate("alice", 10, 5));
  reg.shard(0).record(generate("bob", 3, 4));
  reg.shard(1).record(generate("bob", 3, 4));
  reg.shard(1).record(generate("alice", 10, 5));
  reg.shard(1).record(generate("alice", -1, -1));  // no final stats: a request, no tokens
  // Past the cap of 2 per worker: "other".
  reg.shard(0).record(generate("carol", 1, 1));
  reg.shard(1).record(generate("dave", 2, 2));
  reg.shard(1).record(generate("", 100, 100));  // no key (auth off, or an open endpoint): not a key series
  std::string m = render(reg);
  EXPECT_EQ(value(m, "corral_key_requests_total{key=\"alice\"}"), 3) << m;
  EXPECT_EQ(value(m, "corral_key_tokens_total{key=\"alice\"}"), 30);
  EXPECT_EQ(value(m, "corral_key_requests_total{key=\"bob\"}"), 2);
  EXPECT_EQ(value(m, "corral_key_tokens_total{key=\"bob\"}"), 14);
  EXPECT_EQ(value(m, "corral_key_requests_total{key=\"other\"}"), 2);
  EXPECT_EQ(value(m, "corral_key_tokens_total{key=\"other\"}"), 6);
  EXPECT_EQ(m.find("carol"), std::string::npos);
  EXPECT_EQ(m.find("key=\"\""), std::string::npos);
  // Every request still counts in the fleet-wide families.
  EXPECT_EQ(value(m, "corral_completion_tokens_total{model=\"llama3.2\"}"), 5 + 4 + 4 + 5 + 1 + 2 + 100);
}

TEST(KeyLabels, OffByDefault) {
  metrics::Registry reg(1, 100);
  reg.shard(0).record(generate("alice", 10, 5));
  std::string m = render(reg);
  EXPECT_FALSE(has_family(m, "corral_key_requests_total"));
  EXPECT_FALSE(has_family(m, "corral_key_tokens_total"));
  EXPECT_EQ(m.find("alice"), std::string::npos);
}

TEST(SeedNames, SeedFamiliesAndLabelsFollowTheTraffic) {
  metrics::Registry reg(2, 100, {true, false, 100});
  for (int i = 0; i < 3; ++i) reg.shard(0).record(generate("", 10, 5));
  reg.shard(1).record(generate("", 10, 300));
  metrics::RequestRecord scrape;  // local endpoints are not the fleet's load
  scrape.endpoint = corral::api::kMetrics;
  scrape.status = 200;
  scrape.duration_s = 9;
  reg.shard(1).record(scrape);
  std::vector<metrics::BackendGauge> backends(2);
  backends[0].url = "http://a";
  backends[0].up = true;
  backends[0].max_concurrent = 8;
  backends[1].url = "http://b";
  backends[1].up = false;
  backends[1].max_concurrent = 0;
  reg.shard(0).backend_started[0].store(4);
  reg.shard(1).backend_started[0].store(2);
  std::string m = render(reg, backends);

  EXPECT_EQ(value(m, "corral_requests_per_minute"), 4) << m;
  EXPECT_DOUBLE_EQ(value(m, "corral_avg_response_time"), 0.25);
  EXPECT_EQ(value(m, "corral_utilization_ratio"), 0.75);
  EXPECT_EQ(value(m, "corral_utilization_percent"), 75);
  EXPECT_EQ(value(m, "corral_healthy_endpoints"), 1);
  EXPECT_EQ(value(m, "corral_healthy_backends"), 1);
  std::string tg = "corral_tokens_generated";
  std::string code = "model=\"llama3.2\",prompt_category=\"code\"";
  EXPECT_EQ(value(m, tg + "_count{" + code + "}"), 4);
  EXPECT_EQ(value(m, tg + "_sum{" + code + "}"), 3 * 5 + 300);
  EXPECT_EQ(value(m, tg + "_bucket{" + code + ",le=\"1\"}"), 0);
  EXPECT_EQ(value(m, tg + "_bucket{" + code + ",le=\"5\"}"), 3);
  EXPECT_EQ(value(m, tg + "_bucket{" + code + ",le=\"250\"}"), 3);
  EXPECT_EQ(value(m, tg + "_bucket{" + code + ",le=\"500\"}"), 4);
  EXPECT_EQ(value(m, tg + "_bucket{" + code + ",le=\"+Inf\"}"), 4);
  EXPECT_EQ(value(m,
                  "corral_requests_total{endpoint=\"/api/generate\",model=\"llama3.2\",backend=\"http://a\","
                  "code=\"200\",category=\"code\",prompt_category=\"code\",status=\"200\"}"),
            4);
}

TEST(SeedNames, UtilizationPercentStaysWithin0To100) {
  metrics::Registry reg(1, 100, {true, false, 100});
  std::vector<metrics::BackendGauge> backends(1);
  backends[0].url = "http://a";
  backends[0].up = true;
  backends[0].max_concurrent = 2;
  reg.shard(0).backend_started[0].store(5);
  std::string m = render(reg, backends);
  EXPECT_EQ(value(m, "corral_utilization_ratio"), 2.5);
  EXPECT_EQ(value(m, "corral_utilization_percent"), 100);
  EXPECT_EQ(value(m, "corral_requests_per_minute"), 0);
  EXPECT_EQ(value(m, "corral_avg_response_time"), 0);
}

TEST(SeedNames, OffByDefault) {
  metrics::Registry reg(1, 100);
  reg.shard(0).record(generate("", 10, 5));
  std::string m = render(reg);
  for (const char* f : {"corral_requests_per_minute", "corral_avg_response_time", "corral_utilization_percent",
                        "corral_healthy_endpoints", "corral_tokens_generated"}) {
    EXPECT_FALSE(has_family(m, f)) << f;
  }
  EXPECT_EQ(m.find("prompt_category"), std::string::npos);
  EXPECT_EQ(m.find("status=\""), std::string::npos);
  EXPECT_EQ(value(m,
                  "corral_requests_total{endpoint=\"/api/generate\",model=\"llama3.2\",backend=\"none\","
                  "code=\"200\",category=\"code\"}"),
            1);
}

TEST(Registry, RendersScalingGroupsSignals) {
  metrics::Registry reg(1, 8);
  metrics::RenderOptions o;
  o.groups.push_back({"gpu", 3.75, 2, 4, 1});
  std::string out;
  reg.render(out, o, {});
  EXPECT_NE(out.find("corral_desired_replicas{group=\"gpu\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("corral_complexity_load{group=\"gpu\"} 3.75\n"), std::string::npos);
  EXPECT_NE(out.find("corral_scaling_decisions_total{group=\"gpu\",direction=\"up\"} 4\n"), std::string::npos);
  EXPECT_NE(out.find("corral_scaling_decisions_total{group=\"gpu\",direction=\"down\"} 1\n"), std::string::npos);
  EXPECT_EQ(render(reg).find("desired_replicas"), std::string::npos);  // no groups, no family
}
