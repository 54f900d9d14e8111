#include "corral/route/control.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <utility>

#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/core/notify.h"
#include "corral/route/discovery.h"

namespace corral::route {
namespace {

constexpr int kTickMs = 250;  // round timing, probe timeouts, keys.db checks; events and wake() need no tick
constexpr uint32_t kControlBuffers = 64;  // probe answers are small; touched lazily
constexpr uint32_t kControlBufferSize = 16384;

std::string host_header(const config::BackendConfig& b) {
  bool v6 = b.host.find(':') != std::string::npos;
  return (v6 ? "[" + b.host + "]" : b.host) + ":" + std::to_string(b.port);
}

}  // namespace

Control::~Control() { stop(); }

bool Control::resolve(const config::Config& cfg, Resolved& out, std::string& err) {
  out.cfg = cfg;
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    if (cfg.backends[i].url == "auto") continue;  // an on-demand backend's address comes from its start hook
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
  return make_tls(out, err);
}

// A TLS context per https:// backend (its CA store loaded here, off the
// workers); one whose settings did not change is kept, with its resumable session.
bool Control::make_tls(Resolved& r, std::string& err) {
  r.tls.resize(r.cfg.backends.size());
  for (size_t i = 0; i < r.cfg.backends.size(); ++i) {
    const config::BackendConfig& b = r.cfg.backends[i];
    if (!b.https) continue;
    transport::TlsClientOptions o;
    o.ca_file = b.tls.ca_file;
    o.verify = b.tls.verify;
    o.server_name = b.tls.server_name;
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<transport::TlsClientContext>& kept = tls_by_name_[b.name];
    bool same = kept && kept->options().ca_file == o.ca_file && kept->options().verify == o.verify &&
                kept->options().server_name == o.server_name;
    r.tls[i] = same ? kept : transport::TlsClientContext::create(o, err);
    if (!r.tls[i]) {
      err = "backends[" + std::to_string(i) + "].tls: " + err;
      return false;
    }
    kept = r.tls[i];
    if (!o.verify) {
      log::write(log::Level::warn, "tls_unverified",
                 "backend=" + b.name + " action=\"certificates are not checked (tls.verify: false)\"");
    }
  }
  return true;
}

// Where the on-demand backends with url auto are now (control thread: the lifecycles tell).
void Control::add_remote_addresses(Resolved& r) {
  if (!life_) return;
  for (size_t i = 0; i < r.cfg.backends.size(); ++i) {
    config::BackendConfig& b = r.cfg.backends[i];
    if (b.url != "auto") continue;
    std::string url = life_->remote_url(b.name);
    config::BackendConfig at;
    core::SockAddr addr;
    std::string err;
    if (url.empty()) continue;
    if (!config::parse_backend_url(url, at, err) || !core::resolve(at.host, at.port, addr, err)) {
      log::write(log::Level::warn, "remote_url_bad",
                 "backend=" + b.name + " url=" + log::quote(url) + " error=" + log::quote(err));
      continue;
    }
    b.host = at.host;
    b.port = at.port;
    r.addrs.emplace_back(i, addr);
  }
}

// Members for the resolved addresses; a member seen before keeps its slot and what was learned of it.
void Control::apply(Resolved r) {
  add_remote_addresses(r);
  cfg_ = std::move(r.cfg);
  std::vector<Member> next;
  for (const auto& [i, addr] : r.addrs) {
    const config::BackendConfig& bc = cfg_.backends[i];
    std::string key = bc.name + "|" + addr.to_string();
    // A DNS record or a start hook's answer is where it is: logs, metrics and /status name that.
    std::string url = bc.dns || bc.url == "auto" ? "http://" + addr.to_string() : bc.url;
    Backend* b = table_.find_or_add(key, bc.name, addr, url, host_header(bc), bc.https ? bc.host : std::string());
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
    m.view.tls = r.tls[i];
    if (bc.kind != config::BackendKind::ollama && !bc.models.empty()) {  // a provider's models, as configured
      m.view.models.clear();
      for (const std::string& name : bc.models) m.view.models.push_back({name, 0});
      m.view.models_known = true;
    }
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
  }
  refresh_.store(true, std::memory_order_relaxed);
  loop_->wake();
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
    log::write(
        m.view.healthy ? log::Level::info : log::Level::warn, m.view.healthy ? "backend_up" : "backend_down",
        "backend=" + m.b->url + " name=" + m.view.cfg.name + (m.view.healthy ? "" : " error=" + log::quote(err)));
  }
}

void Control::publish() {
  std::vector<MemberView> views;
  views.reserve(members_.size());
  for (const Member& m : members_) {
    for (const LoadedModel& l : m.view.loaded) forget_loading(*m.b, l.name);  // /api/ps says so now
    views.push_back(m.view);
  }
  std::vector<LifecycleView> lives;
  std::vector<ScalingView> groups;
  if (life_) {
    life_->describe(static_cast<int64_t>(loop_->now_ms()), lives);
    life_->scaling(groups);
  }
  for (MemberView& v : views) {  // an on-demand member is routed to only while it is up
    for (const LifecycleView& l : lives) {
      if (l.name == v.cfg.name && !l.ready()) v.healthy = false;
    }
  }
  published_lives_ = lifecycle_states(lives);
  published_scaling_ = scaling_states();
  box_.publish(build_snapshot(std::move(views), cfg_, ++version_, std::move(lives), std::move(groups)));
}

// What of the lifecycles a new snapshot must show: states, errors and addresses.
std::string Control::lifecycle_states(const std::vector<LifecycleView>& lives) const {
  std::string s;
  for (const LifecycleView& l : lives)
    s += l.name + "=" + l.state + "|" + l.error + "|" + life_->remote_url(l.name) + ";";
  return s;
}

// What of the scaling groups a new snapshot must show: decisions and load (to 1/100).
std::string Control::scaling_states() const {
  std::vector<ScalingView> groups;
  if (life_) life_->scaling(groups);
  std::string s;
  for (const ScalingView& g : groups) {
    s += g.group + "=" + std::to_string(g.desired) + "|" + std::to_string(g.ups) + "|" + std::to_string(g.downs) + "|" +
         std::to_string(std::llround(g.load * 100)) + ";";
  }
  return s;
}

// The lifecycles' turn in a tick: their timers, then members for on-demand
// backends that came up or went away, and a snapshot when anything they show changed.
void Control::tick_lifecycles(int64_t now_ms) {
  if (!life_) return;
  life_->on_tick(now_ms, [this](std::string_view name) {
    uint32_t n = 0;
    for (const Member& m : members_) {
      if (m.view.cfg.name == name) n += m.b->inflight.load(std::memory_order_relaxed);
    }
    return n;
  });
  watch_lifecycle_fds();
  std::vector<LifecycleView> lives;
  life_->describe(now_ms, lives);
  if (lifecycle_states(lives) != published_lives_) {
    Resolved r;
    std::string err;
    size_t before = members_.size();
    if (resolve(cfg_, r, err)) apply(std::move(r));  // an on-demand member's address came or went
    // A member that just came up is discovered now, not at the next discovery interval: until
    // its models are known it is routed to only when the members that have them are full.
    if (members_.size() > before) want_refresh_ = true;
    publish();
  } else if (scaling_states() != published_scaling_) {
    publish();
  }
}

// Watches exactly the descriptors the lifecycles have now (a restarted child has new ones).
// After one was handled, all are watched anew: a hook that ended and the next one started in
// the same call (a failed start's clean-up stop) get the same numbers, and the old
// registration went with the closed descriptor.
void Control::watch_lifecycle_fds() {
  std::vector<int> now;
  life_->fds(now);
  if (std::exchange(rewatch_, false)) {
    for (int fd : watched_) loop_->unwatch(fd);
    watched_.clear();
  }
  for (int fd : watched_) {
    if (std::find(now.begin(), now.end(), fd) == now.end()) loop_->unwatch(fd);
  }
  for (int fd : now) {
    if (std::find(watched_.begin(), watched_.end(), fd) != watched_.end()) continue;
    loop_->watch(fd, [this, fd] {
      life_->on_ready(fd, static_cast<int64_t>(loop_->now_ms()));
      rewatch_ = true;
      loop_->wake();  // the next tick looks at what changed
    });
  }
  watched_ = std::move(now);
}

Control::Control(BackendTable& table, SnapshotBox& box)
    : table_(table), box_(box), buffers_(kControlBuffers, kControlBufferSize) {
  loop_ = core::make_loop(false, buffers_).loop;
  pool_ = std::make_unique<upstream::Pool>(*loop_, 4, 60000, nullptr);
}

void Control::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "corral-control");
    loop_->run([this] { tick(); }, kTickMs);
  });
  loop_->wake();  // the first round starts at once, not a tick later
}

bool Control::wait_first_round(uint32_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return first_done_ || stopping_; });
}

void Control::refresh_soon() {
  refresh_.store(true, std::memory_order_relaxed);  // workers call this: no lock
  loop_->wake();
}

void Control::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  loop_->wake();
  if (thread_.joinable()) thread_.join();
}

// Every tick (and on wake): finish the round in progress, then apply a reload
// and start the next round when one is due (at once after a refresh).
void Control::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  bool stopping = stopping_;
  want_refresh_ = refresh_.exchange(false, std::memory_order_relaxed) || want_refresh_;
  if (pending_) next_config_ = std::move(pending_);
  pending_.reset();
  lock.unlock();
  uint64_t now = loop_->now_ms();
  if (stopping) {
    probes_.clear();
    round_active_ = false;
    pool_->drain();
    if (life_ && !life_stopping_) {  // the workers have drained: supervised processes go now
      life_stopping_ = true;
      life_->stop(static_cast<int64_t>(now));
    }
    if (life_) {
      life_->on_tick(static_cast<int64_t>(now), [](std::string_view) { return 0u; });
      watch_lifecycle_fds();
    }
    if (pool_->live() == 0 && (!life_ || life_->stopped())) loop_->stop();
    return;
  }
  if (keys_) keys_->poll(core::mono_us());
  if (life_ && !life_begun_) {
    life_begun_ = true;
    life_->begin(static_cast<int64_t>(now));
  }
  tick_lifecycles(static_cast<int64_t>(now));
  if (round_active_) {
    for (auto& p : probes_) p->tick(now);
    if (!round_finished()) return;
    end_round();
  }
  bool applied = next_config_.has_value();
  if (applied) {  // between rounds: the probes map onto members_ by position
    apply(std::move(*next_config_));
    next_config_.reset();
    log::write(log::Level::info, "reload_applied", "backends=" + std::to_string(members_.size()));
  }
  if (!want_refresh_ && now < next_round_ms_) return;
  bool discover = want_refresh_ || now >= next_discovery_ms_;
  want_refresh_ = false;
  if (discover) {
    if (!applied) resolve_dns();
    next_discovery_ms_ = now + cfg_.discovery_interval_ms;
  }
  start_round(discover);
}

void Control::start_round(bool discover) {
  round_active_ = true;
  starting_ = true;
  probes_.clear();
  probed_.clear();
  for (size_t i = 0; i < members_.size(); ++i) {
    probes_.push_back(std::make_unique<MemberProbe>(*pool_, [this] { probe_done(); }));
    probed_.push_back(members_[i].b);
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    upstream::Target t;
    t.slot = m.b->slot;
    t.addr = &m.b->addr;
    t.host_header = m.b->host_header;
    t.tls = m.view.tls;
    t.tls_host = m.b->tls_host;
    probes_[i]->start(t, discover, cfg_.health.timeout_ms, m.view);
  }
  starting_ = false;
  probe_done();
}

// From inside a probe's callback: the round ends in the next tick, which the
// wake brings at once, outside of any probe.
void Control::probe_done() {
  if (!starting_ && round_active_ && round_finished()) loop_->wake();
}

bool Control::round_finished() {
  for (const auto& p : probes_) {
    if (p->result() == ProbeResult::pending) return false;
  }
  return true;
}

void Control::end_round() {
  round_active_ = false;
  for (size_t i = 0; i < probes_.size(); ++i) {
    // By member, not by position: an on-demand member that went away during the round
    // shifted the ones after it, and its result would have become the next one's view.
    auto m = std::find_if(members_.begin(), members_.end(), [&](const Member& x) { return x.b == probed_[i]; });
    if (m == members_.end()) continue;
    MemberProbe& p = *probes_[i];
    if (p.result() == ProbeResult::local_shortage) {  // the member's state stays as it was
      log::write(log::Level::warn, "probe_skipped", "backend=" + m->b->url + " error=" + log::quote(p.error()));
      continue;
    }
    bool ok = p.result() == ProbeResult::ok;
    if (life_) life_->on_health(m->view.cfg.name, ok, static_cast<int64_t>(loop_->now_ms()));
    judge(*m, ok, p.error(), std::move(p.view()));
  }
  probes_.clear();
  probed_.clear();
  publish();
  core::notify_watchdog();
  // Under a systemd watchdog a round comes at least every WatchdogSec/2, whatever health.interval says.
  next_round_ms_ = loop_->now_ms() + core::watchdog_bounded_ms(cfg_.health.interval_ms);
  std::lock_guard<std::mutex> lock(mu_);
  if (!first_done_) {
    first_done_ = true;
    cv_.notify_all();
  }
}

}  // namespace corral::route
