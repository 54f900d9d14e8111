#include "sim_record.h"

#include "sim_json.h"

namespace sim {

void HeadLog::add(RecordedHead h) {
  std::lock_guard<std::mutex> lock(mu_);
  h.seq = ++seq_;
  heads_.push_back(std::move(h));
  if (heads_.size() > capacity_) heads_.pop_front();
}

std::string HeadLog::json() const {
  Json j;
  j.begin_object().key("requests").begin_array();
  std::lock_guard<std::mutex> lock(mu_);
  for (const RecordedHead& h : heads_) {
    j.begin_object().num("seq", h.seq).str("method", h.method).str("path", h.path).key("headers").begin_array();
    for (const auto& [name, value] : h.headers) j.begin_array().str(name).str(value).end_array();
    j.end_array().end_object();
  }
  j.end_array().end_object();
  return j.take();
}

}  // namespace sim
