// corral-sim entry: flags, listener, one thread per connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "corral/core/net.h"
#include "corral/http/parser.h"
#include "sim.h"

namespace sim {

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (c == '\n') o += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o + "\"";
}

std::vector<Model> State::models() {
  std::lock_guard<std::mutex> l(mu_);
  return models_;
}
bool State::find(const std::string& name, Model* out) {
  std::lock_guard<std::mutex> l(mu_);
  for (const Model& m : models_) {
    if (m.name == name) return *out = m, true;
  }
  return false;
}
void State::add(const std::string& name, int64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  for (const Model& m : models_) {
    if (m.name == name) return;
  }
  models_.push_back({name, size, false});
}
bool State::remove(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < models_.size(); ++i) {
    if (models_[i].name == name) return models_.erase(models_.begin() + static_cast<long>(i)), true;
  }
  return false;
}

bool Reply::write_all(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

static std::string reason(int s) {
  switch (s) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

bool Reply::text(int status, const std::string& ct, const std::string& body) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  if (!ct.empty()) h += "Content-Type: " + ct + "\r\n";
  h += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return write_all(head_only_ ? h : h + body);
}
bool Reply::json(int status, const std::string& body) { return text(status, "application/json; charset=utf-8", body); }
bool Reply::begin_stream(const std::string& ct) {
  return write_all("HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\nTransfer-Encoding: chunked\r\n\r\n");
}
bool Reply::chunk(const std::string& d) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", d.size());
  return write_all(size + d + "\r\n");
}
bool Reply::end_stream() { return write_all("0\r\n\r\n"); }

namespace {

struct BodyCollector final : corral::http::BodySink {
  std::string body;
  void on_body(const char* p, size_t n) override { body.append(p, n); }
};

int header_int(const corral::http::Head& h, std::string_view name, int dflt) {
  std::string_view v = h.get(name);
  return v.empty() ? dflt : std::atoi(std::string(v).c_str());
}

void serve(int fd, State& state, Stats& stats, const Options& opt) {
  ++stats.connections_open;
  ++stats.connections_total;
  corral::http::MessageParser parser(corral::http::MessageParser::Kind::request, corral::http::Limits{65536, 200, 1ull << 30});
  BodyCollector sink;
  parser.set_sink(&sink);
  std::string pending;
  char buf[65536];
  bool open = true;
  while (open) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    while (open && off <= pending.size()) {
      auto r = parser.feed(pending.data() + off, pending.size() - off);
      off += r.used;
      if (r.status == corral::http::MessageParser::Status::error) {
        Reply(fd, false).json(400, "{\"error\":" + json_str(parser.error_text()) + "}");
        open = false;
        break;
      }
      if (r.status == corral::http::MessageParser::Status::head) continue;
      if (r.status != corral::http::MessageParser::Status::done) break;
      ++stats.requests_total;
      const corral::http::Head& h = parser.head();
      Request req{std::string(h.method()), std::string(h.path()), sink.body,
                  Knobs{header_int(h, "x-sim-tokens", opt.tokens), header_int(h, "x-sim-ttft-ms", opt.ttft_ms),
                        header_int(h, "x-sim-token-delay-ms", opt.token_delay_ms), header_int(h, "x-sim-status", 0),
                        header_int(h, "x-sim-disconnect-after", -1), header_int(h, "x-sim-stall-after", -1),
                        header_int(h, "x-sim-token-pad", 0)}};
      Reply reply(fd, req.method == "HEAD");
      open = handle(req, reply, state, stats, opt) && parser.keep_alive();
      sink.body.clear();
      parser.next_message();
    }
    pending.erase(0, off);
  }
  ::close(fd);
  --stats.connections_open;
}

const char* kUsage =
    "usage: corral-sim [--listen HOST:PORT] [--models name=SIZE[:loaded],...] [--tokens N] [--ttft-ms N]\n"
    "                  [--token-delay-ms N] [--fail-status CODE] [--version-string S]\n"
    "A simulated Ollama server. Per-request headers: X-Sim-Tokens, X-Sim-TTFT-Ms, X-Sim-Token-Delay-Ms,\n"
    "X-Sim-Status, X-Sim-Disconnect-After, X-Sim-Stall-After, X-Sim-Token-Pad (bytes added to each token).\n"
    "GET /sim/stats shows connection counters.\n";

bool parse_models(const std::string& spec, std::vector<Model>& out) {
  size_t start = 0;
  while (start < spec.size()) {
    size_t comma = spec.find(',', start);
    std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos) return false;
    std::string size = item.substr(eq + 1);
    bool loaded = size.size() > 7 && size.compare(size.size() - 7, 7, ":loaded") == 0;
    if (loaded) size.resize(size.size() - 7);
    char* end;
    long long v = std::strtoll(size.c_str(), &end, 10);
    if (*end || v <= 0) return false;
    std::string name = item.substr(0, eq);
    if (name.find(':') == std::string::npos) name += ":latest";
    out.push_back({name, v, loaded});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return !out.empty();
}

}  // namespace
}  // namespace sim

int main(int argc, char** argv) {
  sim::Options opt;
  std::vector<sim::Model> models = {{"llama3.2:latest", 2019393189, true},
                                    {"qwen2.5:7b", 4683087332, false},
                                    {"nomic-embed-text:latest", 274302450, false}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(sim::kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "corral-sim: unknown or incomplete flag '%s'\n%s", a.c_str(), sim::kUsage);
      return 2;
    }
    std::string v = argv[++i];
    auto num = [&](int& dst) {
      char* end;
      long x = std::strtol(v.c_str(), &end, 10);
      if (*end || x < 0) {
        std::fprintf(stderr, "corral-sim: %s expects a non-negative number, got '%s'\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      dst = static_cast<int>(x);
    };
    if (a == "--listen") opt.listen = v;
    else if (a == "--tokens") num(opt.tokens);
    else if (a == "--ttft-ms") num(opt.ttft_ms);
    else if (a == "--token-delay-ms") num(opt.token_delay_ms);
    else if (a == "--fail-status") num(opt.fail_status);
    else if (a == "--version-string") opt.version = v;
    else if (a == "--threads") { int ignored; num(ignored); }
    else if (a == "--models") {
      models.clear();
      if (!sim::parse_models(v, models)) {
        std::fprintf(stderr, "corral-sim: --models expects name=SIZE[:loaded],..., got '%s'\n", v.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "corral-sim: unknown flag '%s'\n%s", a.c_str(), sim::kUsage);
      return 2;
    }
  }
  std::string host, err;
  int port;
  corral::core::SockAddr addr;
  if (!corral::core::split_host_port(opt.listen, host, port) || !corral::core::resolve(host, port, addr, err)) {
    std::fprintf(stderr, "corral-sim: bad --listen '%s' %s\n", opt.listen.c_str(), err.c_str());
    return 2;
  }
  corral::core::UniqueFd lfd = corral::core::listen_tcp(addr, 4096, err);
  if (!lfd) {
    std::fprintf(stderr, "corral-sim: %s\n", err.c_str());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  static sim::State state(models);
  static sim::Stats stats;
  std::fprintf(stderr, "corral-sim listening on %s\n", opt.listen.c_str());
  for (;;) {
    pollfd p{lfd.get(), POLLIN, 0};
    if (poll(&p, 1, -1) <= 0) continue;
    int fd = accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    corral::core::set_nodelay(fd);
    std::thread([fd, opt] { sim::serve(fd, state, stats, opt); }).detach();
  }
}
