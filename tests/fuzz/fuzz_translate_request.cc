// A client's request body (Ollama chat or generate, OpenAI chat completions,
// Anthropic messages) through api::translate_request to another dialect; OpenAI →
// Anthropic is one of the pairs. Invariants: a translation either fails with a
// reason or gives one JSON object for the backend's path; the same body always
// translates the same; a translated body translates again (the backend's
// dialect read back as a client's) without a JSON error.
#include <simdjson.h>

#include <string>

#include "corral/api/translate.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

namespace {

std::string_view path_of(api::Dialect d) {
  switch (d) {
    case api::Dialect::ollama:
      return "/api/chat";
    case api::Dialect::openai:
      return "/v1/chat/completions";
    case api::Dialect::anthropic:
      return "/v1/messages";
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  auto from = static_cast<api::Call>(in.options & 3);
  auto to = static_cast<api::Dialect>((in.options >> 2) % 3);
  if (!api::translates(from, to)) return 0;
  api::RequestOptions opts;
  opts.upstream_model = "upstream-model";
  opts.default_max_tokens = (in.options & 0x10) ? 1 : 4096;
  opts.max_completion_tokens = in.options & 0x20;
  api::UpstreamRequest out, again;
  std::string err, err2;
  bool ok = api::translate_request(from, to, in.stream, opts, out, err);
  bool ok2 = api::translate_request(from, to, in.stream, opts, again, err2);
  if (ok != ok2 || out.body != again.body || err != err2) broken("the same body translated differently");
  if (!ok) {
    if (err.empty()) broken("a refused translation without a reason");
    return 0;
  }
  if (out.path != path_of(to)) broken("a translated request for another path", out.path);
  simdjson::dom::parser p;
  simdjson::dom::element root;
  simdjson::padded_string padded(out.body);
  if (p.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
    broken("a translated body that is not a JSON object", out.body);
  }
  std::string_view model;
  if (root["model"].get(model) != simdjson::SUCCESS || model != opts.upstream_model) {
    broken("a translated body without the upstream model", out.body);
  }
  api::Call back = to == api::Dialect::openai      ? api::Call::openai_chat
                   : to == api::Dialect::anthropic ? api::Call::anthropic_messages
                                                   : api::Call::ollama_chat;
  api::Dialect home = api::dialect_of(from);
  if (api::translates(back, home) && !api::translate_request(back, home, out.body, opts, again, err2) &&
      err2.starts_with("request body is not valid JSON")) {
    broken("a translated body its own dialect's parser calls invalid JSON", err2);
  }
  return 0;
}
