#include "sim_config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sim_state.h"

namespace sim {

const char* const kDefaultModels =
    "llama3.2:latest=2019393189:loaded,qwen2.5:7b=4683087332,nomic-embed-text:latest=274302450";

namespace {

const char kUsage[] =
    "usage: corral-sim [options]\n"
    "A simulated Ollama server (canned, deterministic answers; no GPU) for corral's tests and benchmarks.\n"
    "\n"
    "  --listen HOST:PORT       address to listen on (default 127.0.0.1:11435; port 0 picks one)\n"
    "  --models SPEC            name=SIZE_BYTES[:loaded],... (default: %s)\n"
    "  --tokens N               tokens per generated reply (default 8)\n"
    "  --ttft-ms N              delay before the first token (default 0)\n"
    "  --token-delay-ms N       delay between tokens (default 0)\n"
    "  --version-string S       what /api/version reports (default 0.5.7)\n"
    "  --fail-status CODE       every generation/embedding request answers CODE {\"error\":\"simulated failure\"}\n"
    "  --threads N              event-loop threads, each with its own SO_REUSEPORT listener (default 2)\n"
    "  --help                   this text\n"
    "\n"
    "Per-request headers: X-Sim-Tokens: N, X-Sim-TTFT-Ms: N, X-Sim-Token-Delay-Ms: N, X-Sim-Token-Pad: N\n"
    "(N '.' appended to every token), X-Sim-Status: CODE, X-Sim-Disconnect-After: K, X-Sim-Stall-After: K,\n"
    "X-Sim-Fault: close|reset|half-close|stall|garbage with X-Sim-Fault-At: 0 (before any byte, the default),\n"
    "mid-head (partway through the response head) or K (after K token chunks; whole replies: after half the\n"
    "body, garbage: the whole reply and then an unasked-for response on the kept-alive connection).\n"
    "GET /sim/stats shows connection and stream counters.\n";

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "corral-sim: %s (try --help)\n", msg.c_str());
  std::exit(2);
}

long long parse_int(const std::string& flag, const std::string& v, long long lo, long long hi) {
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || x < lo || x > hi) {
    fail(flag + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'");
  }
  return x;
}

void parse_listen(const std::string& v, Options& o) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size()) fail("--listen expects HOST:PORT, got '" + v + "'");
  std::string host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  o.host = host;
  o.port = static_cast<int>(parse_int("--listen port", v.substr(colon + 1), 0, 65535));
}

}  // namespace

bool parse_models(const std::string& spec, std::vector<ModelSpec>& out, std::string& err) {
  out.clear();
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = item.find('=');
    if (item.empty() || eq == std::string::npos || eq == 0) {
      err = "model entry '" + item + "' is not name=SIZE_BYTES[:loaded]";
      return false;
    }
    std::string size = item.substr(eq + 1);
    bool loaded = false;
    const std::string suffix = ":loaded";
    if (size.size() > suffix.size() && size.compare(size.size() - suffix.size(), suffix.size(), suffix) == 0) {
      loaded = true;
      size.resize(size.size() - suffix.size());
    }
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(size.c_str(), &end, 10);
    if (size.empty() || *end || errno || v < 0) {  // 0: the backend reports no size
      err = "model entry '" + item + "': SIZE_BYTES must be a whole number (0: no size reported)";
      return false;
    }
    out.push_back({canonical_name(item.substr(0, eq)), v, loaded});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) {
    err = "no models given";
    return false;
  }
  return true;
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::string models = kDefaultModels;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(kUsage, kDefaultModels);
      std::exit(0);
    }
    std::string v;
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {  // --flag=value
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      v = argv[++i];
    } else if (a.rfind("--", 0) == 0) {
      const char* known[] = {"--listen", "--models", "--tokens", "--ttft-ms", "--token-delay-ms",
                             "--version-string", "--fail-status", "--threads"};
      for (const char* k : known) {
        if (a == k) fail(a + " needs a value");
      }
      fail("unknown flag '" + a + "'");
    } else {
      fail("unexpected argument '" + a + "'");
    }
    if (a == "--listen") parse_listen(v, o);
    else if (a == "--models") models = v;
    else if (a == "--tokens") o.tokens = static_cast<int>(parse_int(a, v, 0, 100000000));
    else if (a == "--ttft-ms") o.ttft_ms = static_cast<int>(parse_int(a, v, 0, 86400000));
    else if (a == "--token-delay-ms") o.token_delay_ms = static_cast<int>(parse_int(a, v, 0, 86400000));
    else if (a == "--fail-status") o.fail_status = static_cast<int>(parse_int(a, v, 200, 599));
    else if (a == "--threads") o.threads = static_cast<int>(parse_int(a, v, 1, 256));
    else if (a == "--version-string") o.version = v;
    else fail("unknown flag '" + a + "'");
  }
  std::string err;
  if (!parse_models(models, o.models, err)) fail("--models: " + err);
  return o;
}

}  // namespace sim
