#include "corral/api/framer.h"

#include <cstring>

namespace corral::api {

void LineFramer::push(std::string_view bytes) {
  if (overflow_) return;
  if (pos_ > 0) {  // drop the lines already handed out
    buf_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
  buf_.append(bytes);
}

bool LineFramer::next(std::string_view& line) {
  if (overflow_) return false;
  const char* nl = static_cast<const char*>(std::memchr(buf_.data() + scan_, '\n', buf_.size() - scan_));
  if (nl == nullptr) {
    scan_ = buf_.size();
    if (buf_.size() - pos_ > max_) overflow_ = true;
    return false;
  }
  size_t end = static_cast<size_t>(nl - buf_.data());
  if (end - pos_ > max_) {
    overflow_ = true;
    return false;
  }
  size_t len = end - pos_;
  if (len > 0 && buf_[end - 1] == '\r') --len;
  line = std::string_view(buf_.data() + pos_, len);
  pos_ = scan_ = end + 1;
  return true;
}

bool LineFramer::take_rest(std::string_view& line) {
  if (overflow_ || pos_ == buf_.size()) return false;
  size_t len = buf_.size() - pos_;
  if (buf_.back() == '\r') --len;
  line = std::string_view(buf_.data() + pos_, len);
  pos_ = scan_ = buf_.size();
  return true;
}

void SseFramer::field(std::string_view line) {
  size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (data_.size() + value.size() + 1 > max_) {
      overflow_ = true;
      return;
    }
    data_.append(value).push_back('\n');
    has_data_ = true;
  } else if (name == "event") {
    event_.assign(value);
  }  // id, retry and unknown fields mean nothing to a translator
}

bool SseFramer::dispatch(SseEvent& ev) {
  if (!has_data_) {  // the spec drops an event without data
    event_.clear();
    return false;
  }
  data_.pop_back();  // the "\n" after the last data line
  ev.event = event_;
  ev.data = data_;
  dispatched_ = true;
  return true;
}

bool SseFramer::next(SseEvent& ev) {
  if (dispatched_) {
    event_.clear();
    data_.clear();
    has_data_ = dispatched_ = false;
  }
  std::string_view line;
  while (!overflowed() && lines_.next(line)) {
    if (line.empty()) {
      if (dispatch(ev)) return true;
    } else if (line.front() != ':') {
      field(line);
    }
  }
  return false;
}

bool SseFramer::take_rest(SseEvent& ev) {
  if (next(ev)) return true;
  std::string_view line;
  if (lines_.take_rest(line) && !line.empty() && line.front() != ':') field(line);
  return !overflowed() && dispatch(ev);
}

}  // namespace corral::api
