// Analytics end to end: real corral and corral-sim processes, the real SQLite
// file corral writes (read back here with the SQLite C API), the HTTP query
// endpoints, CSV read by Python's csv module, SIGTERM and restart, retention,
// a full record ring, a store that is busy for a while, and the jsonl and none backends.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"
#include "store.h"

using namespace harness;

namespace {

const std::vector<std::string> kModels = {"--models", "alpha=1000,beta=1000,embedder=1000"};

class Analytics : public IoTest {};

std::string gen(const std::string& model, const std::string& prompt, bool stream) {
  return "{\"model\":\"" + model + "\",\"prompt\":\"" + prompt + "\",\"stream\":" + (stream ? "true" : "false") + "}";
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string db_of(const Corral& c) { return c.data_dir + "/analytics.db"; }

long total_of(int port, const std::string& query) {
  Response r = request(port, "GET", "/analytics/search?" + query);
  EXPECT_EQ(r.status, 200) << query << " -> " << r.body;
  return json_int(r.body, "total");
}

// Runs a Python snippet with the text on stdin; returns its stdout.
std::string python(const std::string& code, const std::string& input) {
  char path[] = "/tmp/corral-analytics-XXXXXX";
  int fd = mkstemp(path);
  ::close(fd);
  std::ofstream(path) << input;
  std::string cmd = "python3 -c '" + code + "' < " + path;
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  ::unlink(path);
  return out;
}

}  // namespace

TEST_P(Analytics, StoreHoldsEveryRequestWithItsFields) {
  Sim sim(kModels);
  Corral corral({sim.url()}, io());
  std::vector<std::string> ids;
  auto keep = [&](const Response& r) {
    ids.push_back(r.header("x-request-id"));
    return r.status;
  };
  EXPECT_EQ(keep(request(corral.port, "POST", "/api/generate", gen("alpha", "Why is the sky blue?", true),
                         {"User-Agent: analytics-test/1.0"})),
            200);
  EXPECT_EQ(
      keep(request(
          corral.port, "POST", "/api/chat",
          R"({"model":"beta","messages":[{"role":"user","content":"write a poem about rivers"}],"stream":false})")),
      200);
  EXPECT_EQ(keep(request(corral.port, "POST", "/v1/chat/completions",
                         R"({"model":"alpha","messages":[{"role":"user","content":"hi"}],"stream":true})")),
            200);
  EXPECT_EQ(keep(request(corral.port, "POST", "/api/embed", R"({"model":"embedder","input":"some text"})")), 200);
  EXPECT_EQ(keep(request(corral.port, "POST", "/api/generate", gen("missing", "x", false))), 404);
  EXPECT_EQ(keep(request(corral.port, "GET", "/api/tags")), 200);
  EXPECT_EQ(keep(request(corral.port, "POST", "/api/generate", gen("alpha", "boom", false), {"X-Sim-Status: 500"})),
            500);
  // corral's own endpoints are not recorded
  EXPECT_EQ(request(corral.port, "GET", "/metrics").status, 200);
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200);
  const std::string db = db_of(corral);
  ASSERT_EQ(wait_rows(db, long(ids.size())), long(ids.size()));
  std::set<std::string> stored;
  for (const std::string& id : ids) {
    EXPECT_EQ(count_rows(db, "request_id = '" + id + "'"), 1) << id;
    stored.insert(id);
  }
  EXPECT_EQ(stored.size(), ids.size());

  auto field = [&](size_t i, const std::string& col) {
    return sql(db, "SELECT " + col + " FROM requests WHERE request_id = '" + ids[i] + "'");
  };
  EXPECT_EQ(field(0, "model"), "alpha");
  EXPECT_EQ(field(0, "endpoint"), "/api/generate");
  EXPECT_EQ(field(0, "method"), "POST");
  EXPECT_EQ(field(0, "status"), "200");
  EXPECT_EQ(field(0, "stream"), "1");
  EXPECT_EQ(field(0, "user_agent"), "analytics-test/1.0");
  EXPECT_EQ(field(0, "client_ip"), "127.0.0.1");
  EXPECT_EQ(field(0, "backend"), "127.0.0.1:" + std::to_string(sim.port));
  EXPECT_EQ(field(0, "prompt_preview"), "Why is the sky blue?");
  EXPECT_EQ(field(0, "category"), "question");
  EXPECT_EQ(field(0, "prompt_chars"), "20");
  EXPECT_EQ(field(0, "completion_tokens"), "8");  // corral-sim's default answer
  EXPECT_NE(field(0, "prompt_tokens"), "NULL");
  EXPECT_NE(field(0, "ttft_ms"), "NULL");
  EXPECT_NE(field(0, "tokens_per_second"), "NULL");
  EXPECT_NE(field(0, "load_ms"), "NULL");
  EXPECT_EQ(field(0, "response_preview").rfind("token0 token1", 0), 0u) << field(0, "response_preview");
  EXPECT_GT(std::stol(field(0, "bytes_out")), 500);
  EXPECT_EQ(field(1, "stream"), "0");
  EXPECT_EQ(field(1, "category"), "creative");
  EXPECT_EQ(field(1, "response_preview").rfind("token0", 0), 0u);
  EXPECT_EQ(field(2, "endpoint"), "/v1/chat/completions");
  EXPECT_EQ(field(2, "response_preview").rfind("token0", 0), 0u) << "SSE chunks";
  EXPECT_EQ(field(3, "endpoint"), "/api/embed");
  EXPECT_EQ(field(4, "status"), "404");
  EXPECT_EQ(field(4, "error"), "model \"missing\" not found, try pulling it first");
  EXPECT_EQ(field(4, "backend"), "NULL");
  EXPECT_EQ(field(5, "endpoint"), "/api/tags");
  EXPECT_EQ(field(6, "status"), "500");
  EXPECT_NE(field(6, "error"), "NULL");
  EXPECT_EQ(count_rows(db, "endpoint IN ('/metrics', '/health', '/analytics')"), 0);
  // corral's clock, not the backend's: every record is from this test's minute
  EXPECT_LT(std::abs(std::stoll(field(0, "time_ms")) - now_unix_ms()), 60000);
}

TEST_P(Analytics, StatsSearchAndExportAgreeWithTheTraffic) {
  Sim sim(kModels);
  Corral corral({sim.url()}, io());
  int64_t t0 = now_unix_ms();
  auto send_from = [&](const char* ip, const std::string& body) {
    Client c(corral.port, 0, ip);
    c.send(build_request("POST", "/api/generate", body, {}));
    return c.read_response().status;
  };
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(send_from("127.0.0.1", gen("alpha", "summarize this report " + std::to_string(i), false)), 200);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send_from("127.0.0.2", gen("beta", "translate to French, please", true)), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // records are ordered by their millisecond
  for (int i = 0; i < 2; ++i) EXPECT_EQ(send_from("127.0.0.1", gen("nope", "hello", false)), 404);
  ASSERT_EQ(wait_rows(db_of(corral), 10), 10);

  Response stats = request(corral.port, "GET", "/analytics/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(json_int(stats.body, "requests"), 10) << stats.body;  // totals come first
  EXPECT_EQ(json_int(stats.body, "errors"), 2);
  EXPECT_NE(stats.body.find(R"({"model":"alpha","requests":5,"errors":0)"), std::string::npos) << stats.body;
  EXPECT_NE(stats.body.find(R"({"model":"beta","requests":3,"errors":0)"), std::string::npos);
  EXPECT_NE(stats.body.find(R"({"status":404,"requests":2,"errors":2)"), std::string::npos);
  EXPECT_NE(stats.body.find(R"({"category":"summarization","requests":5)"), std::string::npos);
  EXPECT_NE(stats.body.find("\"p99\":"), std::string::npos);
  EXPECT_NE(stats.body.find("\"series\":[{\"time\":"), std::string::npos);
  EXPECT_EQ(json_int(stats.body, "completion_tokens"), 8 * 8);

  EXPECT_EQ(total_of(corral.port, ""), 10);
  EXPECT_EQ(total_of(corral.port, "model=alpha"), 5);
  EXPECT_EQ(total_of(corral.port, "prompt_search=report+3"), 1);
  EXPECT_EQ(total_of(corral.port, "prompt_search=FRENCH"), 3) << "case-insensitive";
  EXPECT_EQ(total_of(corral.port, "prompt_search=%25"), 0) << "% is literal";
  EXPECT_EQ(total_of(corral.port, "status=404"), 2);
  EXPECT_EQ(total_of(corral.port, "status=2xx"), 8);
  EXPECT_EQ(total_of(corral.port, "status=error"), 2);
  EXPECT_EQ(total_of(corral.port, "user=127.0.0.2"), 3);
  EXPECT_EQ(total_of(corral.port, "backend=127.0.0.1:" + std::to_string(sim.port)), 8);
  EXPECT_EQ(total_of(corral.port, "model=alpha&user=127.0.0.2"), 0);
  EXPECT_EQ(total_of(corral.port, "start_time=" + std::to_string(t0 / 1000 - 5)), 10);
  EXPECT_EQ(total_of(corral.port, "end_time=" + std::to_string(t0 / 1000 - 3600)), 0);
  EXPECT_EQ(total_of(corral.port, "start_time=2020-01-01T00:00:00Z&end_time=2020-01-02"), 0);
  EXPECT_EQ(total_of(corral.port, "start_time=2020-01-01T00:00:00%2B02:00"), 10);
  Response page = request(corral.port, "GET", "/analytics/search?limit=3&offset=1");
  EXPECT_EQ(json_int(page.body, "total"), 10);
  size_t shown = 0;
  for (size_t p = page.body.find("\"request_id\""); p != std::string::npos; p = page.body.find("\"request_id\"", p + 1))
    ++shown;
  EXPECT_EQ(shown, 3u);
  EXPECT_LT(page.body.find("\"model\":\"nope\""), page.body.find("\"model\":\"beta\"")) << "newest first";

  for (const char* bad : {"start_time=yesterday", "limit=0", "status=abc", "colour=red", "offset=-1",
                          "start_time=2026-13-01", "start_time=1800000000&end_time=1700000000"}) {
    Response r = request(corral.port, "GET", std::string("/analytics/search?") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("\"error\":"), std::string::npos) << bad << " " << r.body;
  }
  EXPECT_EQ(request(corral.port, "GET", "/analytics/nothing").status, 400);
  EXPECT_EQ(request(corral.port, "POST", "/analytics/stats", "{}").status, 405);
  Response head = request(corral.port, "HEAD", "/analytics/search?model=alpha");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_NE(head.header("content-length"), "0") << "the GET answer's length";

  Response csv = request(corral.port, "GET", "/analytics/export?format=csv&model=alpha");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_NE(csv.header("content-disposition").find("attachment; filename=\"corral-analytics-"), std::string::npos);
  EXPECT_EQ(csv.header("transfer-encoding"), "chunked");
  std::string parsed = python(
      "import csv,sys\n"
      "rows = list(csv.DictReader(sys.stdin))\n"
      "print(len(rows), sorted(set(r[\"model\"] for r in rows)), sorted(r[\"prompt_preview\"] for r in rows)[0], "
      "rows[0][\"status\"])",
      csv.body);
  EXPECT_EQ(parsed, "5 ['alpha'] summarize this report 0 200\n");
  Response all = request(corral.port, "GET", "/analytics/export?format=json");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(
      python("import json,sys\nrows = json.load(sys.stdin)\nprint(len(rows), sum(r[\"status\"] == 404 for r in rows))",
             all.body),
      "10 2\n");
}

TEST_P(Analytics, SigtermLosesNoAnsweredRequestAndRestartAppends) {
  Sim sim(kModels);
  std::string dir = "/tmp/corral-analytics-restart-" + std::to_string(getpid()) + "-" + io();
  std::filesystem::remove_all(dir);
  std::set<std::string> answered;
  {
    Corral corral({sim.url()}, io(), "", {"--data-dir", dir});
    std::atomic<bool> stop{false};
    std::vector<std::future<std::vector<std::string>>> clients;
    for (int t = 0; t < 4; ++t) {
      clients.push_back(std::async(std::launch::async, [&] {
        std::vector<std::string> ids;
        while (!stop.load()) {
          Response r = request(corral.port, "POST", "/api/generate", gen("alpha", "keep going", false), {}, 3000);
          if (r.status == 200 && r.complete) ids.push_back(r.header("x-request-id"));
        }
        return ids;
      }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    corral.proc.signal(SIGTERM);  // mid-traffic
    EXPECT_EQ(corral.proc.wait(30000), 0);
    stop = true;
    for (auto& c : clients) {
      for (const std::string& id : c.get()) answered.insert(id);
    }
    corral.proc = Process();  // already stopped
  }
  ASSERT_GT(answered.size(), 20u);
  std::string db = dir + "/analytics.db";
  long before = count_rows(db);
  EXPECT_GT(before, 0);

  // A restart appends, and stores first what the first run's exit left in the spool (if
  // its 10 s to store ran out): every answered request is then in the store exactly once.
  Corral again({sim.url()}, io(), "", {"--data-dir", dir});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(request(again.port, "POST", "/api/generate", gen("beta", "more", false)).status, 200);
  EXPECT_TRUE(eventually([&] { return count_rows(db, "model = 'beta'") == 3; }, 10000));
  std::multiset<std::string> stored = stored_ids(db);
  long missing = 0;
  for (const std::string& id : answered) missing += stored.count(id) != 1;
  EXPECT_EQ(missing, 0) << "answered requests without exactly one record";
  EXPECT_GE(long(stored.size()), std::max(before, long(answered.size())) + 3);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Io, Analytics, ::testing::Values("uring", "epoll"));

TEST(AnalyticsStore, RetentionDeletesExactlyTheOldRecords) {
  Sim sim(kModels);
  std::string dir = "/tmp/corral-analytics-retention-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::string db = dir + "/analytics.db";
  {
    Corral corral({sim.url()}, "uring", "", {"--data-dir", dir});
    for (int i = 0; i < 3; ++i) request(corral.port, "POST", "/api/generate", gen("alpha", "recent", false));
    ASSERT_EQ(wait_rows(db, 3), 3);
  }
  // Records from 8 and 10 days ago (past a 7-day retention) and from 6 days ago (within it).
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  int64_t day = 86400000, now = now_unix_ms();
  std::string ins = "BEGIN;";
  for (int i = 0; i < 1500; ++i)
    ins +=
        "INSERT INTO requests(time_ms, model, status) VALUES(" + std::to_string(now - 8 * day - i) + ", 'old', 200);";
  for (int i = 0; i < 5; ++i)
    ins += "INSERT INTO requests(time_ms, model, status) VALUES(" + std::to_string(now - 10 * day) + ", 'old', 500);";
  for (int i = 0; i < 4; ++i)
    ins += "INSERT INTO requests(time_ms, model, status) VALUES(" + std::to_string(now - 6 * day) + ", 'kept', 200);";
  ins += "COMMIT;";
  ASSERT_EQ(sqlite3_exec(h, ins.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  ASSERT_EQ(count_rows(db), 3 + 1505 + 4);

  Corral corral({sim.url()}, "uring", "analytics:\n  retention_days: 7\n", {"--data-dir", dir});
  EXPECT_EQ(wait_rows(db, 7), 7) << "1,505 old records deleted (in batches of 1,000), the rest kept";
  EXPECT_EQ(count_rows(db, "model = 'old'"), 0);
  EXPECT_EQ(count_rows(db, "model = 'kept'"), 4);
  EXPECT_EQ(count_rows(db, "model = 'alpha'"), 3);
  std::filesystem::remove_all(dir);
}

TEST(AnalyticsStore, FullRingDropsAndCountsWhileRequestsSucceed) {
  Sim sim(kModels);
  // The smallest rings (16 KiB: some 50 of these records), emptied every 2 s and never sooner: a burst
  // overflows them.
  Corral corral({sim.url()}, "uring", "analytics:\n  ring_kb: 16\n  flush_interval: 2s\n  flush_fill_percent: 0\n");
  std::string db = db_of(corral);
  const int n = 400;
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(request(corral.port, "POST", "/api/generate", gen("alpha", "burst", false)).status, 200);
  std::string m = settled_metrics(corral.port);
  double dropped = value_of(m, "corral_analytics_dropped_total");
  EXPECT_GE(dropped, n / 4) << "two workers, at most two drains during the burst";
  EXPECT_EQ(request(corral.port, "GET", "/health").status, 200);
  // Everything not dropped is stored.
  EXPECT_EQ(wait_rows(db, n - long(dropped), 10000), n - long(dropped));
}

TEST(AnalyticsStore, ARingPastItsMarkWakesTheOffloadThreadSoTheSameBurstDropsNone) {
  Sim sim(kModels);
  // As above, but a ring a quarter full (the default flush_fill_percent) has its worker wake the offload thread.
  Corral corral({sim.url()}, "uring", "analytics:\n  ring_kb: 16\n  flush_interval: 2s\n");
  std::string db = db_of(corral);
  const int n = 400;
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(request(corral.port, "POST", "/api/generate", gen("alpha", "burst", false)).status, 200);
  EXPECT_EQ(value_of(settled_metrics(corral.port), "corral_analytics_dropped_total"), 0);
  EXPECT_EQ(wait_rows(db, n, 10000), n);
}

TEST(AnalyticsStore, ABusyStoreDelaysRecordsButLosesNone) {
  Sim sim(kModels);
  Corral corral({sim.url()}, "uring");
  std::string db = db_of(corral);
  ASSERT_EQ(request(corral.port, "POST", "/api/generate", gen("alpha", "first", false)).status, 200);
  ASSERT_EQ(wait_rows(db, 1), 1);
  // Another writer holds the store (a backup, say): records wait in the spool on disk.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const int n = 40;
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(request(corral.port, "POST", "/api/generate", gen("alpha", "while locked", false)).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(count_rows(db), 1) << "nothing gets past the lock";
  ASSERT_EQ(sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  EXPECT_EQ(wait_rows(db, 1 + n, 15000), 1 + n);
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(value_of(m, "corral_analytics_dropped_total"), 0);
}

// A machine that never goes idle (here: a niced spinning thread per CPU): past
// analytics.max_backlog the store stops yielding and catches up, so the spool stays
// bounded by it; under it the store takes one batch of 10 per 250 ms (3,000 records:
// 75 s), so what arrives after the last catch-up, up to max_backlog, waits longer than
// this test does (a slow run under sanitizers once left 321).
TEST(AnalyticsStore, ABacklogPastMaxBacklogIsStoredWhileTheMachineStaysBusy) {
  Sim sim(kModels);
  // Rings that wake the offload thread every ~10 records: what is left in them after the burst is
  // spooled under max_backlog, so it waits for idle time like any backlog under it.
  Corral corral({sim.url()}, "uring",
                "analytics: {batch_size: 10, max_backlog: 1000, ring_kb: 64, flush_fill_percent: 5}\n");
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i) {
    spinners.emplace_back([&] {
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);  // busy, but everyone else goes first
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the store sees a busy machine
  const int n = 3000;
  EXPECT_EQ(traffic(corral.port, n, 8, "POST", "/api/generate", gen("alpha", "busy", false), {}, 200), 0);
  double backlog = -1;
  bool caught_up =
      eventually([&] { return (backlog = metric(corral.port, "corral_analytics_backlog_records")) <= 1000; }, 15000);
  long stored = count_rows(db_of(corral));
  stop = true;
  for (std::thread& t : spinners) t.join();
  EXPECT_TRUE(caught_up) << "backlog " << backlog << " with the machine busy";
  EXPECT_GE(stored, n - 1000);
}

// The scheduling policy (sched(7): 0 SCHED_OTHER, 5 SCHED_IDLE) of pid's thread named comm, or -1.
int policy_of_thread(pid_t pid, const std::string& comm) {
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(task)) {
    if (slurp(t.path().string() + "/comm") != comm + "\n") continue;
    std::istringstream stat(slurp(t.path().string() + "/stat"));
    std::string rest;
    std::getline(stat, rest, ')');  // past "pid (comm"; then fields 3.. of proc_pid_stat(5)
    std::vector<std::string> f{std::istream_iterator<std::string>(stat), {}};
    return f.size() > 38 ? std::stoi(f[38]) : -1;  // field 41, policy
  }
  return -1;
}

bool has_cap_sys_nice() {
  std::string status = slurp("/proc/self/status");
  size_t at = status.find("CapEff:");
  return at != std::string::npos && (std::stoull(status.substr(at + 7), nullptr, 16) >> 23 & 1);  // CAP_SYS_NICE
}

// The ingest thread runs and waits at idle CPU priority, so a worker waking on its CPU runs at
// once; where SCHED_IDLE could not be left again (no CAP_SYS_NICE, RLIMIT_NICE 0) it stays
// normal and corral says why. The offload thread is normal either way.
TEST(AnalyticsStore, TheIngestThreadRunsAtIdlePriorityWhereItCanBeLeftAgain) {
  Sim sim(kModels);
  std::vector<std::string> without = {"/usr/bin/prlimit", "--nice=0:0"};
  if (has_cap_sys_nice()) without.insert(without.end(), {"/usr/bin/setpriv", "--bounding-set=-sys_nice"});
  without.push_back("--");
  for (bool privileged : {true, false}) {
    SCOPED_TRACE(privileged ? "as the test runs" : "without CAP_SYS_NICE");
    Corral corral({sim.url()}, "uring", "", {}, privileged ? std::vector<std::string>{} : without);
    ASSERT_EQ(request(corral.port, "POST", "/api/generate", gen("alpha", "hi", false)).status, 200);
    ASSERT_EQ(wait_rows(db_of(corral), 1), 1);
    int want = privileged && has_cap_sys_nice() ? SCHED_IDLE : SCHED_OTHER;
    EXPECT_EQ(policy_of_thread(corral.proc.pid(), "corral-offload"), SCHED_OTHER);
    EXPECT_TRUE(eventually([&] { return policy_of_thread(corral.proc.pid(), "corral-ingest") == want; }));
    EXPECT_EQ(corral.log().find("event=analytics_priority priority=normal") != std::string::npos, want == SCHED_OTHER)
        << corral.log();
  }
}

// Every CPU taken by a normal-priority spinner: the offload thread keeps the rings (256 KiB,
// some 1,000 records) from filling. At idle priority it got almost none of the CPU (2,988 of
// these 4,000 dropped), and raised to normal only when a ring was half full it still dropped
// some in one run of five.
TEST(AnalyticsStore, ASaturatedMachineDropsNoRecord) {
  Sim sim(kModels);
  Corral corral({sim.url()}, "uring", "analytics: {ring_kb: 256}\n");
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i)
    spinners.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  const int n = 4000;
  int bad = traffic(corral.port, n, 8, "POST", "/api/generate", gen("alpha", "saturated", false), {}, 200);
  stop = true;
  for (std::thread& t : spinners) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(value_of(settled_metrics(corral.port), "corral_analytics_dropped_total"), 0);
  EXPECT_EQ(wait_rows(db_of(corral), n, 15000), n) << settled_metrics(corral.port);
}

TEST(AnalyticsStore, JsonlBackendWritesOneObjectPerRequest) {
  Sim sim(kModels);
  std::string dir = "/tmp/corral-analytics-jsonl-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::string path = dir + "/requests.jsonl";
  {
    Corral corral({sim.url()}, "uring", "", {"--analytics", "jsonl:" + path});
    for (int i = 0; i < 4; ++i)
      request(corral.port, "POST", "/api/generate", gen(i < 3 ? "alpha" : "nope", "hi", false));
    Response q = request(corral.port, "GET", "/analytics/stats");
    EXPECT_EQ(q.status, 501);
    EXPECT_NE(q.body.find("jsonl:" + path), std::string::npos) << q.body;
    EXPECT_EQ(request(corral.port, "GET", "/analytics").status, 200) << "the page still loads";
  }  // SIGTERM flushes
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  EXPECT_EQ(python("import json,sys\nrows = [json.loads(l) for l in sys.stdin]\n"
                   "print(len(rows), sum(r[\"model\"] == \"alpha\" and r[\"status\"] == 200 for r in rows),"
                   " sum(r[\"status\"] == 404 for r in rows), rows[0][\"prompt_preview\"])",
                   all.str()),
            "4 3 1 hi\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/analytics.db"));
  std::filesystem::remove_all(dir);
}

TEST(AnalyticsStore, NoneBackendRecordsNothing) {
  Sim sim(kModels);
  Corral corral({sim.url()}, "uring", "", {"--analytics", "none"});
  EXPECT_EQ(request(corral.port, "POST", "/api/generate", gen("alpha", "hi", false)).status, 200);
  Response q = request(corral.port, "GET", "/analytics/search");
  EXPECT_EQ(q.status, 404);
  EXPECT_NE(q.body.find("analytics are off"), std::string::npos);
  std::string m = settled_metrics(corral.port);
  EXPECT_EQ(m.find("corral_analytics_records_written_total"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(corral.data_dir + "/analytics.db"));
  EXPECT_NE(corral.log().find("analytics=none"), std::string::npos);
}

TEST(AnalyticsStore, UnwritableStoreIsAClearStartupError) {
  std::string log_path = "/tmp/corral-analytics-bad-" + std::to_string(getpid()) + ".log";
  Process p({bin("CORRAL_BIN"), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--analytics",
             "sqlite:/proc/corral-cannot-write-here/analytics.db"},
            log_path);
  EXPECT_EQ(p.wait(10000), 2);
  std::ifstream in(log_path);
  std::stringstream l;
  l << in.rdbuf();
  EXPECT_NE(l.str().find("event=analytics_unavailable"), std::string::npos) << l.str();
  ::unlink(log_path.c_str());
}
