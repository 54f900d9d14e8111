// corral-sim: command-line options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim_resources.h"

namespace sim {

struct ModelSpec {
  std::string name;  // always tagged ("x" becomes "x:latest")
  int64_t size = 0;
  bool loaded = false;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 11435;
  std::vector<ModelSpec> models;
  int tokens = 8;
  int ttft_ms = 0;
  int token_delay_ms = 0;
  int fail_status = 0;  // 0: off
  int threads = 2;
  std::string version = "0.5.7";
  int record_heads = 0;  // requests whose heads GET /sim/requests shows (0: off)
  ResourceOptions res;   // off unless --vram-gb
};

extern const char* const kDefaultModels;

// Parses argv. On --help prints usage and exits 0; on a bad flag prints one
// error line (plus a usage hint) to stderr and exits 2.
Options parse_args(int argc, char** argv);

// "name=SIZE[:loaded],..." -> specs; false (with err) when malformed.
bool parse_models(const std::string& spec, std::vector<ModelSpec>& out, std::string& err);

}  // namespace sim
