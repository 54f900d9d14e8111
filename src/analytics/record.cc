#include "corral/analytics/record.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "corral/analytics/ring.h"

namespace corral::analytics {

void Record::reset() {
  n = RecordNumbers();
  std::memset(len_, 0, sizeof len_);
  used_ = 0;
}

void Record::set(Field f, std::string_view s) {
  size_t n = s.size();
  if (n > kCap[f]) n = kCap[f];
  if (n > room()) n = room();
  if (n < s.size()) {  // cut on a character boundary
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  if (n > 0) std::memcpy(text_ + used_, s.data(), n);
  len_[f] = static_cast<uint16_t>(n);
  used_ = static_cast<uint16_t>(used_ + n);
}

std::string_view Record::get(Field f) const {
  size_t off = 0;
  for (int i = 0; i < f; ++i) off += len_[i];
  return {text_ + off, len_[f]};
}

size_t Record::head_size() const {
  return static_cast<size_t>(reinterpret_cast<const char*>(text_) - reinterpret_cast<const char*>(this));
}

std::string_view Record::bytes() const { return {reinterpret_cast<const char*>(this), head_size() + used_}; }

bool Record::load(std::string_view b) {
  size_t head = head_size();
  if (b.size() < head || b.size() > sizeof(Record)) return false;
  std::memcpy(static_cast<void*>(this), b.data(), b.size());
  size_t sum = 0;
  for (uint16_t l : len_) sum += l;
  return sum == used_ && head + used_ == b.size();
}

namespace {
constexpr size_t kAlign = 8;
size_t entry_size(size_t len) { return (sizeof(uint32_t) + len + kAlign - 1) & ~(kAlign - 1); }
}  // namespace

RecordRing::RecordRing(size_t bytes) {
  size_t n = 4 * Record::kSize;
  while (n < bytes) n <<= 1;
  mask_ = n - 1;
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  mem_ = static_cast<char*>(p);
}

RecordRing::~RecordRing() { munmap(mem_, mask_ + 1); }

bool RecordRing::push(const Record& r) {
  std::string_view b = r.bytes();
  uint64_t t = tail_.load(std::memory_order_relaxed);
  size_t at = t & mask_;
  size_t need = entry_size(b.size());
  size_t skip = at + need > mask_ + 1 ? mask_ + 1 - at : 0;  // no room before the end: wrap
  if (t + skip + need - head_cache_ > mask_ + 1) {
    head_cache_ = head_.load(std::memory_order_acquire);
    if (t + skip + need - head_cache_ > mask_ + 1) return false;
  }
  if (skip) {
    std::memcpy(mem_ + at, &kWrap, sizeof kWrap);  // entries are 8-aligned: 4 bytes always fit
    at = 0;
  }
  uint32_t len = static_cast<uint32_t>(b.size());
  std::memcpy(mem_ + at, &len, sizeof len);
  std::memcpy(mem_ + at + sizeof len, b.data(), b.size());
  t += skip + need;
  tail_.store(t, std::memory_order_release);
  // Past the mark by the stale head: look again (once per drain, the consumer moved it) before waking.
  if (mark_ && t - head_cache_ > mark_ && t - (head_cache_ = head_.load(std::memory_order_acquire)) > mark_)
    wake_->signal();
  return true;
}

std::string_view RecordRing::front() {
  uint64_t h = head_.load(std::memory_order_relaxed);
  if (h == tail_cache_) {
    tail_cache_ = tail_.load(std::memory_order_acquire);
    if (h == tail_cache_) return {};
  }
  size_t at = h & mask_;
  uint32_t len;
  std::memcpy(&len, mem_ + at, sizeof len);
  size_t skip = 0;
  if (len == kWrap) {
    skip = mask_ + 1 - at;
    at = 0;
    std::memcpy(&len, mem_, sizeof len);
  }
  front_len_ = static_cast<uint32_t>(skip + entry_size(len));
  return {mem_ + at + sizeof len, len};
}

void RecordRing::pop() { head_.store(head_.load(std::memory_order_relaxed) + front_len_, std::memory_order_release); }

}  // namespace corral::analytics
