// `corral import-config`: seed 003's config/ollama_proxy.yml (a Rails proxy's
// per-environment file: servers, external_hosts, model_config) turned into
// corral's YAML. What has no corral equivalent becomes a `# not mapped:` comment.
#pragma once
#include <string>
#include <vector>

namespace corral::config {

struct Seed003Options {
  std::string env;               // environment to convert; "" = production, or the file's only one
  bool hosted_backends = false;  // emit external_hosts as backends with kind/api_key_env (else as comments)
};

struct Seed003Import {
  std::string yaml;                     // corral configuration text, comments included
  std::vector<std::string> not_mapped;  // each "# not mapped: …" line, without the prefix
};

// Converts the file's text; false with err when it is not YAML, or the environment is missing.
bool import_seed003(const std::string& text, const Seed003Options& opt, Seed003Import& out, std::string& err);

// Whether this build's config accepts backends[].kind and api_key_env (hosted OpenAI and
// Anthropic APIs), found by asking the config parser itself.
bool hosted_backends_supported();

// The `corral import-config FILE [--env NAME]` command: prints the YAML on stdout;
// returns the process exit code (2 on bad arguments or input).
int import_config_command(int argc, char** argv);

}  // namespace corral::config
