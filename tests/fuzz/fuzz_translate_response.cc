// A provider's answer (Ollama NDJSON or JSON, OpenAI and Anthropic SSE or JSON),
// cut at random points, through api::ResponseTranslator into the client's
// dialect. Invariants: the client gets the same bytes whatever the cuts (and as
// when the answer comes in one piece); every NDJSON line and SSE data payload is
// one JSON value and a JSON answer is one document; a streamed answer ends with
// its end (Ollama done:true) or, when the translator failed, with the client's
// error form (Ollama: a last {"error":"…"} line); after finish() nothing more
// comes out.
#include <simdjson.h>

#include <string>

#include "corral/api/framer.h"
#include "corral/api/translate.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

namespace {

struct FixedClock final : api::Clock {
  int64_t mono_ns() override { return 1'000'000'000; }
  int64_t wall_ns() override { return 1'733'000'000'123'000'000; }
};

struct Run {
  std::string out;
  bool failed = false;
  std::string content_type;
};

template <typename Cut>
Run translate(api::Call client, api::Dialect backend, bool stream, bool usage, std::string_view body, Cut cut) {
  FixedClock clock;
  auto t = api::make_response_translator(client, backend, stream, "client-model", clock, usage);
  Run r;
  for (size_t pos = 0; pos < body.size();) {
    size_t n = cut(body.size() - pos);
    t->feed(body.substr(pos, n), r.out);
    pos += n;
  }
  t->finish(r.out);
  size_t ended = r.out.size();
  t->feed("data: {\"late\":true}\n\n{\"late\":true}\n", r.out);
  t->finish(r.out);
  if (r.out.size() != ended) broken("bytes came out after finish()", r.out.substr(ended));
  r.failed = t->failed();
  if (r.failed && t->error().empty()) broken("a failed translation without an error message");
  r.content_type.assign(t->content_type());
  const api::Usage& u = t->usage();
  if (u.prompt_tokens < -1 || u.completion_tokens < -1) broken("a token count below -1");
  return r;
}

bool one_json(simdjson::dom::parser& p, std::string_view text, simdjson::dom::element& root) {
  simdjson::padded_string padded(text);
  return p.parse(padded).get(root) == simdjson::SUCCESS;
}

void check_ndjson(const Run& r) {
  simdjson::dom::parser p;
  if (!r.out.ends_with('\n')) broken("an NDJSON answer that does not end with a newline", r.out);
  std::string_view rest = r.out, last;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    last = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    simdjson::dom::element root;
    if (!one_json(p, last, root) || !root.is_object()) broken("an NDJSON line that is not a JSON object", last);
  }
  simdjson::dom::element root;
  one_json(p, last, root);
  if (r.failed && root["error"].error() != simdjson::SUCCESS) broken("a failed stream whose last line is no error");
  bool done = false;
  if (!r.failed && (root["done"].get(done) != simdjson::SUCCESS || !done)) {
    broken("a stream that did not fail ends without done:true", last);
  }
}

void check_sse(const Run& r) {
  simdjson::dom::parser p;
  api::SseFramer f;
  f.push(r.out);
  api::SseEvent ev;
  size_t events = 0;
  while (f.next(ev)) {
    ++events;
    simdjson::dom::element root;
    if (ev.data != "[DONE]" && !one_json(p, ev.data, root)) broken("an SSE data payload that is not JSON", ev.data);
  }
  if (f.take_rest(ev)) broken("an SSE answer whose last event is not closed by a blank line", r.out);
  if (events == 0) broken("an SSE answer without events");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  auto client = static_cast<api::Call>(in.options & 3);
  auto backend = static_cast<api::Dialect>((in.options >> 2) % 3);
  bool stream = in.options & 0x10, usage = in.options & 0x20;
  if (!api::translates(client, backend)) return 0;
  Run whole = translate(client, backend, stream, usage, in.stream, [](size_t left) { return left; });
  Run cut = translate(client, backend, stream, usage, in.stream, [&](size_t left) { return in.piece(left); });
  if (cut.out != whole.out || cut.failed != whole.failed) broken("the answer depends on where the body was cut");
  if (whole.content_type == "application/x-ndjson") {
    check_ndjson(whole);
  } else if (whole.content_type == "text/event-stream") {
    check_sse(whole);
  } else {
    simdjson::dom::parser p;
    simdjson::dom::element root;
    if (!one_json(p, whole.out, root)) broken("a JSON answer that is not one JSON document", whole.out);
  }
  return 0;
}
