// Answers to /analytics/stats, /search and /export, read from the SQLite store
// over its own read-only connection and written straight to the client socket
// (export streamed in chunks, never held whole in memory).
#pragma once
#include <string>
#include <string_view>

#include "corral/analytics/query.h"
#include "corral/analytics/sqlite.h"

namespace corral::analytics {

class Reports {
 public:
  explicit Reports(std::string db_path) : path_(std::move(db_path)) {}
  // Writes one complete HTTP response (Connection: close) for q to the socket fd.
  void answer(int fd, const Query& q, std::string_view request_id);

  // The response bodies, for callers that hold the whole thing (stats, search).
  bool stats_json(const Query& q, std::string& out, std::string& err);
  bool search_json(const Query& q, std::string& out, std::string& err);

 private:
  bool ready(std::string& err);
  void export_rows(int fd, const Query& q, std::string_view request_id);

  std::string path_;
  Db db_;
  bool open_ = false;
};

}  // namespace corral::analytics
