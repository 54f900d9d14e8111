// Shared by the api translation tests: recorded provider streams, a fixed
// clock, running a translator over a body split at a given byte, and reading
// the client's bytes back (NDJSON lines, SSE events).
#pragma once
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "corral/api/framer.h"
#include "corral/api/translate.h"

namespace corral::api::test {

inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SOURCE_ROOT) + "/tests/unit/api/fixtures/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TestClock final : Clock {
  int64_t mono = 1'000'000'000;
  int64_t wall = 1'733'000'000'123'000'000;  // 2024-11-30T20:53:20.123Z
  int64_t mono_ns() override { return mono; }
  int64_t wall_ns() override { return wall; }
};

struct Translated {
  std::string out;
  Usage usage;
  bool failed = false;
  std::string error;
  std::string content_type;
};

// Feeds `body` in two pieces split at `split` (0: whole), then finishes.
inline Translated run(Call client, Dialect backend, bool stream, std::string_view body, size_t split = 0,
                      bool include_usage = false) {
  TestClock clock;
  auto t = make_response_translator(client, backend, stream, "client-model", clock, include_usage);
  Translated r;
  if (split > 0 && split < body.size()) {
    t->feed(body.substr(0, split), r.out);
    t->feed(body.substr(split), r.out);
  } else {
    t->feed(body, r.out);
  }
  t->finish(r.out);
  r.usage = t->usage();
  r.failed = t->failed();
  r.error.assign(t->error());
  r.content_type.assign(t->content_type());
  return r;
}

inline std::vector<std::string> lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    out.emplace_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

struct Sse {
  std::string event, data;
};

inline std::vector<Sse> sse_events(std::string_view s) {
  SseFramer f;
  f.push(s);
  std::vector<Sse> out;
  SseEvent ev;
  while (f.next(ev)) out.push_back(Sse{std::string(ev.event), std::string(ev.data)});
  return out;
}

// A parsed JSON document that outlives the call that made it.
struct Json {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  explicit Json(std::string_view s) : root(parser.parse(std::string(s))) {}
  simdjson::simdjson_result<simdjson::dom::element> operator[](std::string_view k) const { return root[k]; }
};

inline std::string str(simdjson::dom::element e) { return std::string(std::string_view(e)); }
inline std::string min(simdjson::dom::element e) { return simdjson::minify(e); }

}  // namespace corral::api::test
