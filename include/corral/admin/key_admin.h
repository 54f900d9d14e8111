// /admin/keys, answered on a thread of its own (corral-keys) with its own
// keys.db connection: creating, changing and revoking keys are SQLite writes,
// which never run on a worker. A worker hands over a duplicate of the client
// socket with the request; this thread writes the answer and closes it. The
// control thread's key watcher publishes the change within half a second.
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "corral/auth/store.h"

namespace corral::admin {

class KeyAdmin {
 public:
  // analytics_db: the SQLite analytics store for the 24-hour figures (empty: none).
  KeyAdmin(std::string store_path, std::string analytics_db);
  ~KeyAdmin();
  bool start(std::string& err);  // opens its store connection and starts the thread
  // Takes fd; false (fd not taken) when the thread is busy or stopping.
  bool submit(int fd, std::string method, std::string path, std::string body, std::string request_id);
  void stop();

 private:
  struct Job {
    int fd;
    std::string method, path, body, request_id;
  };
  void run();

  std::string store_path_, analytics_db_;
  std::unique_ptr<auth::KeyStore> store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace corral::admin
