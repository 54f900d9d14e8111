#include "corral/analytics/service.h"

#include <unistd.h>

#include <chrono>

#include "corral/analytics/report.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"

namespace corral::analytics {
namespace {
constexpr int kTickMs = 10;             // how often the rings are drained
constexpr size_t kMaxJobs = 64;         // queries waiting for the query thread
constexpr int kExpireBatch = 1000;      // rows per retention delete (one short transaction)
constexpr int64_t kExpireEveryMs = 60000;
constexpr int64_t kRetryMs = 1000;      // after the store refused a batch
constexpr int64_t kShutdownRetryMs = 10000;

int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
int64_t mono_ms() { return core::mono_us() / 1000; }
}  // namespace

Service::Service(const config::AnalyticsConfig& cfg, unsigned workers) : cfg_(cfg) {
  for (unsigned i = 0; i < workers; ++i) rings_.push_back(std::make_unique<RecordRing>(cfg.ring_size));
}

Service::~Service() { stop(); }

bool Service::start(std::string& err) {
  sink_ = cfg_.backend == "sqlite" ? open_sqlite_sink(cfg_.path, err) : open_jsonl_sink(cfg_, err);
  if (!sink_) return false;
  // Room for a few batches while the store is slow; past that the rings fill and records are dropped.
  batch_.resize(size_t(cfg_.batch_size) * 4);
  offload_ = std::thread([this] { offload_loop(); });
  if (queryable()) query_ = std::thread([this] { query_loop(); });
  return true;
}

void Service::stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (offload_.joinable()) offload_.join();
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

// Moves records from every ring into the batch (decoded); how many.
size_t Service::drain() {
  size_t moved = 0;
  for (auto& ring : rings_) {
    while (pending_ < batch_.size()) {
      const Record* r = ring->front();
      if (!r) break;
      if (pending_ == 0) batch_started_ms_ = mono_ms();
      decode(*r, cfg_.preview_chars, batch_[pending_++]);
      ring->pop();
      ++moved;
    }
  }
  return moved;
}

bool Service::flush(int64_t now) {
  std::string err;
  if (sink_->write(batch_.data(), pending_, err)) {
    written_.fetch_add(pending_, std::memory_order_relaxed);
    pending_ = 0;
    return true;
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  retry_at_ms_ = now + kRetryMs;
  if (now - last_error_log_ms_ >= 10000) {
    last_error_log_ms_ = now;
    log::write(log::Level::error, "analytics_write_failed", "store=" + log::quote(cfg_.path) + " pending=" +
                                                              std::to_string(pending_) + " error=" + log::quote(err) +
                                                              " action=\"kept; retrying\"");
  }
  return false;
}

// Retention: at most kExpireBatch rows per call, so a big backlog is deleted in many short transactions.
void Service::expire(int64_t now) {
  if (cfg_.retention_days == 0 || now < next_expire_ms_) return;
  std::string err;
  int64_t cutoff = wall_ms() - int64_t(cfg_.retention_days) * 86400000;
  int64_t n = sink_->expire(cutoff, kExpireBatch, err);
  if (n < 0) log::write(log::Level::warn, "analytics_retention_failed", "error=" + log::quote(err));
  else if (n > 0) log::write(log::Level::debug, "analytics_expired", "records=" + std::to_string(n));
  next_expire_ms_ = n == kExpireBatch ? now : now + kExpireEveryMs;
}

void Service::offload_loop() {
  int64_t stop_deadline = 0;
  for (;;) {
    bool stopping = stopping_.load(std::memory_order_acquire);
    drain();
    int64_t now = mono_ms();
    bool due = pending_ >= cfg_.batch_size || pending_ == batch_.size() ||
               (pending_ > 0 && (stopping || now - batch_started_ms_ >= cfg_.flush_interval_ms));
    if (due && now >= retry_at_ms_) flush(now);
    expire(now);
    if (stopping) {
      if (stop_deadline == 0) stop_deadline = now + kShutdownRetryMs;
      bool rings_empty = true;
      for (auto& ring : rings_) rings_empty = rings_empty && ring->front() == nullptr;
      if (rings_empty && pending_ == 0) break;
      if (now >= stop_deadline) {
        log::write(log::Level::error, "analytics_lost", "records=" + std::to_string(pending_) + " store=" + log::quote(cfg_.path));
        break;
      }
      if (pending_ > 0 && now < retry_at_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(kTickMs));
      continue;
    }
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait_for(lock, std::chrono::milliseconds(kTickMs), [this] { return stopping_.load(std::memory_order_relaxed); });
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
