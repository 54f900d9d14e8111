// One finished request as a worker hands it to the offload thread: numbers,
// then bounded text fields back to back (the last one the first bytes of the
// response body), at most kSize bytes. Filled in a per-thread scratch record,
// copied into the ring as bytes() (only what is used). No allocation, no
// parsing: the ingest thread turns it into a Row.
#pragma once
#include <cstdint>
#include <string_view>

namespace corral::analytics {

enum Field : uint8_t {
  kRequestId,
  kClientIp,
  kUserAgent,
  kKeyName,
  kMethod,
  kPath,
  kModel,
  kModelAlias,
  kBackend,
  kError,
  kPromptPreview,
  kResponseHead,
  kFieldCount
};

struct RecordNumbers {
  int64_t time_us = 0;      // wall clock at request start (Unix µs)
  int64_t duration_us = 0;  // to the last response byte
  int64_t ttft_us = -1;     // to the first response byte of a generation
  int64_t prompt_tokens = -1, completion_tokens = -1;
  int64_t eval_duration_ns = -1, load_duration_ns = -1;
  uint64_t bytes_in = 0, bytes_out = 0;
  uint32_t prompt_chars = 0;
  int16_t status = 0;
  int8_t stream = -1;      // -1: the request did not say
  int8_t complexity = -1;  // 0..100, -1: no prompt
  uint8_t endpoint = 0;    // api::Endpoint
  uint8_t category = 255;  // api::Category, 255: none
};

class Record {
 public:
  static constexpr size_t kSize = 4096;
  static constexpr uint16_t kCap[kFieldCount] = {64, 46, 256, 64, 16, 256, 200, 200, 128, 256, 1024, 0xffff};

  void reset();  // empty again: numbers to their defaults, no text
  // Appends a field (fields go in Field order); text past its cap is cut.
  void set(Field f, std::string_view s);
  std::string_view get(Field f) const;
  size_t room() const { return sizeof text_ - used_; }  // left for the remaining fields

  // The slot's bytes in use (numbers, lengths, text): what the spool stores.
  std::string_view bytes() const;
  // Fills the record from bytes(); false when they are not a whole record.
  bool load(std::string_view b);

  RecordNumbers n;

 private:
  size_t head_size() const;  // bytes before the text: numbers and lengths
  uint16_t len_[kFieldCount] = {};
  uint16_t used_ = 0;
  char text_[kSize - sizeof(RecordNumbers) - sizeof(uint16_t) * (kFieldCount + 1)];
};
static_assert(sizeof(Record) == Record::kSize);

}  // namespace corral::analytics
