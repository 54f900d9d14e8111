// Request bodies into api::analyze_request, the body sniffer (model, stream,
// prompt size, category, complexity, affinity key, preview). Invariants: the
// body is read, never changed; the facts stay within their bounds; the same
// body gives the same facts.
#include <string>

#include "corral/api/sniff.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  size_t preview = in.options % 64;
  std::string body(in.stream);
  api::RequestInfo a = api::analyze_request(body, preview);
  if (body != in.stream) broken("the sniffer changed the body");
  if (a.prompt_preview.size() > preview) broken("the preview is longer than asked for");
  if (a.prompt_chars > body.size()) broken("more prompt characters than body bytes");
  if (a.category >= api::kCategoryCount || a.complexity.cls >= api::kComplexityCount) broken("a fact out of its range");
  if (a.complexity.score < 0 || a.complexity.score > 100) broken("complexity score out of 0..100");
  if (!a.json && (!a.model.empty() || a.prompt_chars != 0)) broken("facts read from a body that is not JSON");
  std::string again(in.stream);
  api::RequestInfo b = api::analyze_request(again, preview);
  if (a.model != b.model || a.stream != b.stream || a.prefix_hash != b.prefix_hash ||
      a.prompt_chars != b.prompt_chars || a.complexity.score != b.complexity.score ||
      a.prompt_preview != b.prompt_preview) {
    broken("the same body gave other facts");
  }
  return 0;
}
