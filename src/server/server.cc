#include "corral/server/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <vector>

#include "corral/analytics/service.h"
#include "corral/core/log.h"
#include "corral/core/notify.h"
#include "corral/fleet/lifecycles.h"
#include "corral/metrics/registry.h"
#include "corral/proxy/context.h"
#include "corral/route/control.h"
#include "corral/server/keys.h"
#include "corral/server/listeners.h"
#include "corral/server/worker.h"

namespace corral::server {
namespace {

// Blocks until SIGTERM/SIGINT; SIGHUP reloads the config file meanwhile.
int wait_for_stop_signal(const std::function<void()>& reload) {
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
      reload();
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

// SIGHUP: the file is read again; a valid config re-routes new requests (in-flight
// ones finish where they are), an invalid one is logged and the old one stays.
void reload(const ReloadSource& src, route::Control& control, Listeners& listeners) {
  core::notify_reloading();
  struct ReadyAgain {  // the running config serves on, whatever the outcome
    ~ReadyAgain() { core::notify_ready(); }
  } ready_again;
  if (!src.flags || !src.flags->config_file) {
    log::write(log::Level::info, "reload", "result=skipped reason=\"no config file\"");
    return;
  }
  config::Config next;
  std::string err;
  if (!config::load(*src.flags, src.envp, next, err) || !control.reload(next, err) ||
      !reload_tls(next, listeners, err)) {
    log::write(log::Level::error, "reload_failed",
               "file=" + log::quote(*src.flags->config_file) + " error=" + log::quote(err) +
                   " action=\"kept the running config\"");
    return;
  }
  log::write(log::Level::info, "reload",
             "result=ok file=" + log::quote(*src.flags->config_file) +
                 " backends=" + std::to_string(next.backends.size()) +
                 " note=\"routing, models, health, discovery and the TLS certificate apply now; listen addresses, "
                 "workers, io, "
                 "limits, timeouts and buffers need a restart\"");
}

}  // namespace

int run(const config::Config& cfg, const ReloadSource& src) {
  block_signals_for_threads();  // inherited by every thread started below
  raise_fd_limit();
  // Past a file-size limit (RLIMIT_FSIZE, systemd's LimitFSIZE) a write fails with
  // EFBIG, which the analytics spool and store count and retry, instead of the
  // default SIGXFSZ ending the whole proxy.
  signal(SIGXFSZ, SIG_IGN);
  std::string err;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = cfg.workers ? cfg.workers : static_cast<unsigned>(cpus > 0 ? cpus : 1);
  fleet::ScalingLoad scaling(cfg.scaling);
  fleet::Lifecycles lifecycles(cfg, n, scaling);  // before the control thread that runs them, so it ends first
  route::BackendTable table;
  route::SnapshotBox box;
  route::Control control(table, box);
  if (!control.configure(cfg, err)) {
    log::write(log::Level::error, "config_error", "error=" + log::quote(err));
    return 2;
  }
  Listeners listeners;
  if (!resolve_listeners(cfg, listeners, err)) {
    log::write(log::Level::error, "config_error", "error=" + log::quote(err));
    return 2;
  }
  Keys keys;
  if (!start_keys(cfg, listeners.specs[0].addr.ip(), keys, err)) {
    log::write(log::Level::error, "keys_unavailable",
               "error=" + log::quote(err) + " hint=\"corral keys list --data-dir DIR checks the store\"");
    stop_keys(keys);
    return 2;
  }
  control.watch_keys(keys.watcher.get());
  if (!lifecycles.empty()) control.run_lifecycles(&lifecycles);
  control.start();
  if (!control.wait_first_round(cfg.startup_wait_ms)) {
    log::write(log::Level::warn, "discovery_slow",
               "waited_ms=" + std::to_string(cfg.startup_wait_ms) +
                   " action=\"serving; routing improves as discovery completes\"");
  }
  proxy::Fleet fleet;
  fleet.table = &table;
  fleet.box = &box;
  fleet.control = &control;
  fleet.keys = cfg.auth.enabled ? &keys.box : nullptr;
  fleet.key_admin = keys.admin.get();
  fleet.scaling = cfg.scaling.groups.empty() ? nullptr : &scaling;
  fleet.tls_server = cfg.tls_listen.address.empty() ? nullptr : &listeners.tls;

  metrics::Registry registry(n, cfg.metrics.max_models,
                             {cfg.metrics.seed_names, cfg.metrics.key_labels, cfg.metrics.max_keys});
  std::unique_ptr<analytics::Service> analytics;
  if (cfg.analytics.backend != "none") {
    analytics = std::make_unique<analytics::Service>(cfg.analytics, n);
    if (!analytics->start(err)) {
      log::write(log::Level::error, "analytics_unavailable",
                 "store=" + log::quote(cfg.analytics.backend + ":" + cfg.analytics.path) + " error=" + log::quote(err) +
                     " hint=\"--data-dir DIR, --analytics jsonl:PATH or --analytics none\"");
      control.stop();
      return 2;
    }
  }
  std::vector<std::unique_ptr<Worker>> workers;
  bool want_uring = cfg.io != "epoll";
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(i, cfg, fleet, registry, analytics.get());
    if (!w->start(listeners.specs, want_uring, cpus > 1 ? static_cast<int>(i % cpus) : -1, err)) {
      log::write(log::Level::error, "listen_failed", "error=" + log::quote(err));
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
  for (const auto& b : cfg.backends) backend_list += (backend_list.empty() ? "" : ",") + b.url;
  log::write(log::Level::info, "start",
             "version=" CORRAL_VERSION " listen=" + cfg.listen +
                 (cfg.tls_listen.address.empty() ? "" : " tls_listen=" + cfg.tls_listen.address) +
                 (cfg.metrics.listen.empty() ? "" : " metrics_listen=" + cfg.metrics.listen) +
                 " workers=" + std::to_string(n) +
                 " io=" + (workers[0]->io_backend() == core::IoBackend::uring ? "io_uring" : "epoll") +
                 " io_reason=" + log::quote(workers[0]->io_why()) + " backends=" + backend_list +
                 " analytics=" + log::quote(analytics ? cfg.analytics.backend + ":" + cfg.analytics.path : "none"));
  core::notify_ready("serving on " + cfg.listen + ", " + std::to_string(cfg.backends.size()) + " backends");
  int sig = wait_for_stop_signal([&] { reload(src, control, listeners); });
  core::notify_stopping();
  log::write(log::Level::info, "draining",
             std::string("signal=") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                 " grace_ms=" + std::to_string(cfg.timeouts.drain_ms));
  stop_workers(workers, cfg.timeouts.drain_ms);
  if (analytics) {  // every worker has pushed its last record: write them all
    analytics->stop();
    log::write(log::Level::info, "analytics_flushed", "records_written=" + std::to_string(analytics->written()));
  }
  control.stop();
  stop_keys(keys);
  log::write(log::Level::info, "stopped");
  return 0;
}

}  // namespace corral::server
