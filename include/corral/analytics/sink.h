// Where the offload thread writes batches: SQLite (WAL, prepared statements,
// indexed for the queries) or JSON lines (rotated by size).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "corral/analytics/row.h"
#include "corral/analytics/spool.h"
#include "corral/config/config.h"
#include "corral/core/priority.h"

namespace corral::analytics {

class Sink {
 public:
  virtual ~Sink() = default;
  // All rows in one transaction, with the spool position they were read up to
  // (so a restart resumes there); false (nothing written) with err on failure.
  virtual bool write(const Row* rows, size_t n, const SpoolPosition& upto, std::string& err) = 0;
  // Where the spool was last read up to; false when nothing was ever written.
  virtual bool position(SpoolPosition& out) = 0;
  // Frees caches while idle.
  virtual void release_memory() {}
  // Deletes at most `limit` records older than cutoff_ms; how many, or -1 with err.
  virtual int64_t expire(int64_t cutoff_ms, int limit, std::string& err) = 0;
  // Stepped between the rows of a write (the ingest thread's, core/priority.h); none: never.
  void slice_by(core::RunSlice* slice) { slice_ = slice; }

 protected:
  void between_rows() {
    if (slice_) slice_->step();
  }
  core::RunSlice* slice() const { return slice_; }

 private:
  core::RunSlice* slice_ = nullptr;
};

// Creates the directory and the store (schema, indexes) as needed.
std::unique_ptr<Sink> open_sqlite_sink(const std::string& path, std::string& err);
std::unique_ptr<Sink> open_jsonl_sink(const config::AnalyticsConfig& cfg, std::string& err);

}  // namespace corral::analytics
