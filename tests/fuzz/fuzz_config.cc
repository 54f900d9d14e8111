// YAML text into config::apply_yaml and config::finalize: every key, bad YAML,
// absurd values. Invariants: no crash, no exception out of the config layer,
// and every refusal says why.
#include <string>

#include "corral/config/config.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  config::Config cfg;
  std::string err;
  if (!config::apply_yaml(text, cfg, err)) {
    if (err.empty()) broken("apply_yaml refused without saying why");
    return 0;
  }
  if (!config::finalize(cfg, err) && err.empty()) broken("finalize refused without saying why");
  return 0;
}
