#include "corral/route/backend.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <simdjson.h>

#include "corral/core/log.h"
#include "corral/http/parser.h"

namespace corral::route {

bool resolve_backends(const config::Config& cfg, BackendList& out, std::string& err) {
  for (const config::BackendConfig& b : cfg.backends) {
    auto be = std::make_unique<Backend>();
    be->cfg = b;
    if (!core::resolve(b.host, b.port, be->addr, err)) {
      err = "backend " + b.url + ": " + err;
      return false;
    }
    be->host_header = b.host.find(':') != std::string::npos ? "[" + b.host + "]:" + std::to_string(b.port)
                                                             : b.host + ":" + std::to_string(b.port);
    out.push_back(std::move(be));
  }
  return true;
}

static bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}

int http_get(const core::SockAddr& addr, const char* path, uint32_t timeout_ms, std::string& body, std::string& err) {
  core::UniqueFd fd = core::tcp_socket(addr);
  if (!fd) {
    err = std::strerror(errno);
    return 0;
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

bool probe(const core::SockAddr& addr, uint32_t timeout_ms, std::string& err) {
  std::string body;
  int status = http_get(addr, "/", timeout_ms, body, err);
  if (status >= 500) err = "status " + std::to_string(status);
  return status > 0 && status < 500;
}

bool parse_ps(const std::string& body, int64_t& models, int64_t& vram) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["models"].get(list) != simdjson::SUCCESS) return false;
  models = 0;
  vram = 0;
  for (auto m : list) {
    ++models;
    int64_t v;
    if (m["size_vram"].get(v) == simdjson::SUCCESS) vram += v;
  }
  return true;
}

HealthChecker::HealthChecker(BackendList& b, uint32_t interval_ms, uint32_t timeout_ms)
    : backends_(b), interval_ms_(interval_ms), timeout_ms_(timeout_ms) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::check_all() {
  for (auto& b : backends_) {
    std::string err;
    bool up = probe(b->addr, timeout_ms_, err);
    bool was = b->up.exchange(up, std::memory_order_relaxed);
    std::string ps, ps_err;
    int64_t models = -1, vram = -1;
    if (!up || http_get(b->addr, "/api/ps", timeout_ms_, ps, ps_err) != 200 || !parse_ps(ps, models, vram)) {
      models = vram = -1;
    }
    b->models_loaded.store(models, std::memory_order_relaxed);
    b->vram_bytes.store(vram, std::memory_order_relaxed);
    if (up != was) {
      log::write(up ? log::Level::info : log::Level::warn, up ? "backend_up" : "backend_down",
                 "backend=" + b->cfg.url + (up ? "" : " error=" + log::quote(err)));
    }
  }
}

void HealthChecker::start() { thread_ = std::thread([this] { run(); }); }

void HealthChecker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; })) {
    lock.unlock();
    check_all();
    lock.lock();
  }
}

}  // namespace corral::route
