// corral-sim's resource model on a made-up clock: every time below is exact.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sim_resources.h"

using sim::Job;
using sim::ResourceOptions;
using sim::Resources;
using sim::Ticket;

namespace {

constexpr int64_t kS = 1000000000, kMs = 1000000;
constexpr int64_t kGB = 1000000000;

ResourceOptions options() {
  ResourceOptions o;
  o.vram_gb = 10;
  o.max_loaded = 3;
  o.num_parallel = 2;
  o.max_queue = 8;
  o.keep_alive_ms = 60000;
  o.load_s_per_gb = 1;
  o.prompt_ms_per_token = 1;
  o.slot_slowdown = 0;
  return o;
}

// A chat of `words` per message: the scheduler sees cumulative hashes and token counts.
Job chat(const std::string& model, int64_t size, const std::vector<int64_t>& words, uint64_t conversation = 1) {
  Job j;
  j.model = model;
  j.size = size;
  j.tokens = 10;
  j.keep_alive_ms = 60000;
  int64_t total = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    total += words[i];
    j.prefix_hash.push_back(conversation * 1000 + i);
    j.prefix_tokens.push_back(total);
  }
  return j;
}

std::vector<std::string> loaded_names(Resources& r, int64_t now) {
  std::vector<std::string> out;
  for (const sim::LoadedView& v : r.loaded(now)) out.push_back(v.name);
  return out;
}

}  // namespace

TEST(SimResources, ColdLoadIsChargedOnceAndSharedByWhoWaitsForIt) {
  Resources r(options());
  Ticket a(r, chat("a", 4 * kGB, {10})), b(r, chat("a", 4 * kGB, {10}));
  ASSERT_TRUE(r.admit(a, 0));
  ASSERT_TRUE(r.admit(b, 1 * kS));
  EXPECT_EQ(r.stats().loads, 1);
  EXPECT_EQ(a.state(), Ticket::State::running);
  EXPECT_EQ(a.first_token_at(), 4 * kS + 10 * kMs);  // 4 GB at 1 s/GB, then 10 prompt tokens at 1 ms
  EXPECT_EQ(b.first_token_at(), 4 * kS + 10 * kMs);
  EXPECT_EQ(a.load_ns, 4 * kS);
  EXPECT_EQ(b.load_ns, 3 * kS);  // arrived a second into the load
  r.release(a, 5 * kS);
  r.release(b, 5 * kS);
  Ticket c(r, chat("a", 4 * kGB, {10}, 2));
  ASSERT_TRUE(r.admit(c, 10 * kS));
  EXPECT_EQ(r.stats().loads, 1);
  EXPECT_EQ(c.load_ns, 0);
  EXPECT_EQ(c.first_token_at(), 10 * kS + 10 * kMs);
  EXPECT_EQ(r.stats().load_ns, 4 * kS);
}

TEST(SimResources, FullVramUnloadsTheLeastRecentlyUsedIdleModel) {
  Resources r(options());
  auto use = [&](const char* model, int64_t from, int64_t to) {
    Ticket t(r, chat(model, 4 * kGB, {1}));
    ASSERT_TRUE(r.admit(t, from));
    r.release(t, to);
  };
  use("a", 0, 10 * kS);
  use("b", 11 * kS, 12 * kS);
  use("a", 20 * kS, 21 * kS);  // a is now the most recently used
  Ticket c(r, chat("c", 4 * kGB, {1}));
  ASSERT_TRUE(r.admit(c, 30 * kS));
  EXPECT_EQ(r.stats().evictions, 1);
  EXPECT_EQ(loaded_names(r, 30 * kS), (std::vector<std::string>{"a", "c"}));  // b went
  EXPECT_EQ(c.first_token_at(), 34 * kS + 1 * kMs);
  EXPECT_EQ(r.vram_used(), 8 * kGB);
}

TEST(SimResources, MaxLoadedModelsEvictsEvenWhenVramHasRoom) {
  ResourceOptions o = options();
  o.max_loaded = 2;
  Resources r(o);
  int64_t now = 0;
  for (const char* m : {"a", "b", "c"}) {
    Ticket t(r, chat(m, 1 * kGB, {1}));
    ASSERT_TRUE(r.admit(t, now));
    r.release(t, now + 2 * kS);
    now += 3 * kS;
  }
  EXPECT_EQ(r.stats().loads, 3);
  EXPECT_EQ(r.stats().evictions, 1);
  EXPECT_EQ(loaded_names(r, now), (std::vector<std::string>{"b", "c"}));
}

// Ollama: while a new model waits for room, every new request queues behind it,
// even one for a loaded model with a free slot; the least recently used busy model
// is unloaded once its requests are done.
TEST(SimResources, ANewModelWaitingForRoomHoldsUpEveryRequestBehindIt) {
  ResourceOptions o = options();
  o.vram_gb = 8;
  Resources r(o);
  Ticket a(r, chat("a", 4 * kGB, {1})), b(r, chat("b", 4 * kGB, {1}));
  ASSERT_TRUE(r.admit(a, 0));
  ASSERT_TRUE(r.admit(b, 1 * kS));
  Ticket c(r, chat("c", 4 * kGB, {1}));
  ASSERT_TRUE(r.admit(c, 10 * kS));
  EXPECT_EQ(c.state(), Ticket::State::queued);
  Ticket b2(r, chat("b", 4 * kGB, {1}));  // b is loaded and has a free slot, yet waits
  ASSERT_TRUE(r.admit(b2, 11 * kS));
  EXPECT_EQ(b2.state(), Ticket::State::queued);
  EXPECT_EQ(r.waiting(), 2);

  bool woken = false;
  c.on_start([&] { woken = true; });
  r.release(a, 20 * kS);  // a was used least recently: it goes, c loads, b2 runs
  EXPECT_TRUE(woken);
  EXPECT_EQ(r.stats().evictions, 1);
  EXPECT_EQ(c.state(), Ticket::State::running);
  EXPECT_EQ(c.first_token_at(), 24 * kS + 1 * kMs);
  EXPECT_EQ(b2.state(), Ticket::State::running);
  EXPECT_EQ(b2.first_token_at(), 20 * kS + 1 * kMs);
  EXPECT_EQ(loaded_names(r, 20 * kS), (std::vector<std::string>{"b", "c"}));
}

TEST(SimResources, SlotsThenQueueThenServerBusy) {
  ResourceOptions o = options();
  o.num_parallel = 1;
  o.max_queue = 2;
  Resources r(o);
  std::vector<std::unique_ptr<Ticket>> t;
  for (int i = 0; i < 4; ++i) t.push_back(std::make_unique<Ticket>(r, chat("a", 1 * kGB, {1})));
  EXPECT_TRUE(r.admit(*t[0], 0));
  EXPECT_TRUE(r.admit(*t[1], 0));
  EXPECT_TRUE(r.admit(*t[2], 0));
  EXPECT_EQ(t[0]->state(), Ticket::State::running);
  EXPECT_EQ(t[1]->state(), Ticket::State::assigned);  // waiting for the one slot
  EXPECT_FALSE(r.admit(*t[3], 0));
  EXPECT_EQ(t[3]->state(), Ticket::State::refused);
  EXPECT_EQ(r.stats().refused, 1);

  r.release(*t[0], 5 * kS);
  EXPECT_EQ(t[1]->state(), Ticket::State::running);
  EXPECT_EQ(t[1]->first_token_at(), 5 * kS + 1 * kMs);
  Ticket late(r, chat("a", 1 * kGB, {1}));
  EXPECT_TRUE(r.admit(late, 5 * kS));
  t[2].reset();  // a client that gives up leaves the queue
  EXPECT_EQ(r.waiting(), 1);
}

TEST(SimResources, IdleModelsExpireAfterKeepAlive) {
  Resources r(options());  // keep_alive 60 s
  Job forever = chat("b", 1 * kGB, {1}), now_gone = chat("c", 1 * kGB, {1});
  forever.keep_alive_ms = -1;
  now_gone.keep_alive_ms = 0;
  Ticket a(r, chat("a", 1 * kGB, {1})), b(r, forever), c(r, now_gone);
  for (Ticket* t : {&a, &b, &c}) ASSERT_TRUE(r.admit(*t, 0));
  for (Ticket* t : {&a, &b, &c}) r.release(*t, 10 * kS);
  EXPECT_EQ(r.stats().unloads, 1);  // keep_alive 0: gone once done
  EXPECT_EQ(loaded_names(r, 69 * kS), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.loaded(69 * kS)[0].expires_in_ns, 1 * kS);
  EXPECT_EQ(r.loaded(69 * kS)[1].expires_in_ns, -1);
  EXPECT_EQ(loaded_names(r, 70 * kS), (std::vector<std::string>{"b"}));
  EXPECT_EQ(r.stats().expirations, 1);
}

TEST(SimResources, FollowUpTurnReusesTheSlotsCache) {
  Resources r(options());
  Ticket first(r, chat("a", 1 * kGB, {100}, 7));
  ASSERT_TRUE(r.admit(first, 0));
  EXPECT_EQ(first.prompt_eval_count, 100);
  r.release(first, 2 * kS);
  // The same conversation: its first message, the reply (10 tokens), a new question.
  Job next = chat("a", 1 * kGB, {100, 10, 5}, 7);
  Ticket second(r, next);
  ASSERT_TRUE(r.admit(second, 3 * kS));
  EXPECT_EQ(second.prompt_eval_count, 5);
  EXPECT_EQ(second.first_token_at(), 3 * kS + 5 * kMs);
  EXPECT_EQ(r.stats().prefix_hits, 1);
  EXPECT_EQ(r.stats().prefix_tokens_saved, 110);
  Ticket other(r, chat("a", 1 * kGB, {100, 10, 5}, 8));  // another conversation: nothing cached
  ASSERT_TRUE(r.admit(other, 3 * kS));
  EXPECT_EQ(other.prompt_eval_count, 115);
}

TEST(SimResources, PerTokenTimeGrowsWithBusySlotsAndScalesToWallTime) {
  ResourceOptions o = options();
  o.slot_slowdown = 0.5;
  o.time_scale = 0.1;
  Resources r(o);
  Ticket a(r, chat("a", 1 * kGB, {1})), b(r, chat("a", 1 * kGB, {1}));
  ASSERT_TRUE(r.admit(a, 0));
  EXPECT_EQ(a.first_token_at(), 100 * kMs + 100000);  // 1 s load and 1 ms prompt, both at a tenth
  EXPECT_EQ(r.token_ns(a, 20), 2 * kMs);
  ASSERT_TRUE(r.admit(b, 0));
  EXPECT_EQ(r.token_ns(a, 20), 3 * kMs);  // two busy slots: 1.5 times as long
  EXPECT_EQ(r.to_model(3 * kMs), 30 * kMs);
}

TEST(SimResources, KeepAliveParsesOllamasForms) {
  int64_t ms = 0;
  EXPECT_TRUE(sim::parse_keep_alive("5m", ms));
  EXPECT_EQ(ms, 300000);
  EXPECT_TRUE(sim::parse_keep_alive("1h30m", ms));
  EXPECT_EQ(ms, 5400000);
  EXPECT_TRUE(sim::parse_keep_alive("300ms", ms));
  EXPECT_EQ(ms, 300);
  EXPECT_TRUE(sim::parse_keep_alive("30", ms));
  EXPECT_EQ(ms, 30000);
  EXPECT_TRUE(sim::parse_keep_alive("0", ms));
  EXPECT_EQ(ms, 0);
  EXPECT_TRUE(sim::parse_keep_alive("-1", ms));
  EXPECT_EQ(ms, -1);
  EXPECT_TRUE(sim::parse_keep_alive("-1m", ms));
  EXPECT_EQ(ms, -1);
  EXPECT_FALSE(sim::parse_keep_alive("soon", ms));
  EXPECT_FALSE(sim::parse_keep_alive("10x", ms));
  EXPECT_FALSE(sim::parse_keep_alive("", ms));
}
