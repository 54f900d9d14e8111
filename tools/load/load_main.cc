// corral-load: an LLM-shaped load generator for Ollama and OpenAI-compatible endpoints.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "corral/upstream/fetch.h"
#include "options.h"
#include "runner.h"

namespace {

std::string ms(uint64_t us) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", double(us) / 1000.0);
  return b;
}

std::string row(const char* name, const load::Histogram& h) {
  char b[256];
  std::snprintf(b, sizeof b, "%-10s %10llu %10s %10s %10s %10s %10s %10s\n", name,
                static_cast<unsigned long long>(h.count()), ms(h.percentile(50)).c_str(), ms(h.percentile(90)).c_str(),
                ms(h.percentile(99)).c_str(), ms(h.percentile(99.9)).c_str(), ms(h.max()).c_str(),
                ms(static_cast<uint64_t>(h.mean())).c_str());
  return b;
}

std::string hist_json(const load::Histogram& h) {
  char b[320];
  std::snprintf(b, sizeof b,
                "{\"count\":%llu,\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,\"p999_us\":%llu,\"max_us\":%llu,"
                "\"mean_us\":%.1f}",
                static_cast<unsigned long long>(h.count()), static_cast<unsigned long long>(h.percentile(50)),
                static_cast<unsigned long long>(h.percentile(90)), static_cast<unsigned long long>(h.percentile(99)),
                static_cast<unsigned long long>(h.percentile(99.9)), static_cast<unsigned long long>(h.max()),
                h.mean());
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  load::Options o;
  bool help = false;
  std::string err;
  if (!load::parse_options(argc, argv, o, help, err)) {
    std::fprintf(stderr, "corral-load: %s\n%s", err.c_str(), load::usage());
    return 2;
  }
  if (help) {
    std::fputs(load::usage(), stdout);
    return 0;
  }
  corral::core::SockAddr addr;
  if (!corral::core::resolve(o.host, o.port, addr, err)) {
    std::fprintf(stderr, "corral-load: %s\n", err.c_str());
    return 2;
  }
  std::string body;
  if (corral::upstream::fetch(addr, "/", 5000, body, err) == 0) {
    std::fprintf(stderr, "corral-load: target %s is not answering: %s\n", addr.to_string().c_str(), err.c_str());
    return 2;
  }
  load::Runner runner(o, addr);
  load::Results r = runner.run(isatty(2));
  uint64_t total = r.ok + r.errors;
  double error_rate = total ? double(r.errors) / double(total) : 0;

  std::printf("target %s  endpoint %s  %s  %s\n", addr.to_string().c_str(), o.endpoint.c_str(),
              o.stream ? "stream" : "no-stream",
              o.rate > 0 ? ("open loop " + std::to_string(o.rate) + " req/s").c_str()
                         : ("closed loop c=" + std::to_string(o.concurrency)).c_str());
  std::printf("requests %llu  ok %llu  errors %llu (%.2f%%)  %.1f req/s  %.1f tokens/s  %.1f MB/s\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(r.ok),
              static_cast<unsigned long long>(r.errors), 100 * error_rate, double(total) / r.seconds,
              double(r.tokens) / r.seconds, double(r.bytes) / r.seconds / 1e6);
  std::printf("%-10s %10s %10s %10s %10s %10s %10s %10s\n", "ms", "count", "p50", "p90", "p99", "p99.9", "max", "mean");
  std::fputs(row("total", r.total_us).c_str(), stdout);
  std::fputs(row("ttft", r.ttft_us).c_str(), stdout);
  std::fputs(row("itl", r.itl_us).c_str(), stdout);
  for (const auto& [kind, n] : r.errors_by_kind)
    std::printf("error %s: %llu\n", kind.c_str(), static_cast<unsigned long long>(n));

  if (!o.json_path.empty()) {
    std::string errors;
    for (const auto& [kind, n] : r.errors_by_kind)
      errors += (errors.empty() ? "\"" : ",\"") + kind + "\":" + std::to_string(n);
    std::ofstream out(o.json_path);
    out << "{\"requests\":" << total << ",\"ok\":" << r.ok << ",\"errors\":" << r.errors << ",\"errors_by_kind\":{"
        << errors << "},\"seconds\":" << r.seconds << ",\"rps\":" << double(total) / r.seconds
        << ",\"tokens\":" << r.tokens << ",\"tokens_per_second\":" << double(r.tokens) / r.seconds
        << ",\"bytes\":" << r.bytes << ",\"total\":" << hist_json(r.total_us) << ",\"ttft\":" << hist_json(r.ttft_us)
        << ",\"itl\":" << hist_json(r.itl_us) << "}\n";
    if (!out) {
      std::fprintf(stderr, "corral-load: cannot write %s\n", o.json_path.c_str());
      return 2;
    }
  }
  if (error_rate > o.max_error_rate) {
    std::fprintf(stderr, "corral-load: error rate %.4f above --max-error-rate %.4f\n", error_rate, o.max_error_rate);
    return 1;
  }
  return 0;
}
