#include "corral/upstream/fetch.h"

#include <cstring>

#include "corral/core/buffer_pool.h"
#include "corral/core/loop.h"
#include "corral/upstream/client.h"

namespace corral::upstream {
namespace {

struct Fetch final : ClientUser, http::BodySink {
  core::Loop& loop;
  std::string& body;
  std::string& err;
  int status = 0;
  bool done = false;
  Fetch(core::Loop& l, std::string& b, std::string& e) : loop(l), body(b), err(e) {}

  bool on_response_head(const http::Head& h) override {
    status = h.status();
    return true;
  }
  void on_response_bytes(core::IoBuf buf, uint32_t, uint32_t) override { buf.release(); }
  void on_body(const char* p, size_t n) override { body.append(p, n); }
  void on_response_done() override { end(); }
  void on_failure(Failure why, int e, std::string_view) override {
    status = 0;
    err = why == Failure::bad_response ? "no HTTP response" : e < 0 ? std::strerror(-e) : "closed before responding";
    end();
  }
  void end() {
    done = true;
    loop.stop();
  }
};

}  // namespace

int fetch(const core::SockAddr& addr, std::string_view path, uint32_t timeout_ms, std::string& body, std::string& err) {
  core::BufferPool buffers(8, 16384);
  core::LoopChoice lc = core::make_loop(false, buffers);
  Pool pool(*lc.loop, 1, 1000, nullptr);
  Fetch f(*lc.loop, body, err);
  std::string host = addr.to_string();
  std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  int status = 0;
  {
    Client client(pool, f);
    int e = 0;
    upstream::Target target;
    target.addr = &addr;
    target.host_header = host;
    if (!client.start(target, {req, {}, false}, &f, e)) {
      err = std::string("no socket: ") + std::strerror(-e);
      return 0;
    }
    uint64_t deadline = 0;
    lc.loop->run(
        [&] {
          if (deadline == 0) deadline = lc.loop->now_ms() + timeout_ms;
          if (lc.loop->now_ms() < deadline) return;
          err = client.connecting() ? "connect timed out" : "no response in time";
          client.abort();
          lc.loop->stop();
        },
        50);
    status = f.done ? f.status : 0;
  }
  pool.drain();
  lc.loop->run([&] { lc.loop->stop(); }, 1);  // lets the closes finish
  return status;
}

}  // namespace corral::upstream
