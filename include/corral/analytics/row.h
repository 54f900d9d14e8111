// A recorded request as it is stored and served: one value per column. The
// column list is the single description the SQLite schema, inserts, JSON and
// CSV output are all generated from.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/analytics/record.h"

namespace corral::analytics {

enum class Type : uint8_t { integer, real, text, boolean };
struct Column {
  const char* name;
  Type type;
};

enum Col : uint8_t {
  cTimeMs,
  cRequestId,
  cClientIp,
  cUserAgent,
  cKeyName,
  cUser,
  cMethod,
  cEndpoint,
  cPath,
  cModel,
  cModelAlias,
  cBackend,
  cStatus,
  cStream,
  cError,
  cPromptPreview,
  cResponsePreview,
  cPromptChars,
  cPromptTokens,
  cCompletionTokens,
  cTtftMs,
  cDurationMs,
  cTokensPerSecond,
  cLoadMs,
  cComplexity,
  cCategory,
  cBytesIn,
  cBytesOut,
  kColumnCount
};
extern const std::array<Column, kColumnCount> kColumns;

struct Value {
  bool null = true;
  int64_t i = 0;
  double d = 0;
  std::string s;
  void clear() {
    null = true;
    s.clear();
  }
  void set(int64_t v) { null = false, i = v; }
  void set_real(double v) { null = false, d = v; }
  void set(std::string_view v) { null = false, s.assign(v); }
};
using Row = std::array<Value, kColumnCount>;

// The offload thread's side of a Record: previews cut to preview_chars
// characters, the response preview and error read from the response's first bytes.
void decode(const Record& r, uint32_t preview_chars, Row& out);

// The generated text of a response from its first bytes: Ollama NDJSON chunks,
// OpenAI SSE chunks or one (possibly cut off) JSON body; at most `chars` characters.
std::string response_preview(std::string_view body_head, size_t chars);
// {"error":"…"} or {"error":{"message":"…"}} at the start of an error body; empty otherwise.
std::string error_text(std::string_view body_head);
// The first n characters (UTF-8 code points) of s.
std::string_view cut_chars(std::string_view s, size_t n);

// One row as a JSON object / RFC 4180 CSV record (with the ISO "time" first).
void append_json(std::string& out, const Row& r);
void append_csv_header(std::string& out);
void append_csv(std::string& out, const Row& r);

}  // namespace corral::analytics
