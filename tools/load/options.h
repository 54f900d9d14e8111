// corral-load command line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace load {

struct WeightedModel {
  std::string name;
  double weight;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 11434;
  std::string endpoint = "generate";  // generate | chat | openai-chat | embed | get:/path
  bool stream = true;
  std::vector<WeightedModel> models{{"llama3.2", 1}};
  std::vector<std::string> prompts;  // from --prompts FILE; else generated
  double prompt_words = 30;          // mean words of generated prompts (exponential)
  int turns = 1;                     // chat: turns per conversation (each carries the ones before)
  size_t system_words = 0;           // chat: a system prompt of this many words per model
  int concurrency = 1;               // closed loop
  double rate = 0;                   // open loop, requests/s (Poisson); 0 = closed loop
  uint32_t duration_ms = 10000;
  uint64_t requests = 0;  // stop after this many (0 = by duration)
  uint32_t warmup_ms = 0;
  uint32_t timeout_ms = 300000;
  std::string json_path;
  double max_error_rate = 1.0;
  bool epoll = false;
  int max_connections = 10000;
  std::string headers;  // --header lines, each "Name: value\r\n", sent with every request (a key, say)
};

// false with err (one line) on bad flags; help sets `help`.
bool parse_options(int argc, char** argv, Options& o, bool& help, std::string& err);
const char* usage();

}  // namespace load
