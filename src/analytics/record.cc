#include "corral/analytics/record.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "corral/analytics/ring.h"

namespace corral::analytics {

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

std::string_view Record::bytes() const {
  size_t head = static_cast<size_t>(reinterpret_cast<const char*>(text_) - reinterpret_cast<const char*>(this));
  return {reinterpret_cast<const char*>(this), head + used_};
}

bool Record::load(std::string_view b) {
  size_t head = static_cast<size_t>(reinterpret_cast<const char*>(text_) - reinterpret_cast<const char*>(this));
  if (b.size() < head || b.size() > sizeof(Record)) return false;
  std::memcpy(static_cast<void*>(this), b.data(), b.size());
  size_t sum = 0;
  for (uint16_t l : len_) sum += l;
  return sum == used_ && head + used_ == b.size();
}

RecordRing::RecordRing(size_t slots) {
  size_t n = 4;
  while (n < slots) n <<= 1;
  mask_ = n - 1;
  void* p = mmap(nullptr, n * Record::kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  mem_ = static_cast<char*>(p);
}

RecordRing::~RecordRing() { munmap(mem_, (mask_ + 1) * Record::kSize); }

}  // namespace corral::analytics
