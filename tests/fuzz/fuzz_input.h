// How a fuzz input becomes a byte stream cut at random points, as a network
// would deliver it: byte 0 holds target-specific options, bytes 1-8 seed the
// cut points, the rest is the stream. Seeds stay readable text ("a12345678GET /…").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace corral::fuzz {

class Input {
 public:
  static constexpr size_t kPrefix = 9;
  Input(const uint8_t* data, size_t size) {
    if (size == 0) return;
    options = data[0];
    for (size_t i = 1; i < kPrefix && i < size; ++i) state_ = state_ * 131 + data[i];
    if (size > kPrefix) stream = {reinterpret_cast<const char*>(data) + kPrefix, size - kPrefix};
  }

  // The length of the next piece of a stream with `left` bytes to go: mostly
  // small pieces (cuts inside tokens), sometimes large ones (many messages at once).
  size_t piece(size_t left) {
    uint64_t r = next();
    size_t n = (r & 3) == 0 ? 1 + (r >> 8) % 4096 : 1 + (r >> 8) % 16;
    return n < left ? n : left;
  }
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  uint8_t options = 0;
  std::string_view stream;

 private:
  uint64_t state_ = 0;
};

// An invariant of the code under test does not hold: a crash libFuzzer reports with the input.
[[noreturn]] void broken(const char* invariant, std::string_view detail = {});

}  // namespace corral::fuzz
