#include "corral/metrics/process.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace corral::metrics {
namespace {

double boot_time() {
  std::ifstream in("/proc/stat");
  std::string k;
  double v = 0;
  while (in >> k) {
    if (k == "btime") {
      in >> v;
      return v;
    }
  }
  return 0;
}

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
    n -= 3;  // ".", ".." and the directory's own descriptor
  }
  return n;
}

void gauge(std::string& out, const char* name, const char* type, const char* help, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
  out.append(type).append("\n").append(name).append(" ").append(buf).append("\n");
}

}  // namespace

void render_process_metrics(std::string& out) {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(rest)), std::istream_iterator<std::string>());
  if (f.size() < 22) return;
  double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Fields after the command: state=0 … utime=11 stime=12 … starttime=19 vsize=20 rss=21.
  gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
        (std::stod(f[11]) + std::stod(f[12])) / tick);
  gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(f[21]) * page);
  gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(f[20]));
  gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
        boot_time() + std::stod(f[19]) / tick);
  gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", open_fds());
  long max_fds = sysconf(_SC_OPEN_MAX);
  gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(max_fds));
}

}  // namespace corral::metrics
