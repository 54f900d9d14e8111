#include "corral/route/control.h"

#include <pthread.h>

#include <chrono>
#include <ctime>
#include <functional>

#include "corral/core/log.h"
#include "corral/route/discovery.h"

namespace corral::route {
namespace {

constexpr size_t kProbesAtOnce = 16;

std::string host_header(const config::BackendConfig& b) {
  bool v6 = b.host.find(':') != std::string::npos;
  return (v6 ? "[" + b.host + "]" : b.host) + ":" + std::to_string(b.port);
}

}  // namespace

Control::~Control() { stop(); }

bool Control::resolve(const config::Config& cfg, Resolved& out, std::string& err) {
  out.cfg = cfg;
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    std::vector<core::SockAddr> addrs;
    std::string why;
    if (!resolve_all(cfg.backends[i], addrs, why)) {
      if (cfg.backends[i].dns) {  // members come when the name resolves
        log::write(log::Level::warn, "dns_failed", "backend=" + cfg.backends[i].name + " error=" + log::quote(why));
        continue;
      }
      err = "backend " + cfg.backends[i].url + ": " + why;
      return false;
    }
    for (const core::SockAddr& a : addrs) out.addrs.emplace_back(i, a);
  }
  return true;
}

// Members for the resolved addresses; a member seen before keeps its slot and what was learned of it.
void Control::apply(Resolved r) {
  cfg_ = std::move(r.cfg);
  std::vector<Member> next;
  for (const auto& [i, addr] : r.addrs) {
    const config::BackendConfig& bc = cfg_.backends[i];
    std::string key = bc.name + "|" + addr.to_string();
    Backend* b = table_.find_or_add(key, bc.name, addr, bc.dns ? "http://" + addr.to_string() : bc.url, host_header(bc));
    if (!b) {
      log::write(log::Level::error, "backend_slots_full", "backend=" + key + " max=" + std::to_string(kMaxSlots));
      continue;
    }
    Member m{b, {}, 0, 0, false};
    for (Member& old : members_) {
      if (old.b == b) m = std::move(old);
    }
    m.view.slot = b->slot;
    m.view.cfg = bc;
    m.view.address = addr.to_string();
    m.view.key_hash = std::hash<std::string>{}(key);
    next.push_back(std::move(m));
  }
  members_ = std::move(next);
}

bool Control::configure(const config::Config& cfg, std::string& err) {
  Resolved r;
  if (!resolve(cfg, r, err)) return false;
  apply(std::move(r));
  publish();
  return true;
}

bool Control::reload(const config::Config& cfg, std::string& err) {
  Resolved r;
  if (!resolve(cfg, r, err)) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(r);
    refresh_ = true;
  }
  cv_.notify_all();
  return true;
}

void Control::resolve_dns() {
  bool any = false;
  for (const auto& b : cfg_.backends) any = any || b.dns;
  if (!any) return;
  Resolved r;
  std::string err;
  if (resolve(cfg_, r, err)) apply(std::move(r));
}

// Health thresholds: a member changes state after enough probes in a row.
void Control::judge(Member& m, bool ok, const std::string& err, MemberView probed) {
  bool was = m.view.healthy;
  m.good = ok ? m.good + 1 : 0;
  m.bad = ok ? 0 : m.bad + 1;
  bool first = !m.probed;
  m.probed = true;
  if (ok) {
    probed.last_seen_unix = std::time(nullptr);
    probed.last_error = m.view.last_error;
    m.view = std::move(probed);
  } else {
    m.view.last_error = err;
    m.view.loaded.clear();
  }
  if (first) m.view.healthy = ok;
  else if (ok && m.good >= cfg_.health.healthy_after) m.view.healthy = true;
  else if (!ok && m.bad >= cfg_.health.unhealthy_after) m.view.healthy = false;
  if (m.view.healthy != was || (first && !ok)) {
    log::write(m.view.healthy ? log::Level::info : log::Level::warn, m.view.healthy ? "backend_up" : "backend_down",
               "backend=" + m.b->url + " name=" + m.view.cfg.name + (m.view.healthy ? "" : " error=" + log::quote(err)));
  }
}

void Control::round(bool discover) {
  for (size_t start = 0; start < members_.size(); start += kProbesAtOnce) {
    size_t end = std::min(members_.size(), start + kProbesAtOnce);
    std::vector<MemberView> views(end - start);
    std::vector<std::string> errs(end - start);
    std::vector<Probe> results(end - start);
    std::vector<std::thread> threads;
    for (size_t i = start; i < end; ++i) {
      views[i - start] = members_[i].view;
      threads.emplace_back([&, i] {
        size_t k = i - start;
        results[k] = probe_member(members_[i].b->addr, cfg_.health.timeout_ms, discover, views[k], errs[k]);
      });
    }
    for (auto& t : threads) t.join();
    for (size_t i = start; i < end; ++i) {
      size_t k = i - start;
      if (results[k] == Probe::local_shortage) {  // the member's state stays as it was
        log::write(log::Level::warn, "probe_skipped", "backend=" + members_[i].b->url + " error=" + log::quote(errs[k]));
        continue;
      }
      judge(members_[i], results[k] == Probe::ok, errs[k], std::move(views[k]));
    }
  }
}

void Control::publish() {
  std::vector<MemberView> views;
  views.reserve(members_.size());
  for (const Member& m : members_) {
    for (const LoadedModel& l : m.view.loaded) forget_loading(*m.b, l.name);  // /api/ps says so now
    views.push_back(m.view);
  }
  box_.publish(build_snapshot(std::move(views), cfg_, ++version_));
}

void Control::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "corral-control");
    run();
  });
}

bool Control::wait_first_round(uint32_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return first_done_ || stopping_; });
}

void Control::refresh_soon() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    refresh_ = true;
  }
  cv_.notify_all();
}

void Control::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Control::run() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_discovery = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    bool refresh = refresh_;
    refresh_ = false;
    std::optional<Resolved> pending = std::move(pending_);
    pending_.reset();
    lock.unlock();
    if (pending) {
      apply(std::move(*pending));
      log::write(log::Level::info, "reload_applied", "backends=" + std::to_string(members_.size()));
    }
    bool discover = refresh || Clock::now() >= next_discovery;
    if (discover) {
      if (!pending) resolve_dns();
      next_discovery = Clock::now() + std::chrono::milliseconds(cfg_.discovery_interval_ms);
    }
    round(discover);
    publish();
    lock.lock();
    if (!first_done_) {
      first_done_ = true;
      cv_.notify_all();
    }
    if (stopping_) return;
    cv_.wait_for(lock, std::chrono::milliseconds(cfg_.health.interval_ms), [this] { return stopping_ || refresh_; });
    if (stopping_) return;
  }
}

}  // namespace corral::route
