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
    "  --record-heads N         keep the heads (method, path, headers) of the last N requests for\n"
    "                           GET /sim/requests (default 0: off)\n"
    "  --help                   this text\n"
    "\n"
    "Resource model (off unless --vram-gb is given; then one loop thread, and every duration,\n"
    "--ttft-ms and --token-delay-ms included, is model time scaled by --time-scale):\n"
    "  --vram-gb G              GPU memory; models load into it on first use (\":loaded\" ones at start)\n"
    "  --max-loaded-models N    OLLAMA_MAX_LOADED_MODELS (default 3); beyond it or VRAM, the least\n"
    "                           recently used idle model is unloaded, and new requests wait meanwhile\n"
    "  --num-parallel N         OLLAMA_NUM_PARALLEL: slots per model (default 4)\n"
    "  --max-queue N            OLLAMA_MAX_QUEUE: requests waiting (for a slot or a load) before 503\n"
    "                           \"server busy\" (default 512)\n"
    "  --keep-alive D           OLLAMA_KEEP_ALIVE: idle time before unload, e.g. 5m, 30s, -1 (default 5m);\n"
    "                           a request's keep_alive overrides it\n"
    "  --load-s-per-gb S        cold load time per GB of model (default 1.0)\n"
    "  --prompt-ms-per-token X  prompt evaluation per token not in the slot's KV cache (default 0.5)\n"
    "  --slot-slowdown F        per-token time grows by F for each further busy slot on the GPU (default 0.1)\n"
    "  --time-scale F           wall seconds per model second, e.g. 0.1 runs ten times faster (default 1)\n"
    "\n"
    "Per-request headers: X-Sim-Tokens: N, X-Sim-TTFT-Ms: N, X-Sim-Token-Delay-Ms: N, X-Sim-Token-Pad: N\n"
    "(N '.' appended to every token), X-Sim-Status: CODE, X-Sim-Disconnect-After: K, X-Sim-Stall-After: K,\n"
    "X-Sim-Fault: close|reset|half-close|stall|garbage with X-Sim-Fault-At: 0 (before any byte, the default),\n"
    "mid-head (partway through the response head) or K (after K token chunks; whole replies: after half the\n"
    "body, garbage: the whole reply and then an unasked-for response on the kept-alive connection).\n"
    "GET /sim/stats shows connection and stream counters; GET /sim/requests the recorded heads (oldest first).\n";

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

double parse_real(const std::string& flag, const std::string& v, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || errno || !(x >= lo && x <= hi)) {
    fail(flag + " expects a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'");
  }
  return x;
}

// The resource model's flags; false when `a` is not one of them.
bool resource_flag(const std::string& a, const std::string& v, ResourceOptions& r) {
  if (a == "--vram-gb") r.vram_gb = parse_real(a, v, 0.001, 1e6);
  else if (a == "--max-loaded-models") r.max_loaded = static_cast<int>(parse_int(a, v, 1, 1000));
  else if (a == "--num-parallel") r.num_parallel = static_cast<int>(parse_int(a, v, 1, 1000));
  else if (a == "--max-queue") r.max_queue = static_cast<int>(parse_int(a, v, 0, 10000000));
  else if (a == "--load-s-per-gb") r.load_s_per_gb = parse_real(a, v, 0, 3600);
  else if (a == "--prompt-ms-per-token") r.prompt_ms_per_token = parse_real(a, v, 0, 60000);
  else if (a == "--slot-slowdown") r.slot_slowdown = parse_real(a, v, 0, 100);
  else if (a == "--time-scale") r.time_scale = parse_real(a, v, 1e-6, 1000);
  else if (a == "--keep-alive") {
    if (!parse_keep_alive(v, r.keep_alive_ms)) fail("--keep-alive expects a duration like 5m, 30s or -1: '" + v + "'");
  } else return false;
  return true;
}

void parse_listen(const std::string& v, Options& o) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
    fail("--listen expects HOST:PORT, got '" + v + "'");
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
  std::string resource_seen;  // a resource flag given, for "needs --vram-gb"
  bool threads_given = false;
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
      const char* known[] = {"--listen",
                             "--models",
                             "--tokens",
                             "--ttft-ms",
                             "--token-delay-ms",
                             "--version-string",
                             "--fail-status",
                             "--threads",
                             "--record-heads",
                             "--vram-gb",
                             "--max-loaded-models",
                             "--num-parallel",
                             "--max-queue",
                             "--keep-alive",
                             "--load-s-per-gb",
                             "--prompt-ms-per-token",
                             "--slot-slowdown",
                             "--time-scale"};
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
    else if (a == "--version-string") o.version = v;
    else if (a == "--record-heads") o.record_heads = static_cast<int>(parse_int(a, v, 0, 100000));
    else if (a == "--threads") {
      o.threads = static_cast<int>(parse_int(a, v, 1, 256));
      threads_given = true;
    } else if (resource_flag(a, v, o.res)) {
      if (a != "--vram-gb") resource_seen = a;
    } else {
      fail("unknown flag '" + a + "'");
    }
  }
  if (!o.res.enabled() && !resource_seen.empty()) fail(resource_seen + " belongs to the resource model: add --vram-gb");
  if (o.res.enabled()) {  // one scheduler, as one Ollama server has
    if (threads_given && o.threads != 1) fail("the resource model (--vram-gb) runs on one thread: --threads must be 1");
    o.threads = 1;
  }
  std::string err;
  if (!parse_models(models, o.models, err)) fail("--models: " + err);
  return o;
}

}  // namespace sim
