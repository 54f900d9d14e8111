// Analytics off the hot path. Each worker pushes finished requests onto its own
// RecordRing. The offload thread sleeps until a ring is flush_fill_percent full
// (its worker signals it) or flush_interval passed, then drains every ring and
// appends the records to the spool on disk: a copy and a write per 256 KiB, so it keeps
// up with any request rate and wakes a few times a second, not per request.
// The ingest thread runs at idle CPU priority and sleeps until the offload
// thread has spooled more: it reads the spool, decodes records (previews parsed
// with simdjson) and writes them to the store in batches (one transaction per
// spool write, at most batch_size records, with
// the spool position), applies retention, and deletes spooled segments once
// stored. While the machine is busy it takes one batch per 250 ms, and the store
// catches up when the CPU has time; nothing is lost meanwhile, and a restart
// resumes from the spool. A query thread
// answers /analytics/stats|search|export on its own read connection, writing
// to the client socket the worker handed over. No worker ever waits on any of it.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "corral/analytics/query.h"
#include "corral/analytics/ring.h"
#include "corral/analytics/sink.h"
#include "corral/analytics/spool.h"
#include "corral/config/config.h"
#include "corral/core/priority.h"

namespace corral::analytics {

class Service {
 public:
  Service(const config::AnalyticsConfig& cfg, unsigned workers);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Opens the store (creating directory, file and schema) and starts the threads.
  bool start(std::string& err);
  // After every worker has stopped: drains the rings into the spool, stores
  // what the spool holds (at normal priority, up to kShutdownStoreMs), joins.
  void stop();

  RecordRing& ring(unsigned worker) { return *rings_[worker]; }
  bool queryable() const { return cfg_.backend == "sqlite"; }
  const config::AnalyticsConfig& config() const { return cfg_; }
  // Naps the ingest thread took to let other tasks run (core::RunSlice).
  uint64_t ingest_naps() const { return ingest_slice_.naps(); }

  // From a worker: answer q on the socket fd (a dup; closed when done).
  // False when too many queries are waiting; the caller keeps fd.
  bool submit(int fd, const Query& q, std::string request_id);

  uint64_t written() const { return written_.load(std::memory_order_relaxed); }  // in the store
  uint64_t spooled() const { return spooled_.load(std::memory_order_relaxed); }  // on disk, this run
  uint64_t backlog() const;
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    int fd;
    Query q;
    std::string request_id;
  };

  void offload_loop();
  size_t drain(size_t limit);
  void spool_rings();
  void ingest_loop();
  size_t read_batch(SpoolReader& reader, SpoolPosition end, size_t max);
  bool store_batch(size_t n, SpoolReader& reader, int64_t now_ms);
  void give_back_memory(SpoolReader& reader, bool quiet);
  void expire(int64_t now_ms);
  void query_loop();
  SpoolPosition spool_end();
  void wait_for_spool(SpoolPosition seen, int timeout_ms);
  void publish_end(bool closed);

  config::AnalyticsConfig cfg_;
  std::string spool_dir_;
  std::vector<std::unique_ptr<RecordRing>> rings_;
  std::unique_ptr<Sink> sink_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> spool_closed_{false};  // the offload thread has written its last record
  std::atomic<uint64_t> written_{0}, spooled_{0}, write_errors_{0};
  std::thread offload_, ingest_, query_;

  // Offload thread only.
  SpoolWriter writer_;
  uint64_t unwritten_ = 0;      // records in the writer's buffer
  bool spool_failing_ = false;  // the last spool write failed
  int64_t spool_error_log_ms_ = -1000000;

  // Ingest thread only.
  std::vector<Row> batch_;
  bool heap_kept_ = false;  // memory freed since the heap last went back to the system
  SpoolPosition stored_;    // the store holds every record before this
  int64_t next_expire_ms_ = 0;
  int64_t store_error_log_ms_ = -1000000;

  core::Wakeup offload_wake_;     // a ring past its mark, or stop()
  core::RunSlice offload_slice_;  // stepped per spool write, off while stopping
  // The ingest thread's: idle CPU priority, raised by a flood or shutting down. (The offload
  // thread stays normal: raised from idle only once its ring was half full, it dropped records
  // on a saturated machine.)
  core::BackgroundPriority ingest_priority_;
  core::RunSlice ingest_slice_;  // on while it yields; stepped per record read and per row stored

  std::mutex end_m_;
  std::condition_variable end_cv_;  // end_ moved, or the spool closed
  SpoolPosition end_;               // published by the offload thread after each spool write

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
};

}  // namespace corral::analytics
