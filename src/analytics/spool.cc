#include "corral/analytics/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "corral/core/files.h"

namespace corral::analytics {
namespace {
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kKeepBuffer = 2 * SpoolWriter::kWriteChunk;  // past it (after refused writes): given back
}  // namespace

std::string segment_path(const std::string& dir, uint64_t segment) {
  char name[32];
  std::snprintf(name, sizeof name, "/%012" PRIu64 ".seg", segment);
  return dir + name;
}

std::vector<uint64_t> spool_segments(const std::string& dir) {
  std::vector<uint64_t> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    uint64_t n;
    char tail[8];
    if (std::sscanf(e->d_name, "%12" SCNu64 "%7s", &n, tail) == 2 && std::strcmp(tail, ".seg") == 0) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool SpoolWriter::open(const std::string& dir, std::string& err) {
  dir_ = dir;
  if (!core::make_parent_dirs(dir + "/", err)) return false;
  std::vector<uint64_t> existing = spool_segments(dir);
  segment_ = existing.empty() ? 0 : existing.back();
  return start_segment(err);
}

bool SpoolWriter::start_segment(std::string& err) {
  ++segment_;
  std::string path = segment_path(dir_, segment_);
  fd_ = core::UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644));
  if (!fd_) {
    err = "cannot create '" + path + "': " + std::strerror(errno);
    return false;
  }
  size_ = 0;
  return true;
}

void SpoolWriter::add(std::string_view b) {
  uint32_t len = static_cast<uint32_t>(b.size());
  buf_.append(reinterpret_cast<const char*>(&len), sizeof len);
  buf_.append(b);
}

bool SpoolWriter::write(std::string& err) {
  if (buf_.empty()) return true;
  if (size_ > 0 && size_ + buf_.size() > kSegmentBytes && !start_segment(err)) return false;
  if (!core::write_all(fd_.get(), buf_)) {
    err = "spool write: " + std::string(std::strerror(errno));
    if (ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {  // no torn record left behind
      err += "; and the torn end cannot be cut: starting a new segment";
      std::string ignored;
      start_segment(ignored);
    }
    return false;
  }
  size_ += buf_.size();
  buf_.clear();
  if (buf_.capacity() > kKeepBuffer) std::string().swap(buf_);
  return true;
}

bool SpoolReader::open_segment() {
  if (fd_ && fd_segment_ == pos_.segment) return true;
  fd_ = core::UniqueFd(::open(segment_path(dir_, pos_.segment).c_str(), O_RDONLY | O_CLOEXEC));
  fd_segment_ = pos_.segment;
  buf_.clear();
  buf_pos_ = 0;
  return static_cast<bool>(fd_);
}

// Makes `need` bytes from pos_ available in buf_, reading no further than limit.
bool SpoolReader::fill(size_t need, uint64_t limit) {
  while (buf_.size() - buf_pos_ < need) {
    if (buf_pos_ > 0) {
      buf_.erase(0, buf_pos_);
      buf_pos_ = 0;
    }
    uint64_t from = pos_.offset + buf_.size();
    if (from >= limit) return false;
    size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, limit - from));
    size_t old = buf_.size();
    buf_.resize(old + want);
    ssize_t n = pread(fd_.get(), buf_.data() + old, want, static_cast<off_t>(from));
    buf_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n <= 0) return false;
  }
  return true;
}

bool SpoolReader::next(const SpoolPosition& end, Record& out) {
  while (pos_.segment <= end.segment) {
    bool final_segment = pos_.segment < end.segment;  // the writer has moved on: read it to its end
    uint64_t limit = final_segment ? ~0ull : end.offset;
    if (open_segment() && fill(sizeof(uint32_t), limit)) {
      uint32_t len;
      std::memcpy(&len, buf_.data() + buf_pos_, sizeof len);
      if (len > 0 && len <= sizeof(Record) && fill(sizeof len + len, limit) &&
          out.load(std::string_view(buf_).substr(buf_pos_ + sizeof len, len))) {
        buf_pos_ += sizeof len + len;
        pos_.offset += sizeof len + len;
        return true;
      }
    }
    if (!final_segment) return false;  // the rest is not written yet
    // End of a finished segment (or a torn tail from a crash): on to the next one.
    std::vector<uint64_t> segs = spool_segments(dir_);
    auto it = std::upper_bound(segs.begin(), segs.end(), pos_.segment);
    pos_ = {it == segs.end() ? end.segment : std::min(*it, end.segment), 0};
  }
  return false;
}

void SpoolReader::release_memory() {
  std::string(buf_, buf_pos_).swap(buf_);  // the unread bytes only, in a buffer their size
  buf_pos_ = 0;
}

void SpoolReader::remove_consumed() {
  for (uint64_t s : spool_segments(dir_)) {
    if (s >= pos_.segment) break;
    ::unlink(segment_path(dir_, s).c_str());
  }
}

}  // namespace corral::analytics
