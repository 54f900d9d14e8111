// The spool: finished-request records appended to segment files on disk by the
// offload thread (cheap: a copy and one write per drain), read back by the
// ingest thread, which turns them into rows for the store when the CPU has time.
// A record is [uint32 length][Record::bytes()]. Segments are numbered files in
// one directory; a new segment is started at every start-up and past
// kSegmentBytes, and deleted once the store holds everything in it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corral/analytics/record.h"
#include "corral/core/fd.h"

namespace corral::analytics {

struct SpoolPosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
  bool operator==(const SpoolPosition&) const = default;
};

// Segment numbers present in dir, ascending.
std::vector<uint64_t> spool_segments(const std::string& dir);
std::string segment_path(const std::string& dir, uint64_t segment);

class SpoolWriter {
 public:
  static constexpr uint64_t kSegmentBytes = 64ull << 20;
  static constexpr size_t kWriteChunk = 16u << 10;  // what the offload thread buffers before each write()
  // Creates dir as needed and starts a segment after every existing one.
  bool open(const std::string& dir, std::string& err);
  void add(std::string_view record_bytes);  // Record::bytes(), buffered until write()
  bool pending() const { return !buf_.empty(); }
  size_t buffered() const { return buf_.size(); }
  // Appends what was added; false with err (kept, retried by the next write).
  bool write(std::string& err);
  // Everything written so far ends here.
  SpoolPosition end() const { return {segment_, size_}; }

 private:
  bool start_segment(std::string& err);
  std::string dir_;
  core::UniqueFd fd_;
  uint64_t segment_ = 0;
  uint64_t size_ = 0;
  std::string buf_;
};

class SpoolReader {
 public:
  SpoolReader(std::string dir, SpoolPosition from) : dir_(std::move(dir)), pos_(from) {}
  // The next whole record before `end` (what the writer has published), or false.
  // Moves past finished segments (and a torn tail left by a crash) on its own.
  bool next(const SpoolPosition& end, Record& out);
  SpoolPosition position() const { return pos_; }
  // Deletes segments before the current one (their records are in the store).
  void remove_consumed();
  void release_memory();  // keeps only what is read and not yet returned

 private:
  bool open_segment();
  bool fill(size_t need, uint64_t limit);
  std::string dir_;
  SpoolPosition pos_;
  core::UniqueFd fd_;
  uint64_t fd_segment_ = ~0ull;
  std::string buf_;  // bytes read from pos_ on
  size_t buf_pos_ = 0;
};

}  // namespace corral::analytics
