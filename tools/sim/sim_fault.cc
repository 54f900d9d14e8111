#include "sim_fault.h"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace sim {

bool parse_fault(std::string_view v, Fault& out) {
  struct Name {
    std::string_view name;
    Fault fault;
  };
  static const Name kNames[] = {{"close", Fault::close},
                                {"reset", Fault::reset},
                                {"half-close", Fault::half_close},
                                {"stall", Fault::stall},
                                {"garbage", Fault::garbage}};
  for (const Name& n : kNames) {
    if (v == n.name) {
      out = n.fault;
      return true;
    }
  }
  return false;
}

bool parse_fault_at(std::string_view v, int& out) {
  if (v == "mid-head") {
    out = kFaultMidHead;
    return true;
  }
  std::string s(v);
  errno = 0;
  char* end = nullptr;
  long x = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || errno || x < 0 || x > 100000000) return false;
  out = static_cast<int>(x);
  return true;
}

std::string head_before_fault(Fault f, const std::string& head) {
  if (f == Fault::garbage) return head.substr(0, head.find("\r\n") + 2);
  return head.substr(0, head.size() / 2);
}

std::string_view garbage_at(int fault_at) {
  if (fault_at == 0) return "SSH-2.0-OpenSSH_9.2 this is not an HTTP response\r\n\r\n";
  if (fault_at == kFaultMidHead) return "this line is no header\r\n\r\n";
  return "zz-not-a-chunk-size\r\n{\"garbage\":true}\r\n";
}

std::string_view garbage_after_response() { return "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nexcess!"; }

}  // namespace sim
