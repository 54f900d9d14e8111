// corral-load against corral-sim (through corral) with known delays: counts
// must be exact; timings only within generous bounds of the configured delays.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.h"

using namespace harness;

TEST(CorralLoad, MeasuresKnownDelaysAndCountsExactly) {
  Sim sim({"--ttft-ms", "100", "--token-delay-ms", "20", "--tokens", "5"});
  Corral corral({sim.url()}, "uring");
  std::string json = corral.log_path + ".load.json";
  Process p({bin("CORRAL_LOAD_BIN"), "--url", "http://127.0.0.1:" + std::to_string(corral.port), "--concurrency", "4",
             "--requests", "20", "--json", json, "--max-error-rate", "0"},
            "/dev/null");
  ASSERT_EQ(p.wait(60000), 0);
  std::ifstream in(json);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string j = ss.str();
  EXPECT_EQ(json_int(j, "requests"), 20) << j;
  EXPECT_EQ(json_int(j, "ok"), 20);
  EXPECT_EQ(json_int(j, "errors"), 0);
  EXPECT_EQ(json_int(j, "tokens"), 100);  // eval_count 5 per answer
  auto section = [&](const std::string& name) { return j.substr(j.find("\"" + name + "\":{")); };
  EXPECT_EQ(json_int(section("ttft"), "count"), 20);
  EXPECT_EQ(json_int(section("itl"), "count"), 20 * 5);  // 5 tokens + the final line = 5 gaps
  long ttft = json_int(section("ttft"), "p50_us");
  long itl = json_int(section("itl"), "p50_us");
  long total = json_int(section("total"), "p50_us");
  EXPECT_GE(ttft, 90000);
  EXPECT_LE(ttft, 1000000);
  EXPECT_GE(itl, 15000);
  EXPECT_LE(itl, 500000);
  EXPECT_GE(total, 100000 + 4 * 20000);
  std::remove(json.c_str());
}

TEST(CorralLoad, ErrorRateAboveLimitFailsAndBadTargetIsOneLine) {
  Sim sim;
  Process p({bin("CORRAL_LOAD_BIN"), "--url", sim.url(), "--requests", "10", "--model", "no-such-model",
             "--max-error-rate", "0.5"},
            "/dev/null");
  EXPECT_EQ(p.wait(30000), 1);  // every request is a 404
  int dead = free_port();
  std::string log = "/tmp/corral-load-bad-" + std::to_string(dead);
  Process bad({bin("CORRAL_LOAD_BIN"), "--url", "http://127.0.0.1:" + std::to_string(dead), "--requests", "1"}, log);
  EXPECT_EQ(bad.wait(10000), 2);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  EXPECT_NE(line.find("is not answering"), std::string::npos) << line;
  std::remove(log.c_str());
}
