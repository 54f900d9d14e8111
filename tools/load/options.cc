#include "options.h"

#include <cstdlib>
#include <fstream>

#include "corral/config/config.h"
#include "corral/core/net.h"

namespace load {
namespace {

bool number(const std::string& s, double& out) {
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == 0 && out >= 0;
}

bool read_prompts(const std::string& path, std::vector<std::string>& out, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = "--prompts: cannot read '" + path + "'";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // JSONL with a "prompt" field, or plain text: one prompt per line.
    size_t k = line.find("\"prompt\"");
    if (line.front() == '{' && k != std::string::npos) {
      size_t q1 = line.find('"', line.find(':', k) + 1), q2 = q1;
      while (q2 != std::string::npos && (q2 = line.find('"', q2 + 1)) != std::string::npos && line[q2 - 1] == '\\') {
      }
      if (q1 == std::string::npos || q2 == std::string::npos) {
        err = "--prompts: bad JSONL line: " + line.substr(0, 80);
        return false;
      }
      out.push_back(line.substr(q1 + 1, q2 - q1 - 1));
    } else {
      out.push_back(line);
    }
  }
  if (out.empty()) err = "--prompts: '" + path + "' has no prompts";
  return !out.empty();
}

}  // namespace

const char* usage() {
  return "usage: corral-load --url http://HOST:PORT [--endpoint generate|chat|openai-chat|embed|get:/PATH]\n"
         "                   [--stream|--no-stream] [--model NAME[=WEIGHT],...] [--prompts FILE] [--prompt-words N]\n"
         "                   [--turns N] [--system-words N]\n"
         "                   [--concurrency N | --rate REQ_PER_S] [--duration 10s | --requests N] [--warmup 1s]\n"
         "                   [--timeout 300s] [--json FILE] [--max-error-rate 0.01] [--io uring|epoll]\n"
         "Closed loop with --concurrency; open loop (Poisson arrivals, latency from the scheduled time) with --rate.\n"
         "Chat endpoints: --turns N makes conversations of N turns (a request is the next turn of an answered\n"
         "conversation with probability 1-1/N, and carries all of it); --system-words N starts each with the\n"
         "model's system prompt of N words, the same for every conversation of that model.\n";
}

bool parse_options(int argc, char** argv, Options& o, bool& help, std::string& err) {
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help = true;
      return true;
    }
    if (a == "--stream" || a == "--no-stream") {
      o.stream = a == "--stream";
      continue;
    }
    if (i + 1 >= argc) {
      err = a.rfind("--", 0) == 0 ? a + " needs a value" : "unexpected argument '" + a + "'";
      return false;
    }
    std::string v = argv[++i];
    double d = 0;
    auto bad = [&](const char* what) {
      err = a + ": expected " + what + ", got '" + v + "'";
      return false;
    };
    if (a == "--url") {
      corral::config::BackendConfig b;
      if (!corral::config::parse_backend_url(v, b, err)) return bad("http://HOST:PORT");
      o.host = b.host;
      o.port = b.port;
      have_url = true;
    } else if (a == "--endpoint") {
      if (v != "generate" && v != "chat" && v != "openai-chat" && v != "embed" && v.rfind("get:/", 0) != 0)
        return bad("generate, chat, openai-chat, embed or get:/PATH");
      o.endpoint = v;
    } else if (a == "--model") {
      o.models.clear();
      size_t start = 0;
      while (start <= v.size()) {
        size_t c = v.find(',', start);
        std::string item = v.substr(start, c == std::string::npos ? std::string::npos : c - start);
        size_t eq = item.find('=');
        double w = 1;
        if (eq != std::string::npos && (!number(item.substr(eq + 1), w) || w <= 0)) return bad("NAME[=WEIGHT],...");
        if (item.substr(0, eq).empty()) return bad("NAME[=WEIGHT],...");
        o.models.push_back({item.substr(0, eq), w});
        if (c == std::string::npos) break;
        start = c + 1;
      }
    } else if (a == "--prompts") {
      if (!read_prompts(v, o.prompts, err)) return false;
    } else if (a == "--prompt-words") {
      if (!number(v, o.prompt_words) || o.prompt_words < 1) return bad("a number >= 1");
    } else if (a == "--turns") {
      if (!number(v, d) || d < 1 || d > 1000 || d != static_cast<int>(d)) return bad("a whole number 1..1000");
      o.turns = static_cast<int>(d);
    } else if (a == "--system-words") {
      if (!number(v, d) || d > 100000 || d != static_cast<size_t>(d)) return bad("a whole number 0..100000");
      o.system_words = static_cast<size_t>(d);
    } else if (a == "--concurrency") {
      if (!number(v, d) || d < 1 || d > 100000) return bad("1..100000");
      o.concurrency = static_cast<int>(d);
    } else if (a == "--rate") {
      if (!number(v, o.rate) || o.rate <= 0) return bad("requests per second > 0");
    } else if (a == "--duration") {
      if (!corral::config::parse_duration_ms(v, o.duration_ms) || o.duration_ms == 0) return bad("a duration like 10s");
    } else if (a == "--requests") {
      if (!number(v, d) || d < 1) return bad("a count >= 1");
      o.requests = static_cast<uint64_t>(d);
    } else if (a == "--warmup") {
      if (!corral::config::parse_duration_ms(v, o.warmup_ms)) return bad("a duration like 1s");
    } else if (a == "--timeout") {
      if (!corral::config::parse_duration_ms(v, o.timeout_ms) || o.timeout_ms == 0) return bad("a duration like 300s");
    } else if (a == "--json") {
      o.json_path = v;
    } else if (a == "--max-error-rate") {
      if (!number(v, o.max_error_rate) || o.max_error_rate > 1) return bad("a fraction 0..1");
    } else if (a == "--io") {
      if (v != "uring" && v != "epoll") return bad("uring or epoll");
      o.epoll = v == "epoll";
    } else {
      err = "unknown flag '" + a + "'";
      return false;
    }
  }
  if (!have_url) {
    err = "--url is required";
    return false;
  }
  bool chat = o.endpoint == "chat" || o.endpoint == "openai-chat";
  if (!chat && (o.turns > 1 || o.system_words > 0)) {
    err = "--turns and --system-words need --endpoint chat or openai-chat";
    return false;
  }
  return true;
}

}  // namespace load
