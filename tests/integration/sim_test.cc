// corral-sim's resource model (--vram-gb) as a process: what /api/ps and the
// final statistics say, Ollama's 503 when the queue is full, load and unload by
// empty prompts, and the flags that need the model.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

// Two models that do not fit together in 8 GB; loads take 4 ms and 6 ms of wall time.
std::vector<std::string> fleet_of_one(const std::vector<std::string>& more = {}) {
  std::vector<std::string> a = {
      "--models", "a=4000000000,b=6000000000", "--vram-gb", "8", "--time-scale", "0.001", "--tokens", "3"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::string chat(const std::string& model, const std::string& more = "") {
  return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"why is the sky blue\"}]," +
         "\"stream\":false" + more + "}";
}

// Polls /sim/stats until `key` reaches `want` (a state the test waits for, not a timing).
bool wait_stat(Sim& s, const std::string& key, long want) {
  for (int i = 0; i < 500; ++i) {
    if (s.stat(key) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST(SimProcess, LoadsOnFirstUseOnceAndReportsItInPsAndFinalStats) {
  Sim s(fleet_of_one());
  EXPECT_EQ(request(s.port, "GET", "/api/ps").body, "{\"models\":[]}");

  Response first = request(s.port, "POST", "/api/chat", chat("a"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("content-length"), std::to_string(first.body.size()));
  EXPECT_EQ(json_int(first.body, "load_duration"), 4000000000);  // model time: 4 GB at 1 s/GB
  EXPECT_EQ(json_int(first.body, "prompt_eval_count"), 5);
  Response second = request(s.port, "POST", "/api/chat", chat("a"));
  EXPECT_EQ(json_int(second.body, "load_duration"), 0);
  EXPECT_EQ(s.stat("loads_total"), 1);

  std::string ps = request(s.port, "GET", "/api/ps").body;
  EXPECT_NE(ps.find("\"name\":\"a:latest\",\"model\":\"a:latest\",\"size\":4000000000,\"digest\":"), std::string::npos)
      << ps;
  EXPECT_NE(ps.find("\"expires_at\":"), std::string::npos);
  EXPECT_NE(ps.find("\"size_vram\":4000000000"), std::string::npos);
  EXPECT_NE(ps.find("\"details\":{"), std::string::npos);

  // b does not fit beside a: a (idle) is unloaded first.
  ASSERT_EQ(request(s.port, "POST", "/api/chat", chat("b")).status, 200);
  EXPECT_EQ(s.stat("evictions_total"), 1);
  ps = request(s.port, "GET", "/api/ps").body;
  EXPECT_EQ(ps.find("a:latest"), std::string::npos) << ps;
  EXPECT_NE(ps.find("\"size_vram\":6000000000"), std::string::npos) << ps;
}

TEST(SimProcess, FullQueueAnswersOllamasServerBusy) {
  Sim s(fleet_of_one({"--num-parallel", "1", "--max-queue", "1", "--time-scale", "1", "--load-s-per-gb", "0"}));
  std::string slow = chat("a");
  slow.replace(slow.find("\"stream\":false"), 14, "\"stream\":true");
  Client holder(s.port), waiter(s.port);
  holder.send(build_request("POST", "/api/chat", slow, {"X-Sim-Tokens: 1000", "X-Sim-Token-Delay-Ms: 100"}));
  ASSERT_NE(holder.read_until("token0", 10000).find("token0"), std::string::npos);  // it has the one slot
  waiter.send(build_request("POST", "/api/chat", chat("a"), {}));
  ASSERT_TRUE(wait_stat(s, "queued", 1));

  Response busy = request(s.port, "POST", "/api/chat", chat("a"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}");
  Response oai = request(s.port, "POST", "/v1/chat/completions", chat("a"));
  EXPECT_EQ(oai.status, 503);
  EXPECT_NE(oai.body.find("\"message\":\"server busy"), std::string::npos) << oai.body;
  EXPECT_EQ(s.stat("busy_503_total"), 2);

  holder.close();  // the slot goes to the one waiting
  Response served = waiter.read_response(10000);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(json_int(served.body, "eval_count"), 3);
}

TEST(SimProcess, EmptyPromptLoadsAndKeepAliveZeroUnloads) {
  Sim s(fleet_of_one());
  Response load = request(s.port, "POST", "/api/generate", "{\"model\":\"a\"}");
  EXPECT_NE(load.body.find("\"done_reason\":\"load\""), std::string::npos) << load.body;
  EXPECT_NE(request(s.port, "GET", "/api/ps").body.find("a:latest"), std::string::npos);
  EXPECT_EQ(s.stat("loads_total"), 1);
  Response unload = request(s.port, "POST", "/api/generate", "{\"model\":\"a\",\"keep_alive\":0}");
  EXPECT_NE(unload.body.find("\"done_reason\":\"unload\""), std::string::npos) << unload.body;
  EXPECT_EQ(request(s.port, "GET", "/api/ps").body, "{\"models\":[]}");
  EXPECT_EQ(s.stat("unloads_total"), 1);
  // A request's keep_alive 0: unloaded as soon as it is answered.
  ASSERT_EQ(request(s.port, "POST", "/api/chat", chat("a", ",\"keep_alive\":\"0s\"")).status, 200);
  EXPECT_EQ(request(s.port, "GET", "/api/ps").body, "{\"models\":[]}");
  EXPECT_EQ(s.stat("unloads_total"), 2);
}

TEST(SimProcess, ModelFlagsNeedVramAndOneThread) {
  int port = free_port();
  std::string listen = "127.0.0.1:" + std::to_string(port);
  Process lone({bin("CORRAL_SIM_BIN"), "--listen", listen, "--num-parallel", "2"}, "/dev/null");
  EXPECT_EQ(lone.wait(10000), 2);
  Process threads({bin("CORRAL_SIM_BIN"), "--listen", listen, "--vram-gb", "8", "--threads", "2"}, "/dev/null");
  EXPECT_EQ(threads.wait(10000), 2);
  Process keep({bin("CORRAL_SIM_BIN"), "--listen", listen, "--vram-gb", "8", "--keep-alive", "soon"}, "/dev/null");
  EXPECT_EQ(keep.wait(10000), 2);
}

// --record-heads N: GET /sim/requests shows the last N requests' heads, oldest
// first, every header as sent; /sim/* is not recorded; without the flag, a 404.
TEST(SimProcess, RecordHeadsKeepsTheLastRequestsHeads) {
  Sim sim({"--record-heads", "2"});
  for (const char* who : {"first", "second", "third"}) {
    ASSERT_EQ(request(sim.port, "POST", "/api/generate", R"({"model":"llama3.2","prompt":"hi","stream":false})",
                      {std::string("X-Who: ") + who, "Authorization: Bearer secret-" + std::string(who)})
                  .status,
              200);
  }
  ASSERT_EQ(request(sim.port, "GET", "/sim/stats").status, 200);
  Response r = request(sim.port, "GET", "/sim/requests");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("first"), std::string::npos) << "only the last 2: " << r.body;
  // seq 1 is the harness's start-up probe (GET /)
  size_t second = r.body.find(R"({"seq":3,"method":"POST","path":"/api/generate","headers":[["Host","127.0.0.1"],)"
                              R"(["X-Who","second"],["Authorization","Bearer secret-second"],)");
  size_t third = r.body.find(R"({"seq":4,"method":"POST","path":"/api/generate","headers":)");
  EXPECT_NE(second, std::string::npos) << r.body;
  EXPECT_GT(third, second) << r.body;
  EXPECT_EQ(r.body.find("/sim/stats"), std::string::npos) << r.body;

  Sim plain;
  EXPECT_EQ(request(plain.port, "GET", "/sim/requests").status, 404);
}
