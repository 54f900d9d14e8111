#include "corral/server/worker.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <random>

#include "corral/analytics/service.h"
#include "corral/core/log.h"
#include "corral/proxy/session.h"

namespace corral::server {
namespace {
constexpr int kTickMs = 100;
constexpr uint32_t kResponseSampleBytes = 2048;  // first response body bytes for the analytics preview
}  // namespace

Worker::Worker(unsigned id, const config::Config& cfg, proxy::Fleet& fleet, metrics::Registry& registry,
               analytics::Service* analytics)
    : id_(id), cfg_(cfg) {
  if (analytics) {
    ctx_.analytics = analytics;
    ctx_.records = &analytics->ring(id);
    // A preview of N characters needs at most 4N bytes of UTF-8.
    ctx_.prompt_preview_bytes =
        std::min<uint32_t>(cfg.analytics.preview_chars * 4, analytics::Record::kCap[analytics::kPromptPreview]);
    ctx_.response_sample_bytes = kResponseSampleBytes;
  }
  ctx_.cfg = &cfg;
  ctx_.fleet = &fleet;
  ctx_.keys = fleet.keys;
  ctx_.key_admin = fleet.key_admin;
  ctx_.registry = &registry;
  ctx_.metrics = &registry.shard(id);
  ctx_.worker_id = id;
  ctx_.limits = http::Limits{cfg.max_header_bytes, cfg.max_headers, cfg.max_body_bytes};
  ctx_.id_seed = std::random_device{}() & 0xffffffffffull;
  ctx_.rng = std::random_device{}() | 1;
}

Worker::~Worker() { join(); }

bool Worker::setup(const std::vector<ListenSpec>& listen, bool want_uring, std::string& err) {
  pool_mem_ = std::make_unique<core::BufferPool>(cfg_.buffer_count, cfg_.buffer_size);
  core::LoopChoice choice = core::make_loop(want_uring, *pool_mem_);
  loop_ = std::move(choice.loop);
  io_why_ = choice.why;
  ctx_.loop = loop_.get();
  ctx_.io_name = loop_->backend() == core::IoBackend::uring ? "io_uring" : "epoll";
  upstreams_ =
      std::make_unique<upstream::Pool>(*loop_, cfg_.upstream_max_idle, cfg_.upstream_idle_timeout_ms, ctx_.metrics);
  ctx_.pool = upstreams_.get();
  ctx_.tls_plain = &tls_plain_;
  for (const ListenSpec& spec : listen) {
    core::UniqueFd fd = core::listen_tcp(spec.addr, 4096, err);
    if (!fd) {
      err = spec.addr.to_string() + ": " + err;
      return false;
    }
    auto l = std::make_unique<Listener>();
    l->role = spec.role;
    loop_->attach(l->sock, fd.release(), this);
    listeners_.push_back(std::move(l));
  }
  ctx_.fleet->loops[id_].store(loop_.get(), std::memory_order_release);
  return true;
}

// The ring is created on the worker's own thread: with SINGLE_ISSUER only the
// creating thread may submit to it.
bool Worker::start(const std::vector<ListenSpec>& listen, bool want_uring, int cpu, std::string& err) {
  std::promise<std::string> ready;
  auto result = ready.get_future();
  thread_ = std::thread([&, cpu] {
    pthread_setname_np(pthread_self(), ("corral-w" + std::to_string(id_)).c_str());
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    std::string why;
    bool ok = setup(listen, want_uring, why);
    ready.set_value(ok ? std::string() : why);
    if (!ok) return;
    for (auto& l : listeners_) loop_->accept(l->sock);
    loop_->run([this] { tick(); }, kTickMs);
  });
  err = result.get();
  return err.empty();
}

void Worker::on_accept(core::Socket& s, int fd) {
  if (ctx_.draining) {
    ::close(fd);
    return;
  }
  core::set_nodelay(fd);
  ListenerRole role = ListenerRole::client;
  for (const auto& l : listeners_) {
    if (&l->sock == &s) role = l->role;
  }
  std::shared_ptr<transport::TlsServerContext> tls;
  if (role == ListenerRole::client_tls) {
    ctx_.fleet->tls_server->refresh(tls_server_, tls_server_version_);
    tls = tls_server_;
  }
  auto* session = new proxy::Session(ctx_, fd, core::peer_ip(fd), std::move(tls));
  if (role == ListenerRole::admin) session->serve_local_only();
}

void Worker::drain(uint64_t ms) {
  drain_after_ms_.store(ms == 0 ? 1 : ms, std::memory_order_relaxed);
  if (loop_) loop_->wake();
}

void Worker::tick() {
  uint64_t now = loop_->now_ms();
  ++ctx_.ticks;
  uint64_t drain_ms = drain_after_ms_.load(std::memory_order_relaxed);
  if (drain_ms != 0 && !ctx_.draining) {
    ctx_.draining = true;
    drain_deadline_ = now + drain_ms;
    for (auto& l : listeners_) loop_->close(l->sock);
    upstreams_->drain();
  }
  ctx_.waiting.for_each([](proxy::Session& s) { s.retry_queued(); });  // admission: places may have freed up
  for (proxy::Session* s = ctx_.sessions; s;) {
    proxy::Session* next = s->next;
    s->tick(now);
    s = next;
  }
  if (now - last_reap_ >= 1000) {
    last_reap_ = now;
    upstreams_->reap(now);
  }
  ctx_.metrics->upstream_idle.store(upstreams_->idle_count(), std::memory_order_relaxed);
  ctx_.metrics->upstream_live.store(upstreams_->live(), std::memory_order_relaxed);
  ctx_.metrics->client_sessions.store(ctx_.session_count, std::memory_order_relaxed);
  if (!ctx_.draining) return;
  if (now >= drain_deadline_) {
    for (proxy::Session* s = ctx_.sessions; s; s = s->next) s->close();
  }
  // Stop only once the kernel has let go of everything, the listener included:
  // a listener left open would keep taking connections nobody serves.
  if (ctx_.session_count == 0 && upstreams_->live() == 0 && listeners_closed_ == listeners_.size()) loop_->stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace corral::server
