#include "corral/fleet/serve.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "corral/core/net.h"

namespace corral::fleet {
namespace {

bool answers(const config::BackendConfig& b) {
  core::SockAddr addr;
  std::string err;
  if (!core::resolve(b.host, b.port, addr, err)) return false;
  core::UniqueFd fd = core::tcp_socket(addr);
  if (!fd) return false;
  if (::connect(fd.get(), addr.get(), addr.len) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  int soerr = 0;
  socklen_t len = sizeof soerr;
  return poll(&p, 1, 500) == 1 && getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
}

}  // namespace

std::string find_in_path(const std::string& name, char** envp) {
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (char** e = envp; e && *e; ++e) {
    if (std::strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  }
  for (size_t start = 0; start <= path.size();) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string file = (dir.empty() ? "." : dir) + "/" + name;
    if (access(file.c_str(), X_OK) == 0) return file;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

std::string serve_local_ollama(config::Config& cfg, char** envp) {
  if (cfg.backends.size() != 1) return "serve: several backends, none started";
  config::BackendConfig& b = cfg.backends[0];
  if (b.supervise || b.on_demand || b.dns || b.https || b.kind != config::BackendKind::ollama) {
    return "serve: the backend has a lifecycle or is not a plain Ollama url, none started";
  }
  if (answers(b)) return "serve: " + b.url + " answers, using it";
  if (find_in_path("ollama", envp).empty()) return "serve: nothing answers on " + b.url + " and no ollama on PATH";
  std::string host = b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host;
  config::SuperviseConfig s;
  s.command = {"ollama", "serve"};
  s.env = {{"OLLAMA_HOST", host + ":" + std::to_string(b.port)}};
  b.supervise = s;
  return "serve: starting ollama serve for " + b.url;
}

}  // namespace corral::fleet
