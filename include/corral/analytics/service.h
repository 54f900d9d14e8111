// Analytics off the hot path. Each worker pushes finished requests onto its own
// RecordRing; the offload thread drains every ring, decodes records and writes
// them in batches (one transaction per batch_size records or flush_interval),
// and applies retention in small deletes. A query thread answers
// /analytics/stats|search|export on its own read connection, writing to the
// client socket the worker handed over. Nothing here is ever waited on by a worker.
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
#include "corral/config/config.h"

namespace corral::analytics {

class Service {
 public:
  Service(const config::AnalyticsConfig& cfg, unsigned workers);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Opens the store (creating directory, file and schema) and starts the threads.
  bool start(std::string& err);
  // After every worker has stopped: drains the rings, writes everything, joins.
  void stop();

  RecordRing& ring(unsigned worker) { return *rings_[worker]; }
  bool queryable() const { return cfg_.backend == "sqlite"; }
  const config::AnalyticsConfig& config() const { return cfg_; }

  // From a worker: answer q on the socket fd (a dup; closed when done).
  // False when too many queries are waiting; the caller keeps fd.
  bool submit(int fd, const Query& q, std::string request_id);

  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    int fd;
    Query q;
    std::string request_id;
  };

  void offload_loop();
  size_t drain();
  bool flush(int64_t now_ms);
  void expire(int64_t now_ms);
  void query_loop();

  config::AnalyticsConfig cfg_;
  std::vector<std::unique_ptr<RecordRing>> rings_;
  std::unique_ptr<Sink> sink_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> written_{0}, write_errors_{0};
  std::thread offload_, query_;

  // Offload thread only.
  std::vector<Row> batch_;
  size_t pending_ = 0;            // rows of batch_ in use
  int64_t batch_started_ms_ = 0;
  int64_t retry_at_ms_ = 0;       // after a failed write
  int64_t next_expire_ms_ = 0;
  int64_t last_error_log_ms_ = -1000000;

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
};

}  // namespace corral::analytics
