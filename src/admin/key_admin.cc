#include "corral/admin/key_admin.h"

#include <pthread.h>
#include <unistd.h>

#include "corral/auth/admin_api.h"
#include "corral/core/clock.h"
#include "corral/core/net.h"
#include "corral/http/response.h"

namespace corral::admin {
namespace {
constexpr size_t kMaxJobs = 64;
constexpr int kSendTimeoutMs = 10000;
}  // namespace

KeyAdmin::KeyAdmin(std::string store_path, std::string analytics_db)
    : store_path_(std::move(store_path)), analytics_db_(std::move(analytics_db)) {}

KeyAdmin::~KeyAdmin() { stop(); }

bool KeyAdmin::start(std::string& err) {
  store_ = auth::open_sqlite_store(store_path_, err);
  if (!store_) return false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "corral-keys");
    run();
  });
  return true;
}

bool KeyAdmin::submit(int fd, std::string method, std::string path, std::string body, std::string request_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || jobs_.size() >= kMaxJobs) return false;
    jobs_.push_back({fd, std::move(method), std::move(path), std::move(body), std::move(request_id)});
  }
  cv_.notify_one();
  return true;
}

void KeyAdmin::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (const Job& j : jobs_) ::close(j.fd);
  jobs_.clear();
}

void KeyAdmin::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    auth::AdminContext ctx{*store_, analytics_db_, core::wall_us() / 1000};
    http::LocalResponse r = auth::handle_keys_request(ctx, job.method, job.path, job.body);
    std::string out;
    http::write_response(out, r, job.request_id, true, job.method == "HEAD");
    core::send_all(job.fd, out, kSendTimeoutMs);
    ::close(job.fd);
    lock.lock();
  }
}

}  // namespace corral::admin
