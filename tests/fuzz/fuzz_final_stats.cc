// Response body bytes, cut at random points, into api::BodySample (the bounded
// tail and head kept per response) and api::extract_final_stats (the tail scan
// for Ollama's done object or OpenAI's usage). Invariants: what is kept does
// not depend on the cuts: the tail is the body's last kTailBytes, the head its
// first head_cap bytes; a statistic is a count or -1 (absent), never negative.
#include <string>

#include "corral/api/final_stats.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  size_t head_cap = in.options * 8;
  api::BodySample sample;
  sample.clear(head_cap);
  for (size_t pos = 0; pos < in.stream.size();) {
    size_t n = in.piece(in.stream.size() - pos);
    sample.add(in.stream.data() + pos, n);
    pos += n;
  }
  std::string_view body = in.stream;
  size_t keep = std::min(body.size(), api::BodySample::kTailBytes);
  if (sample.tail() != body.substr(body.size() - keep)) broken("the tail is not the body's last bytes");
  if (sample.head() != body.substr(0, std::min(body.size(), head_cap))) {
    broken("the head is not the body's first bytes");
  }

  api::StreamStats st = api::extract_final_stats(sample.tail());
  for (int64_t v : {st.prompt_tokens, st.completion_tokens, st.total_duration_ns, st.load_duration_ns,
                    st.prompt_eval_duration_ns, st.eval_duration_ns}) {
    if (v < -1) broken("a statistic below -1 (the 'absent' value)");
  }
  if (!st.found && (st.prompt_tokens != -1 || st.completion_tokens != -1)) broken("token counts without stats found");
  api::extract_final_stats(body);  // the scan on a whole body, however long
  return 0;
}
