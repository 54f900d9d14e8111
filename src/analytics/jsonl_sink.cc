// jsonl:PATH — one JSON object per line, appended per batch, rotated by size
// (PATH → PATH.1 → … → PATH.<keep>); retention removes rotated files past it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>

#include "corral/analytics/sink.h"
#include "corral/core/fd.h"
#include "corral/core/files.h"

namespace corral::analytics {
namespace {

class JsonlSink final : public Sink {
 public:
  explicit JsonlSink(const config::AnalyticsConfig& cfg)
      : path_(cfg.path), max_bytes_(uint64_t(cfg.jsonl_max_mb) << 20), keep_(cfg.jsonl_keep) {}

  bool open(std::string& err) {
    if (!core::make_parent_dirs(path_, err)) return false;
    fd_ = core::UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd_) {
      err = "cannot open '" + path_ + "': " + std::strerror(errno);
      return false;
    }
    struct stat st {};
    size_ = fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    return true;
  }

  bool write(const Row* rows, size_t n, const SpoolPosition& upto, std::string& err) override {
    buf_.clear();
    for (const Row& r : std::span(rows, n)) {
      between_rows();
      append_json(buf_, r);
      buf_ += '\n';
    }
    if (size_ > 0 && size_ + buf_.size() > max_bytes_ && !rotate(err)) return false;
    if (!core::write_all(fd_.get(), buf_)) {
      err = "write '" + path_ + "': " + std::strerror(errno);
      return false;
    }
    size_ += buf_.size();
    return save_position(upto, err);
  }

  bool position(SpoolPosition& out) override {
    FILE* f = std::fopen(position_path().c_str(), "r");
    if (!f) return false;
    unsigned long long seg = 0, off = 0;
    bool ok = std::fscanf(f, "%llu %llu", &seg, &off) == 2;
    std::fclose(f);
    if (ok) out = {seg, off};
    return ok;
  }

  int64_t expire(int64_t cutoff_ms, int, std::string&) override {
    int64_t removed = 0;
    for (uint32_t k = 1; k <= keep_; ++k) {
      std::string name = rotated(k);
      struct stat st {};
      if (stat(name.c_str(), &st) == 0 && int64_t(st.st_mtime) * 1000 < cutoff_ms && unlink(name.c_str()) == 0)
        ++removed;
    }
    return removed;
  }

 private:
  std::string rotated(uint32_t k) const { return path_ + "." + std::to_string(k); }
  std::string position_path() const { return path_ + ".position"; }

  // Written after the lines: a crash in between repeats those lines on restart, never loses them.
  bool save_position(const SpoolPosition& p, std::string& err) {
    std::string tmp = position_path() + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    bool ok = f && std::fprintf(f, "%llu %llu\n", static_cast<unsigned long long>(p.segment),
                                static_cast<unsigned long long>(p.offset)) > 0;
    if (f) ok = std::fclose(f) == 0 && ok;
    if (ok && std::rename(tmp.c_str(), position_path().c_str()) == 0) return true;
    err = "cannot save '" + position_path() + "': " + std::strerror(errno);
    return false;
  }

  bool rotate(std::string& err) {
    if (keep_ == 0) {
      unlink(path_.c_str());
    } else {
      for (uint32_t k = keep_; k > 1; --k) rename(rotated(k - 1).c_str(), rotated(k).c_str());
      rename(path_.c_str(), rotated(1).c_str());
    }
    size_ = 0;
    return open(err);
  }

  std::string path_;
  uint64_t max_bytes_;
  uint32_t keep_;
  core::UniqueFd fd_;
  uint64_t size_ = 0;
  std::string buf_;
};

}  // namespace

std::unique_ptr<Sink> open_jsonl_sink(const config::AnalyticsConfig& cfg, std::string& err) {
  auto s = std::make_unique<JsonlSink>(cfg);
  if (!s->open(err)) return nullptr;
  return s;
}

}  // namespace corral::analytics
