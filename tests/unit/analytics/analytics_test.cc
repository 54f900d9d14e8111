// The analytics module's parts on their own: the record ring (also across two
// threads), record fields, response previews, query parsing, CSV/JSON rows and
// the two sinks against real files.
#include <gtest/gtest.h>
#include <poll.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "corral/analytics/query.h"
#include "corral/analytics/ring.h"
#include "corral/analytics/row.h"
#include "corral/analytics/service.h"
#include "corral/analytics/sink.h"
#include "corral/core/clock.h"

using namespace corral::analytics;

TEST(RecordRing, RefusesWhenFullKeepsOrderAndWraps) {
  RecordRing ring(1);  // rounded up to the minimum, 4 full-size records
  ASSERT_EQ(ring.capacity(), 4 * Record::kSize);
  for (int round = 0; round < 3; ++round) {  // past the end of the buffer and around
    Record r;
    r.set(kRequestId, "id");
    r.set(kPromptPreview, std::string(300 + 8 * round, 'p'));  // a longer record each round: wraps land elsewhere
    size_t per = (4 + r.bytes().size() + 7) / 8 * 8;
    size_t fits = ring.capacity() / per - (round > 0 ? 1 : 0);  // later rounds may lose the end to a wrap
    for (size_t i = 0; i < fits; ++i) {
      r.n.status = static_cast<int16_t>(i);
      ASSERT_TRUE(ring.push(r)) << round << " " << i;
    }
    if (round == 0) {
      EXPECT_FALSE(ring.push(r)) << "full";
    }
    for (size_t i = 0; i < fits; ++i) {
      std::string_view b = ring.front();
      ASSERT_FALSE(b.empty());
      Record out;
      ASSERT_TRUE(out.load(b));
      EXPECT_EQ(out.n.status, static_cast<int16_t>(i));
      EXPECT_EQ(out.get(kPromptPreview).size(), 300u + 8 * round);
      ring.pop();
    }
    EXPECT_TRUE(ring.front().empty());
  }
}

// Whether w was signalled since the last look (and clears it).
bool signalled(corral::core::Wakeup& w) {
  pollfd p{w.fd(), POLLIN, 0};
  bool yes = ::poll(&p, 1, 0) == 1;
  if (yes) w.clear();
  return yes;
}

TEST(RecordRing, APushPastTheMarkWakesTheConsumerOncePerDrain) {
  RecordRing ring(1);
  corral::core::Wakeup wake;
  ring.wake_at(&wake, ring.capacity() / 4);
  Record r;
  r.set(kPromptPreview, std::string(200, 'p'));
  size_t per = (4 + r.bytes().size() + 7) / 8 * 8, below = ring.capacity() / 4 / per;
  for (size_t i = 0; i < below; ++i) ASSERT_TRUE(ring.push(r));
  EXPECT_FALSE(signalled(wake)) << "at or under a quarter: the consumer sleeps on";
  ASSERT_TRUE(ring.push(r));
  EXPECT_TRUE(signalled(wake)) << "past the mark";
  ASSERT_TRUE(ring.push(r));
  EXPECT_TRUE(signalled(wake)) << "still past it, not yet drained: signalled again";
  while (!ring.front().empty()) ring.pop();
  ASSERT_TRUE(ring.push(r));
  EXPECT_FALSE(signalled(wake)) << "drained: the producer sees the consumer's head moved";
  RecordRing quiet(1);
  quiet.wake_at(&wake, 0);
  while (quiet.push(r)) {
  }
  EXPECT_FALSE(signalled(wake)) << "mark 0: never";
}

TEST(RecordRing, OneProducerOneConsumerLoseNothing) {
  RecordRing ring(64 << 10);
  constexpr int64_t kCount = 200000;
  int64_t dropped = 0;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    Record r;
    for (int64_t i = 0; i < kCount; ++i) {
      r.reset();
      r.n.time_us = i;
      r.set(kUserAgent, std::string(static_cast<size_t>(i % 200), 'x'));  // sizes vary
      if (!ring.push(r)) ++dropped;
    }
    done = true;
  });
  int64_t seen = 0, last = -1;
  bool ordered = true, intact = true;
  Record out;
  for (;;) {
    bool finished = done.load();  // read before looking: nothing can arrive after an empty look then
    std::string_view b = ring.front();
    if (b.empty()) {
      if (finished) break;
      std::this_thread::yield();
      continue;
    }
    intact = intact && out.load(b) && out.get(kUserAgent).size() == size_t(out.n.time_us % 200);
    ordered = ordered && out.n.time_us > last;
    last = out.n.time_us;
    ring.pop();
    ++seen;
  }
  producer.join();
  EXPECT_TRUE(ordered);
  EXPECT_TRUE(intact);
  EXPECT_GT(seen, 0);
  EXPECT_EQ(seen + dropped, kCount);
}

TEST(Record, FieldsAreCappedAndCutOnCharacterBoundaries) {
  Record r;
  r.set(kRequestId, "abc");
  r.set(kModel, std::string(500, 'm'));
  std::string accents;
  for (int i = 0; i < 600; ++i) accents += "é";  // 2 bytes each
  r.set(kPromptPreview, accents);
  r.set(kResponseHead, std::string(10000, 'x'));
  EXPECT_EQ(r.get(kRequestId), "abc");
  EXPECT_EQ(r.get(kClientIp), "");
  EXPECT_EQ(r.get(kModel).size(), Record::kCap[kModel]);
  EXPECT_EQ(r.get(kPromptPreview).size(), 1024u);
  EXPECT_EQ(r.get(kPromptPreview).substr(0, 2), "é");
  EXPECT_GT(r.get(kResponseHead).size(), 2000u) << "what is left of the slot";
  EXPECT_EQ(r.room(), 0u);
}

TEST(Preview, ReadsOllamaOpenAiAndCutBodies) {
  std::string ndjson =
      "{\"model\":\"m\",\"response\":\"Hel\",\"done\":false}\n{\"model\":\"m\",\"response\":\"lo "
      "\\\"you\\\"\",\"done\":false}\n{\"model\":\"m\",\"resp";
  EXPECT_EQ(response_preview(ndjson, 200), "Hello \"you\"");
  EXPECT_EQ(response_preview(ndjson, 4), "Hell");
  std::string chat =
      "{\"message\":{\"role\":\"assistant\",\"content\":\"A\"}}\n{\"message\":{\"role\":\"assistant\",\"content\":"
      "\"B\"}}\n";
  EXPECT_EQ(response_preview(chat, 200), "AB");
  std::string sse =
      "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: "
      "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\ndata: [DONE]\n\n";
  EXPECT_EQ(response_preview(sse, 200), "Hi there");
  std::string cut = "{\"model\":\"m\",\"created_at\":\"x\",\"response\":\"a long answer\\nthat was cut of";
  EXPECT_EQ(response_preview(cut, 200), "a long answer\nthat was cut of");
  std::string openai = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"caf\\u00e9\"}}]}";
  EXPECT_EQ(response_preview(openai, 200), "café");
  EXPECT_EQ(response_preview("{\"embeddings\":[[0.1,0.2]]}", 200), "");
  EXPECT_EQ(error_text("{\"error\":\"model \\\"x\\\" not found\"}"), "model \"x\" not found");
  EXPECT_EQ(error_text("{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}"), "bad");
  EXPECT_EQ(error_text("<html>oops</html>"), "");
  EXPECT_EQ(cut_chars("héllo", 2), "hé");
}

TEST(Query, ParsesEveryParameter) {
  Query q;
  std::string err;
  ASSERT_TRUE(parse_query(
      "/analytics/search",
      "model=llama3.2%3Alatest&prompt_search=sky+blue&status=5xx&user=bob&backend=gpu&endpoint=%2Fapi%2Fchat"
      "&start_time=2026-11-27T07:00:00Z&end_time=1795770000&limit=5000&offset=10",
      1795770000000, q, err))
      << err;
  EXPECT_EQ(q.kind, QueryKind::search);
  EXPECT_EQ(q.f.model, "llama3.2:latest");
  EXPECT_EQ(q.f.prompt_search, "sky blue");
  EXPECT_EQ(q.f.status_class, 5);
  EXPECT_EQ(q.f.user, "bob");
  EXPECT_EQ(q.f.endpoint, "/api/chat");
  EXPECT_EQ(q.f.start_ms, 1795762800000);
  EXPECT_EQ(q.f.end_ms, 1795770000000);
  EXPECT_EQ(q.limit, kSearchLimitMax) << "capped";
  EXPECT_EQ(q.offset, 10u);

  Query s;
  ASSERT_TRUE(parse_query("/analytics/stats", "", 1795770000000, s, err));
  EXPECT_EQ(s.f.end_ms - s.f.start_ms, 86400000 + 1) << "last 24 hours by default";
  Query e;
  ASSERT_TRUE(parse_query("/analytics/export", "format=csv&status=error", 1795770000000, e, err));
  EXPECT_TRUE(e.csv);
  EXPECT_TRUE(e.f.errors_only);
  EXPECT_EQ(e.limit, ~0u) << "export takes everything by default";
  Query d;
  ASSERT_TRUE(parse_query("/analytics/", "", 0, d, err));
  EXPECT_EQ(d.kind, QueryKind::dashboard);
}

TEST(Query, RejectsBadParametersWithTheirName) {
  for (auto [query, word] :
       std::vector<std::pair<const char*, const char*>>{{"start_time=soon", "start_time"},
                                                        {"end_time=2026-02-30T25:00", "end_time"},
                                                        {"limit=0", "limit"},
                                                        {"limit=ten", "limit"},
                                                        {"offset=-3", "offset"},
                                                        {"status=600", "status"},
                                                        {"format=xml", "format"},
                                                        {"nonsense=1", "nonsense"},
                                                        {"start_time=1800000000&end_time=1700000000", "before"}}) {
    Query q;
    std::string err;
    EXPECT_FALSE(parse_query("/analytics/search", query, 1795770000000, q, err)) << query;
    EXPECT_NE(err.find(word), std::string::npos) << query << ": " << err;
  }
  Query q;
  std::string err;
  EXPECT_FALSE(parse_query("/analytics/other", "", 0, q, err));
}

TEST(Query, TimesInIso8601AndUnixSeconds) {
  int64_t ms;
  ASSERT_TRUE(parse_time("2026-11-27", ms));
  EXPECT_EQ(ms, 1795737600000);
  ASSERT_TRUE(parse_time("2026-11-27T01:02:03.5Z", ms));
  EXPECT_EQ(ms, 1795737600000 + 3723500);
  ASSERT_TRUE(parse_time("2026-11-27T02:00:00+01:00", ms));
  EXPECT_EQ(ms, 1795737600000 + 3600000);
  ASSERT_TRUE(parse_time("1795737600.25", ms));
  EXPECT_EQ(ms, 1795737600250);
  EXPECT_FALSE(parse_time("2026-11-27T", ms));
  EXPECT_FALSE(parse_time("-5", ms));
  EXPECT_EQ(corral::core::iso_time(1795737600250), "2026-11-27T00:00:00.250Z");
}

namespace {
Row sample_row(int64_t time_ms, const std::string& prompt) {
  Record rec;
  rec.n.time_us = time_ms * 1000;
  rec.n.status = 200;
  rec.n.stream = 1;
  rec.n.endpoint = 1;  // /api/generate
  rec.set(kRequestId, "id-" + std::to_string(time_ms));
  rec.set(kClientIp, "127.0.0.1");
  rec.set(kModel, "m");
  rec.set(kPromptPreview, prompt);
  rec.set(kResponseHead, "{\"response\":\"ok\",\"done\":true}\n");
  Row row;
  decode(rec, 200, row);
  return row;
}
std::string temp_dir(const char* name) {
  std::string d = std::string("/tmp/corral-unit-") + name + "-" + std::to_string(getpid());
  std::filesystem::remove_all(d);
  return d;
}
}  // namespace

TEST(Rows, CsvQuotesPerRfc4180AndJsonEscapes) {
  Row r = sample_row(1795737600000, "say \"hi\", then\nleave");
  EXPECT_EQ(r[cUser].s, "127.0.0.1") << "no key name: the client address";
  EXPECT_EQ(r[cResponsePreview].s, "ok");
  std::string csv;
  append_csv(csv, r);
  EXPECT_NE(csv.find(",\"say \"\"hi\"\", then\nleave\","), std::string::npos) << csv;
  EXPECT_EQ(csv.substr(csv.size() - 2), "\r\n");
  std::string json;
  append_json(json, r);
  EXPECT_NE(json.find("\"prompt_preview\":\"say \\\"hi\\\", then\\nleave\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"stream\":true"), std::string::npos);
  EXPECT_NE(json.find("\"key_name\":null"), std::string::npos);
  EXPECT_EQ(json.rfind("{\"time\":\"2026-11-27T00:00:00.000Z\"", 0), 0u);
}

TEST(Rows, PreviewsAreCappedOrOff) {
  Record rec;
  rec.n.status = 200;
  rec.n.prompt_chars = 26;
  rec.set(kPromptPreview, "héllo wörld, a long prompt");
  rec.set(kResponseHead, "{\"response\":\"ünïcode answer\",\"done\":true}\n");
  Row row;
  decode(rec, 5, row);
  EXPECT_EQ(row[cPromptPreview].s, "héllo");
  EXPECT_EQ(row[cResponsePreview].s, "ünïco");
  decode(rec, 0, row);  // analytics.preview_chars: 0
  EXPECT_TRUE(row[cPromptPreview].null);
  EXPECT_TRUE(row[cResponsePreview].null);
  EXPECT_EQ(row[cPromptChars].i, 26) << "sizes are still recorded";
}

TEST(Sinks, SqliteWritesBatchesAndExpiresInSmallSteps) {
  std::string dir = temp_dir("sqlite");
  std::string err;
  auto sink = open_sqlite_sink(dir + "/sub/a.db", err);
  ASSERT_TRUE(sink) << err;
  std::vector<Row> rows;
  for (int i = 0; i < 25; ++i) rows.push_back(sample_row(1000 + i, std::string(1, char('a' + i))));
  SpoolPosition pos;
  EXPECT_FALSE(sink->position(pos)) << "a new store has read no spool";
  ASSERT_TRUE(sink->write(rows.data(), rows.size(), {3, 4096}, err)) << err;
  ASSERT_TRUE(sink->position(pos));
  EXPECT_EQ(pos, (SpoolPosition{3, 4096}));
  EXPECT_EQ(sink->expire(1010, 4, err), 4) << "at most `limit` per call";
  EXPECT_EQ(sink->expire(1010, 100, err), 6);
  EXPECT_EQ(sink->expire(1010, 100, err), 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/sub/a.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*), MIN(time_ms) FROM requests", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 15);
  EXPECT_EQ(sqlite3_column_int(st, 1), 1010);
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}

TEST(Sinks, JsonlRotatesBySizeAndKeepsTheNewestFiles) {
  std::string dir = temp_dir("jsonl");
  corral::config::AnalyticsConfig cfg;
  cfg.path = dir + "/r.jsonl";
  cfg.jsonl_max_mb = 1;
  cfg.jsonl_keep = 2;
  std::string err;
  auto sink = open_jsonl_sink(cfg, err);
  ASSERT_TRUE(sink) << err;
  std::vector<Row> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(sample_row(i, std::string(900, 'p')));
  for (int b = 0; b < 40; ++b) {  // ~4 MB in all
    ASSERT_TRUE(sink->write(batch.data(), batch.size(), {1, uint64_t(b)}, err)) << err;
  }
  SpoolPosition pos;
  ASSERT_TRUE(sink->position(pos));
  EXPECT_EQ(pos, (SpoolPosition{1, 39}));
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(cfg.path + ".1"));
  EXPECT_TRUE(fs::exists(cfg.path + ".2"));
  EXPECT_FALSE(fs::exists(cfg.path + ".3")) << "jsonl_keep: 2";
  for (const char* suffix : {"", ".1", ".2"}) EXPECT_LE(fs::file_size(cfg.path + suffix), 1u << 20);
  std::ifstream in(cfg.path);
  std::string line;
  size_t lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
  }
  EXPECT_GT(lines, 0u);
  fs::remove_all(dir);
}

namespace {
std::string id_of(int64_t i) {
  std::string s = std::to_string(i);
  s.insert(0, 1, 'r');
  return s;
}
Record numbered(int64_t i) {
  Record r;
  r.n.time_us = i;
  r.set(kRequestId, id_of(i));
  return r;
}
}  // namespace

TEST(Spool, RecordsComeBackInOrderAcrossSegmentsAndRestarts) {
  std::string dir = temp_dir("spool");
  std::string err;
  SpoolPosition start;
  {
    SpoolWriter w;
    ASSERT_TRUE(w.open(dir, err)) << err;
    start = {w.end().segment, 0};
    for (int i = 0; i < 10; ++i) w.add(numbered(i).bytes());
    ASSERT_TRUE(w.write(err)) << err;
  }
  SpoolWriter w2;  // a restart: a new segment after the old one
  ASSERT_TRUE(w2.open(dir, err));
  EXPECT_EQ(w2.end().segment, start.segment + 1);
  for (int i = 10; i < 15; ++i) w2.add(numbered(i).bytes());
  SpoolReader reader(dir, start);
  Record r;
  int64_t expect = 0;
  while (reader.next(w2.end(), r)) EXPECT_EQ(r.n.time_us, expect++);
  EXPECT_EQ(expect, 10) << "nothing past what the writer published";
  ASSERT_TRUE(w2.write(err));
  while (reader.next(w2.end(), r)) {
    EXPECT_EQ(r.n.time_us, expect++);
    EXPECT_EQ(r.get(kRequestId), id_of(r.n.time_us));
  }
  EXPECT_EQ(expect, 15);
  EXPECT_EQ(reader.position(), w2.end());
  reader.remove_consumed();
  EXPECT_EQ(spool_segments(dir), std::vector<uint64_t>{w2.end().segment}) << "the finished segment is gone";
  SpoolReader resumed(dir, {w2.end().segment, 0});  // from a saved position
  int again = 0;
  while (resumed.next(w2.end(), r)) ++again;
  EXPECT_EQ(again, 5);
  std::filesystem::remove_all(dir);
}

TEST(Spool, ATornTailFromACrashIsSkipped) {
  std::string dir = temp_dir("spool-torn");
  std::string err;
  uint64_t first;
  {
    SpoolWriter w;
    ASSERT_TRUE(w.open(dir, err));
    first = w.end().segment;
    for (int i = 0; i < 3; ++i) w.add(numbered(i).bytes());
    ASSERT_TRUE(w.write(err));
  }
  std::ofstream(segment_path(dir, first), std::ios::app)
      << std::string("\x40\x00\x00\x00garbage", 11);  // half a record
  SpoolWriter w;
  ASSERT_TRUE(w.open(dir, err));
  w.add(numbered(3).bytes());
  ASSERT_TRUE(w.write(err));
  SpoolReader reader(dir, {first, 0});
  Record r;
  std::vector<int64_t> seen;
  while (reader.next(w.end(), r)) seen.push_back(r.n.time_us);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3}));
  std::filesystem::remove_all(dir);
}

// A reader that gives its buffer back (the ingest thread, quiet) reads on from
// where it was: mid-buffer, and caught up before the writer adds more.
TEST(Spool, AReaderThatGaveItsBufferBackReadsOnWhereItWas) {
  std::string dir = temp_dir("spool-release");
  std::string err;
  SpoolWriter w;
  ASSERT_TRUE(w.open(dir, err)) << err;
  SpoolReader reader(dir, {w.end().segment, 0});
  for (int i = 0; i < 10; ++i) w.add(numbered(i).bytes());
  ASSERT_TRUE(w.write(err)) << err;
  Record r;
  std::vector<int64_t> seen;
  for (int i = 0; i < 4 && reader.next(w.end(), r); ++i) seen.push_back(r.n.time_us);
  reader.release_memory();  // six records read ahead into its buffer, not returned yet
  while (reader.next(w.end(), r)) seen.push_back(r.n.time_us);
  reader.release_memory();  // caught up
  for (int i = 10; i < 12; ++i) w.add(numbered(i).bytes());
  ASSERT_TRUE(w.write(err)) << err;
  while (reader.next(w.end(), r)) seen.push_back(r.n.time_us);
  std::vector<int64_t> all(12);
  for (int i = 0; i < 12; ++i) all[i] = i;
  EXPECT_EQ(seen, all);
  EXPECT_EQ(reader.position(), w.end());
  std::filesystem::remove_all(dir);
}

// The offload thread spools a ring holding many write chunks' worth (it writes
// SpoolWriter::kWriteChunk at a time), in order and completely.
TEST(Service, ARingOfManyWriteChunksIsSpooledInOrder) {
  std::string dir = temp_dir("service-chunks");
  corral::config::AnalyticsConfig cfg;
  cfg.backend = "jsonl";
  cfg.path = dir + "/r.jsonl";
  cfg.ring_kb = 4096;
  cfg.flush_fill_percent = 0;  // drained at stop(), all at once
  cfg.flush_interval_ms = 60000;
  Service svc(cfg, 1);
  std::string err;
  ASSERT_TRUE(svc.start(err)) << err;
  const std::string pad(400, 'x');
  size_t bytes = 0;
  int n = 0;
  for (; bytes < 4 * SpoolWriter::kWriteChunk; ++n) {
    Record rec = numbered(n);
    rec.set(kPromptPreview, pad);
    ASSERT_TRUE(svc.ring(0).push(rec)) << n;
    bytes += rec.bytes().size();
  }
  svc.stop();
  EXPECT_EQ(svc.spooled(), uint64_t(n));
  EXPECT_EQ(svc.written(), uint64_t(n));
  std::ifstream in(cfg.path);
  std::string line;
  int i = 0;
  while (std::getline(in, line)) {
    EXPECT_NE(line.find("\"" + id_of(i) + "\""), std::string::npos) << "line " << i << ": " << line.substr(0, 120);
    ++i;
  }
  EXPECT_EQ(i, n);
  std::filesystem::remove_all(dir);
}

// Both sinks step the ingest thread's RunSlice once per row they store (run 0: each step
// naps), SQLite also before each page it writes; so a long batch or commit gives the CPU up
// in between. Without a slice they never sleep.
TEST(Sinks, EachStoredRowIsAStepOfTheirSlice) {
  std::string dir = temp_dir("slice");
  corral::config::AnalyticsConfig cfg;
  cfg.path = dir + "/r.jsonl";
  std::string err;
  std::vector<Row> rows;
  for (int i = 0; i < 30; ++i) rows.push_back(sample_row(1000 + i, "p"));
  for (bool sqlite : {true, false}) {
    SCOPED_TRACE(sqlite ? "sqlite" : "jsonl");
    auto sink = sqlite ? open_sqlite_sink(dir + "/s.db", err) : open_jsonl_sink(cfg, err);
    ASSERT_TRUE(sink) << err;
    ASSERT_TRUE(sink->write(rows.data(), rows.size(), {1, 1}, err)) << err;  // no slice: nothing to step
    corral::core::RunSlice slice(0, 1);
    slice.on(true);
    sink->slice_by(&slice);
    ASSERT_TRUE(sink->write(rows.data(), rows.size(), {1, 2}, err)) << err;
    if (sqlite) EXPECT_GT(slice.naps(), rows.size()) << "and each page the commit writes (sliced_vfs)";
    else EXPECT_EQ(slice.naps(), rows.size());
  }
  std::filesystem::remove_all(dir);
}

// Records stored while the ingest thread yields (the proxy running, no flood) are stored in
// slices: 3,000 of them take milliseconds, past kSliceRunUs, so it napped between them.
TEST(Service, TheIngestThreadNapsBetweenSlicesWhileItYields) {
  std::string dir = temp_dir("service-naps");
  corral::config::AnalyticsConfig cfg;
  cfg.path = dir + "/a.db";
  cfg.flush_interval_ms = 10;
  Service svc(cfg, 1);
  std::string err;
  ASSERT_TRUE(svc.start(err)) << err;
  const int n = 3000;
  for (int i = 0; i < n; ++i) {
    Record rec = numbered(i);
    while (!svc.ring(0).push(rec)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (int i = 0; i < 3000 && svc.written() < uint64_t(n); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(svc.written(), uint64_t(n)) << "all stored while yielding, none left for stop()";
  EXPECT_GT(svc.ingest_naps(), 0u);
  svc.stop();
  std::filesystem::remove_all(dir);
}

// A store an older corral made (no model_alias column) is opened, given the
// column, and takes new rows; its old rows stay.
TEST(Sinks, OlderStoreGetsTheNewColumns) {
  std::string dir = temp_dir("sqlite-old");
  std::string path = dir + "/old.db";
  std::filesystem::create_directories(dir);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE requests(id INTEGER PRIMARY KEY, time_ms INTEGER, model TEXT);"
                         "INSERT INTO requests(time_ms, model) VALUES(5, 'old');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string err;
  auto sink = open_sqlite_sink(path, err);
  ASSERT_TRUE(sink) << err;
  std::vector<Row> rows{sample_row(1000, "x")};
  rows[0][cModelAlias].set("fast");
  ASSERT_TRUE(sink->write(rows.data(), rows.size(), {1, 1}, err)) << err;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT model, model_alias FROM requests ORDER BY time_ms", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "old");
  EXPECT_EQ(sqlite3_column_type(st, 1), SQLITE_NULL);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), "fast");
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}
