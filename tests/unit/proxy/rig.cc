#include "rig.h"

#include <stdexcept>

#include "../../support/members.h"
#include "corral/proxy/session.h"

namespace corral::test {

Rig::Rig(std::initializer_list<BackendSpec> backends, const std::string& yaml) {
  std::string err;
  if (!yaml.empty() && !config::apply_yaml(yaml, cfg, err)) throw std::runtime_error(err);
  std::vector<route::MemberView> views;
  int port = 21000;
  for (const BackendSpec& b : backends) {
    config::BackendConfig bc;
    config::parse_backend_url("http://127.0.0.1:" + std::to_string(port++), bc, err);
    bc.name = b.name;
    bc.max_concurrent = b.max_concurrent;
    cfg.backends.push_back(bc);
  }
  if (!config::finalize(cfg, err)) throw std::runtime_error(err);
  for (const config::BackendConfig& bc : cfg.backends) {
    route::MemberView v = test::healthy_member(table, bc);
    for (const BackendSpec& b : backends) {
      if (b.name != bc.name) continue;
      v.models_known = !b.models.empty();
      for (const std::string& m : b.models) v.models.push_back({m, 1000});
    }
    views.push_back(v);
  }
  box.publish(route::build_snapshot(views, cfg, 1));
  pool = std::make_unique<upstream::Pool>(loop, cfg.upstream_max_idle, cfg.upstream_idle_timeout_ms, &shard());
  fleet.table = &table;
  fleet.box = &box;
  fleet.control = &control;
  ctx.loop = &loop;
  ctx.cfg = &cfg;
  ctx.fleet = &fleet;
  ctx.registry = &registry;
  ctx.metrics = &shard();
  ctx.pool = pool.get();
  ctx.io_name = "fake";
  ctx.limits = http::Limits{cfg.max_header_bytes, cfg.max_headers, cfg.max_body_bytes};
  ctx.rng = 7;
}

Rig::~Rig() {
  for (proxy::Session* s = ctx.sessions; s;) {
    proxy::Session* next = s->next;
    s->close();
    s = next;
  }
  pool->drain();
  loop.settle();
}

int Rig::connect_client() {
  struct Nobody final : core::SocketHandler {
  } nobody;
  int fd = loop.accept_client(nobody);
  new proxy::Session(ctx, fd, "127.0.0.9");
  loop.settle();
  return fd;
}

int Rig::accept_upstream() {
  int fd = loop.last_stream();
  if (fd < 0 || loop.peer(fd).closed) throw std::logic_error("no backend connection");
  if (!loop.peer(fd).connecting) return fd;  // a pooled one
  loop.finish_connect(fd);
  loop.settle();
  return fd;
}

std::string Rig::backend_of(int upstream) const {
  const std::string& remote = const_cast<FakeLoop&>(loop).peer(upstream).remote;
  for (size_t slot = 0; slot < table.size(); ++slot) {
    if (table[slot].addr.to_string() == remote) return table[slot].name;
  }
  return remote;
}

void Rig::tick(uint64_t advance_ms) {
  loop.set_now(loop.now_ms() + advance_ms);
  ctx.waiting.for_each([](proxy::Session& s) { s.retry_queued(); });
  for (proxy::Session* s = ctx.sessions; s;) {
    proxy::Session* next = s->next;
    s->tick(loop.now_ms());
    s = next;
  }
  loop.settle();
}

std::string http_request(const std::string& method, const std::string& path, const std::string& body,
                         const std::string& headers) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: corral\r\n" + headers;
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

std::string http_response(int status, const std::string& body, const std::string& headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace corral::test
