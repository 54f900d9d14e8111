#include "corral/route/discovery.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <simdjson.h>

#include "corral/http/parser.h"

namespace corral::route {

static bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}

int http_get(const core::SockAddr& addr, const char* path, uint32_t timeout_ms, std::string& body, std::string& err) {
  core::UniqueFd fd = core::tcp_socket(addr);
  if (!fd) {
    int e = errno;
    err = std::string("corral could not open a socket: ") + std::strerror(e);
    return core::local_shortage(e) ? -1 : 0;
  }
  int timeout = static_cast<int>(timeout_ms);
  if (::connect(fd.get(), addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
    err = std::strerror(errno);
    return 0;
  }
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (!wait_fd(fd.get(), POLLOUT, timeout) || getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
      soerr != 0) {
    err = soerr ? std::strerror(soerr) : "connect timed out";
    return 0;
  }
  std::string req = std::string("GET ") + path + " HTTP/1.1\r\nHost: " + addr.to_string() +
                    "\r\nUser-Agent: corral-health\r\nConnection: close\r\n\r\n";
  if (::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    err = "send failed";
    return 0;
  }
  http::MessageParser parser(http::MessageParser::Kind::response, http::Limits{65536, 500, 16u << 20});
  struct Collect final : http::BodySink {
    std::string* out;
    void on_body(const char* p, size_t n) override { out->append(p, n); }
  } sink;
  sink.out = &body;
  parser.set_sink(&sink);
  char buf[16384];
  for (;;) {
    if (!wait_fd(fd.get(), POLLIN, timeout)) {
      err = "no response in time";
      return 0;
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    auto r = n > 0 ? parser.feed(buf, static_cast<size_t>(n)) : parser.finish();
    size_t off = r.used;
    while (r.status == http::MessageParser::Status::head && n > 0) {
      r = parser.feed(buf + off, static_cast<size_t>(n) - off);
      off += r.used;
    }
    if (r.status == http::MessageParser::Status::done) return parser.head().status();
    if (r.status == http::MessageParser::Status::error || n <= 0) {
      err = "no HTTP response";
      return 0;
    }
  }
}

namespace {

template <typename F>
bool each_model(const std::string& body, F&& f) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["models"].get(list) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element m : list) {
    std::string_view name;
    if (m["name"].get(name) != simdjson::SUCCESS && m["model"].get(name) != simdjson::SUCCESS) continue;
    f(name, m);
  }
  return true;
}

int64_t int_field(simdjson::dom::element m, const char* key) {
  int64_t v = 0;
  if (m[key].get(v) != simdjson::SUCCESS) {
    uint64_t u = 0;
    if (m[key].get(u) == simdjson::SUCCESS) v = static_cast<int64_t>(u);
  }
  return v;
}

}  // namespace

bool parse_tags(const std::string& body, std::vector<ModelInfo>& out) {
  out.clear();
  return each_model(body, [&](std::string_view name, simdjson::dom::element m) {
    out.push_back({std::string(name), int_field(m, "size")});
  });
}

bool parse_ps(const std::string& body, std::vector<LoadedModel>& out) {
  out.clear();
  return each_model(body, [&](std::string_view name, simdjson::dom::element m) {
    std::string_view expires;
    if (m["expires_at"].get(expires) != simdjson::SUCCESS) expires = {};
    out.push_back({std::string(name), int_field(m, "size"), int_field(m, "size_vram"), std::string(expires)});
  });
}

bool parse_version(const std::string& body, std::string& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view v;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["version"].get(v) != simdjson::SUCCESS) return false;
  out.assign(v);
  return true;
}

bool resolve_all(const config::BackendConfig& b, std::vector<core::SockAddr>& out, std::string& err) {
  if (!core::resolve_all(b.host, b.port, out, err)) return false;
  if (!b.dns) out.resize(1);
  return true;
}

Probe probe_member(const core::SockAddr& addr, uint32_t timeout_ms, bool discover, MemberView& v, std::string& err) {
  auto t0 = std::chrono::steady_clock::now();
  std::string body;
  int status = http_get(addr, "/api/version", timeout_ms, body, err);
  if (status < 0) return Probe::local_shortage;
  if (status >= 500) err = "GET /api/version: status " + std::to_string(status);
  if (status == 0 || status >= 500) return Probe::failed;
  v.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (status == 200) parse_version(body, v.version);
  std::string ps, why;
  if (http_get(addr, "/api/ps", timeout_ms, ps, why) != 200 || !parse_ps(ps, v.loaded)) v.loaded.clear();
  if (discover) {
    std::string tags;
    std::vector<ModelInfo> models;
    if (http_get(addr, "/api/tags", timeout_ms, tags, why) == 200 && parse_tags(tags, models)) {
      v.models = std::move(models);  // a failed listing keeps the last one known
      v.models_known = true;
    }
  }
  return Probe::ok;
}

}  // namespace corral::route
