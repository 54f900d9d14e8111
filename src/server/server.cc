#include "corral/server/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "corral/core/log.h"
#include "corral/metrics/registry.h"
#include "corral/route/backend.h"
#include "corral/server/worker.h"

namespace corral::server {
namespace {

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  core::UniqueFd sfd(signalfd(-1, &set, SFD_CLOEXEC));
  for (;;) {
    signalfd_siginfo si{};
    if (::read(sfd.get(), &si, sizeof si) != sizeof si) continue;
    if (si.ssi_signo == SIGHUP) {
      log::write(log::Level::info, "sighup", "action=ignored reason=\"no config reload in this build\"");
      continue;
    }
    if (si.ssi_signo == SIGPIPE) continue;
    return static_cast<int>(si.ssi_signo);
  }
}

void block_signals_for_threads() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void stop_workers(std::vector<std::unique_ptr<Worker>>& workers, uint32_t grace_ms = 0) {
  for (auto& w : workers) w->drain(grace_ms);
  for (auto& w : workers) w->join();
}

// Every client and backend connection is a descriptor: use the hard limit.
void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace

int run(const config::Config& cfg) {
  block_signals_for_threads();  // inherited by every thread started below
  raise_fd_limit();
  std::string err;
  route::BackendList backends;
  if (!route::resolve_backends(cfg, backends, err)) {
    log::write(log::Level::error, "config_error", "error=" + log::quote(err));
    return 2;
  }
  std::string host;
  int port;
  core::split_host_port(cfg.listen, host, port);
  core::SockAddr listen_addr;
  if (!core::resolve(host, port, listen_addr, err)) {
    log::write(log::Level::error, "config_error", "key=listen error=" + log::quote(err));
    return 2;
  }
  route::HealthChecker health(backends, cfg.health_interval_ms, cfg.health_timeout_ms);
  health.check_all();

  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = cfg.workers ? cfg.workers : static_cast<unsigned>(cpus > 0 ? cpus : 1);
  metrics::Registry registry(n, cfg.metrics.max_models);
  std::vector<std::unique_ptr<Worker>> workers;
  bool want_uring = cfg.io != "epoll";
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(i, cfg, backends, registry);
    if (!w->start(listen_addr, want_uring, cpus > 1 ? static_cast<int>(i % cpus) : -1, err)) {
      log::write(log::Level::error, "listen_failed", "listen=" + cfg.listen + " error=" + log::quote(err));
      stop_workers(workers);
      return 1;
    }
    if (cfg.io == "uring" && w->io_backend() != core::IoBackend::uring) {
      log::write(log::Level::error, "io_unavailable", "io=uring reason=" + log::quote(w->io_why()));
      workers.push_back(std::move(w));
      stop_workers(workers);
      return 1;
    }
    workers.push_back(std::move(w));
  }
  std::string backend_list;
  for (const auto& b : backends) backend_list += (backend_list.empty() ? "" : ",") + b->cfg.url;
  log::write(log::Level::info, "start",
             "version=" CORRAL_VERSION " listen=" + cfg.listen + " workers=" + std::to_string(n) + " io=" +
                 (workers[0]->io_backend() == core::IoBackend::uring ? "io_uring" : "epoll") +
                 " io_reason=" + log::quote(workers[0]->io_why()) + " backends=" + backend_list);
  health.start();

  int sig = wait_for_stop_signal();
  log::write(log::Level::info, "draining",
             std::string("signal=") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " grace_ms=" + std::to_string(cfg.timeouts.drain_ms));
  stop_workers(workers, cfg.timeouts.drain_ms);
  health.stop();
  log::write(log::Level::info, "stopped");
  return 0;
}

}  // namespace corral::server
