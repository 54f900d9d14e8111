#include "corral/analytics/service.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "corral/analytics/report.h"
#include "corral/core/clock.h"
#include "corral/core/heap.h"
#include "corral/core/log.h"

namespace corral::analytics {
namespace {
constexpr size_t kMaxJobs = 64;              // queries waiting for the query thread
constexpr size_t kMaxSpoolBuffer = 8 << 20;  // past this (spool unwritable) the rings fill and records drop
constexpr int kExpireBatch = 1000;           // rows per retention delete (one short transaction)
constexpr int64_t kExpireEveryMs = 60000;
constexpr int64_t kRetryMs = 1000;           // after the store refused a batch
constexpr int kStopPollMs = 20;              // stopping: the offload thread's look at the rings
constexpr int kIngestWaitMs = 1000;          // caught up: the ingest thread's longest wait for the spool
constexpr int64_t kQuietMs = 2000;           // no records this long: freed heap pages go back to the system
constexpr int64_t kShutdownStoreMs = 10000;  // then what is left stays in the spool for the next start
// While the machine is busy (under kBusyIdle of its CPU time idle over kBusyCheckMs)
// the store takes one batch per kBusyCheckMs (a few % of a core): even at idle
// priority, a store running whenever a busy proxy blocks for a moment would cool
// its caches.
constexpr double kBusyIdle = 0.2;
constexpr int kBusyCheckMs = 250;
constexpr size_t kPacedBatch = 100;  // records per paced batch: some 400 a second
// While yielding, the ingest thread runs at most kSliceRunUs between naps of kSliceNapUs
// (core::RunSlice: idle priority alone does not yield to other processes' tasks). c=1 p99
// through corral grew with the run: 220-242 us at 100, 294-330 at 200, 437-489 at 400, and
// 2.1-2.8 ms unsliced (--analytics none: 193-212).
constexpr int64_t kSliceRunUs = 100;
constexpr int64_t kSliceNapUs = 50;

int64_t mono_ms() { return core::mono_us() / 1000; }

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Whether the machine spent under kBusyIdle of its CPU time idle over the last
// kBusyCheckMs or more (/proc/stat, read at most that often).
class BusyMeter {
 public:
  bool busy(int64_t now_ms) {
    if (now_ms - sampled_ms_ >= kBusyCheckMs) {
      busy_ = sample() < kBusyIdle;
      sampled_ms_ = now_ms;
    }
    return busy_;
  }

 private:
  double sample() {
    FILE* f = std::fopen("/proc/stat", "r");
    if (!f) return 1;
    unsigned long long v[8] = {};
    int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                          &v[6], &v[7]);
    std::fclose(f);
    if (got < 5) return 1;
    uint64_t idle = v[3] + v[4], total = 0;
    for (unsigned long long x : v) total += x;
    double share = total > total_ ? double(idle - idle_) / double(total - total_) : 1;
    idle_ = idle;
    total_ = total;
    return share;
  }

  uint64_t idle_ = 0, total_ = 0;
  int64_t sampled_ms_ = -kBusyCheckMs;
  bool busy_ = false;
};
}  // namespace

Service::Service(const config::AnalyticsConfig& cfg, unsigned workers)
    : cfg_(cfg),
      spool_dir_(cfg.path + ".spool"),
      offload_slice_(kSliceRunUs, kSliceNapUs),
      ingest_slice_(kSliceRunUs, kSliceNapUs) {
  for (unsigned i = 0; i < workers; ++i) {
    rings_.push_back(std::make_unique<RecordRing>(size_t(cfg.ring_kb) << 10));
    rings_.back()->wake_at(&offload_wake_, rings_.back()->capacity() / 100 * cfg.flush_fill_percent);
  }
}

Service::~Service() { stop(); }

bool Service::start(std::string& err) {
  sink_ = cfg_.backend == "sqlite" ? open_sqlite_sink(cfg_.path, err) : open_jsonl_sink(cfg_, err);
  if (!sink_ || !writer_.open(spool_dir_, err)) return false;
  sink_->slice_by(&ingest_slice_);
  if (!core::idle_priority_reversible())
    log::write(log::Level::info, "analytics_priority",
               "priority=normal reason=\"idle CPU priority could not be left again (no CAP_SYS_NICE, RLIMIT_NICE under "
               "20)\"");
  if (!sink_->position(stored_)) {  // a new store: everything spooled so far belongs to it
    std::vector<uint64_t> segs = spool_segments(spool_dir_);
    stored_ = {segs.front(), 0};
  }
  end_ = writer_.end();
  offload_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "corral-offload");
    offload_loop();
  });
  ingest_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "corral-ingest");
    ingest_priority_.attach();
    ingest_loop();
  });
  if (queryable()) {
    query_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "corral-query");
      query_loop();
    });
  }
  return true;
}

void Service::stop() {
  if (stopping_.exchange(true)) return;
  ingest_priority_.raise();  // what is left is stored at normal priority
  offload_wake_.signal();
  cv_.notify_all();
  if (offload_.joinable()) offload_.join();
  if (ingest_.joinable()) ingest_.join();
  if (query_.joinable()) query_.join();
}

bool Service::submit(int fd, const Query& q, std::string request_id) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (jobs_.size() >= kMaxJobs || stopping_.load(std::memory_order_relaxed)) return false;
    jobs_.push_back({fd, q, std::move(request_id)});
  }
  cv_.notify_all();
  return true;
}

SpoolPosition Service::spool_end() {
  std::lock_guard<std::mutex> lock(end_m_);
  return end_;
}

// The ingest thread, caught up: until the offload thread spools more (or the spool
// closes), at most timeout_ms.
void Service::wait_for_spool(SpoolPosition seen, int timeout_ms) {
  std::unique_lock<std::mutex> lock(end_m_);
  end_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                   [&] { return !(end_ == seen) || spool_closed_.load(std::memory_order_relaxed); });
}

void Service::publish_end(bool closed) {
  {
    std::lock_guard<std::mutex> lock(end_m_);
    end_ = writer_.end();
    if (closed) spool_closed_.store(true, std::memory_order_release);
  }
  end_cv_.notify_one();
}

// Copies waiting records into the spool buffer until it holds `limit` bytes; how many.
size_t Service::drain(size_t limit) {
  size_t moved = 0;
  for (auto& ring : rings_) {
    for (std::string_view b; !(b = ring->front()).empty();) {
      if (writer_.buffered() >= limit) return moved;
      writer_.add(b);
      ring->pop();
      ++moved;
    }
  }
  return moved;
}

// Moves what the rings hold to the spool, SpoolWriter::kWriteChunk at a time (the
// buffer stays that small, however full the rings were). While the spool refuses
// writes, up to kMaxSpoolBuffer waits in memory, then the rings fill.
void Service::spool_rings() {
  for (;;) {
    unwritten_ += drain(spool_failing_ ? kMaxSpoolBuffer : SpoolWriter::kWriteChunk);
    if (!writer_.pending()) return;
    std::string err;
    spool_failing_ = !writer_.write(err);
    if (spool_failing_) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      if (mono_ms() - spool_error_log_ms_ >= 10000) {
        spool_error_log_ms_ = mono_ms();
        log::write(
            log::Level::error, "analytics_spool_failed",
            "dir=" + log::quote(spool_dir_) + " error=" + log::quote(err) + " action=\"kept in memory; retrying\"");
      }
      return;
    }
    spooled_.fetch_add(unwritten_, std::memory_order_relaxed);
    unwritten_ = 0;
    publish_end(false);
    offload_slice_.step();
  }
}

void Service::offload_loop() {
  int64_t stop_deadline = 0;
  for (;;) {
    bool stopping = stopping_.load(std::memory_order_acquire);
    offload_slice_.on(!stopping);
    spool_rings();
    if (stopping) {
      bool empty = !writer_.pending();
      for (auto& ring : rings_) empty = empty && ring->front().empty();
      if (stop_deadline == 0) stop_deadline = mono_ms() + kShutdownStoreMs;
      if (empty || mono_ms() >= stop_deadline) break;
      sleep_ms(kStopPollMs);
      continue;
    }
    // Asleep until a ring passes its mark (RecordRing::wake_at), stop(), or flush_interval.
    offload_wake_.wait(int(cfg_.flush_interval_ms));
  }
  publish_end(true);
}

// Decodes up to max spooled records into batch_; how many.
size_t Service::read_batch(SpoolReader& reader, SpoolPosition end, size_t max) {
  size_t n = 0;
  Record rec;
  while (n < max && reader.next(end, rec)) {
    ingest_slice_.step();
    if (n == batch_.size()) batch_.emplace_back();
    decode(rec, cfg_.preview_chars, batch_[n++]);
  }
  return n;
}

bool Service::store_batch(size_t n, SpoolReader& reader, int64_t now) {
  std::string err;
  if (sink_->write(batch_.data(), n, reader.position(), err)) {
    written_.fetch_add(n, std::memory_order_relaxed);
    stored_ = reader.position();
    reader.remove_consumed();
    return true;
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  if (now - store_error_log_ms_ >= 10000) {
    store_error_log_ms_ = now;
    log::write(
        log::Level::error, "analytics_write_failed",
        "store=" + log::quote(cfg_.path) + " error=" + log::quote(err) + " action=\"kept in the spool; retrying\"");
  }
  return false;
}

// Retention: at most kExpireBatch rows per call, so a big backlog is deleted in many short transactions.
void Service::expire(int64_t now) {
  if (cfg_.retention_days == 0 || now < next_expire_ms_) return;
  std::string err;
  int64_t cutoff = core::wall_us() / 1000 - int64_t(cfg_.retention_days) * 86400000;
  int64_t n = sink_->expire(cutoff, kExpireBatch, err);
  if (n < 0) log::write(log::Level::warn, "analytics_retention_failed", "error=" + log::quote(err));
  next_expire_ms_ = n == kExpireBatch ? now : now + kExpireEveryMs;
}

// Caught up: the rows, the store's page cache and the reader's buffer go back
// (a burst's working set should not stay in RSS while nothing happens); quiet for
// kQuietMs, the heap pages they took go back to the system too, once.
void Service::give_back_memory(SpoolReader& reader, bool quiet) {
  if (!batch_.empty()) {
    std::vector<Row>().swap(batch_);
    sink_->release_memory();
    reader.release_memory();
    heap_kept_ = true;
  }
  if (quiet && heap_kept_) {
    core::give_back_free_heap();
    heap_kept_ = false;
  }
}

// Records spooled this run and not yet stored.
uint64_t Service::backlog() const {
  uint64_t s = spooled(), w = written();
  return s > w ? s - w : 0;
}

void Service::ingest_loop() {
  bool flooded = false;  // past max_backlog: stored at full speed until back under one batch
  int64_t stop_deadline = 0;
  SpoolReader reader(spool_dir_, stored_);
  BusyMeter meter;
  int64_t last_batch_ms = 0;
  for (;;) {
    bool closed = spool_closed_.load(std::memory_order_acquire);
    if (closed && stop_deadline == 0) stop_deadline = mono_ms() + kShutdownStoreMs;
    uint64_t behind = backlog();
    flooded = flooded ? behind > cfg_.batch_size : behind > cfg_.max_backlog;
    int64_t now = mono_ms();
    bool busy = meter.busy(now);  // read every round: the window is the last kBusyCheckMs, not since the last batch
    // Idle CPU priority, except in a flood (a machine never idle long enough) and shutting down,
    // which store at normal priority and full speed. A busy machine gets paced batches.
    bool yielding = !closed && !flooded;
    if (yielding) ingest_priority_.lower();
    else ingest_priority_.raise();
    ingest_slice_.on(yielding);
    bool paced = yielding && busy;
    size_t most = paced ? std::min<size_t>(cfg_.batch_size, kPacedBatch) : cfg_.batch_size;
    SpoolPosition end = spool_end();
    size_t n = read_batch(reader, end, most);
    if (n > 0 && !store_batch(n, reader, now)) {
      reader = SpoolReader(spool_dir_, stored_);  // read them again next time
      if (closed && now >= stop_deadline) break;
      sleep_ms(int(kRetryMs));
      continue;
    }
    expire(now);
    bool caught_up = reader.position() == end;
    if (closed && (caught_up || now >= stop_deadline)) {
      if (!caught_up)
        log::write(log::Level::warn, "analytics_spool_kept",
                   "dir=" + log::quote(spool_dir_) + " note=\"stored at the next start\"");
      break;
    }
    if (n > 0) last_batch_ms = now;
    else if (!closed) give_back_memory(reader, now - last_batch_ms >= kQuietMs);
    if (n > 0 && paced) sleep_ms(kBusyCheckMs);
    else if (n < most) wait_for_spool(end, kIngestWaitMs);
  }
}

void Service::query_loop() {
  Reports reports(cfg_.path);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(m_);
      cv_.wait(lock, [this] { return !jobs_.empty() || stopping_.load(std::memory_order_relaxed); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    reports.answer(job.fd, job.q, job.request_id);
    ::close(job.fd);
  }
}

}  // namespace corral::analytics
