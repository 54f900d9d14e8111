#include "runner.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "corral/api/json.h"
#include "corral/core/clock.h"
#include "corral/http/parser.h"
#include "stream_timing.h"

namespace load {

using corral::core::mono_us;

class Conn final : public corral::core::SocketHandler {
 public:
  explicit Conn(Runner& r)
      : r_(r), parser_(corral::http::MessageParser::Kind::response, corral::http::Limits{65536, 500, ~0ull}) {
    parser_.set_sink(&timing_);
  }
  bool open() {
    corral::core::UniqueFd fd = corral::core::tcp_socket(r_.target());
    if (!fd) return false;
    r_.loop().attach(sock_, fd.release(), this);
    r_.loop().connect(sock_, r_.target().get(), r_.target().len);
    connecting_ = true;
    return true;
  }
  void start(std::string req, int64_t scheduled_us) {
    req_ = std::move(req);
    scheduled_us_ = scheduled_us;
    timing_.start(scheduled_us);
    status_ = 0;
    if (!connecting_) r_.loop().send(sock_, req_.data(), static_cast<uint32_t>(req_.size()));
  }
  int64_t scheduled_us() const { return scheduled_us_; }
  uint64_t conversation = 0;
  const StreamTiming& timing() const { return timing_; }
  int status() const { return status_; }
  void close() { r_.loop().close(sock_); }
  void timed_out() { fail("timeout"); }
  bool in_flight = false;

 private:
  void on_connected(corral::core::Socket& s, int err) override {
    connecting_ = false;
    if (err < 0) return fail("connect");
    r_.loop().start_read(s);
    r_.loop().send(sock_, req_.data(), static_cast<uint32_t>(req_.size()));
  }
  void on_sent(corral::core::Socket&, int err) override {
    if (err < 0) fail("send");
  }
  void on_data(corral::core::Socket&, corral::core::IoBuf buf) override {
    timing_.set_now(mono_us());
    size_t off = 0;
    while (in_flight && off <= buf.len) {
      auto res = parser_.feed(buf.data + off, buf.len - off);
      off += res.used;
      if (res.status == corral::http::MessageParser::Status::error) {
        r_.loop().release(buf.id);
        return fail("bad_response");
      }
      if (res.status == corral::http::MessageParser::Status::head) {
        status_ = parser_.head().status();
        continue;
      }
      if (res.status == corral::http::MessageParser::Status::done) {
        bool keep = parser_.keep_alive();
        parser_.next_message();
        in_flight = false;
        if (!keep) close();
        r_.done(*this, status_ == 200, status_ == 200 ? "" : "status_" + std::to_string(status_), keep);
      }
      break;
    }
    r_.loop().release(buf.id);
  }
  void on_eof(corral::core::Socket&, int) override {
    if (in_flight) fail("closed");
    else close();
  }
  void on_closed(corral::core::Socket&) override { r_.closed(*this); }
  void fail(const char* kind) {
    if (in_flight) {
      in_flight = false;
      close();
      r_.done(*this, false, kind, false);
      return;
    }
    close();
  }

  Runner& r_;
  corral::core::Socket sock_;
  corral::http::MessageParser parser_;
  StreamTiming timing_;
  std::string req_;
  int64_t scheduled_us_ = 0;
  int status_ = 0;
  bool connecting_ = false;
};

Runner::Runner(const Options& o, const corral::core::SockAddr& target)
    : o_(o), target_(target), chats_(o.turns, o.system_words) {
  pool_ = std::make_unique<corral::core::BufferPool>(1024, 65536);
  loop_ = corral::core::make_loop(!o.epoll, *pool_).loop;
}

Runner::~Runner() = default;

std::string Runner::prompt() {
  if (!o_.prompts.empty()) return o_.prompts[rng_() % o_.prompts.size()];
  static const char* kWords[] = {"the",    "model", "explain", "why",   "data",
                                 "system", "quick", "answer",  "light", "code"};
  std::exponential_distribution<double> len(1.0 / o_.prompt_words);
  size_t n = std::max<size_t>(1, static_cast<size_t>(len(rng_)));
  std::string p;
  for (size_t i = 0; i < n; ++i) p += std::string(i ? " " : "") + kWords[rng_() % 10];
  return p;
}

const std::string& Runner::pick_model() {
  double total = 0;
  for (const auto& m : o_.models) total += m.weight;
  double pick = std::uniform_real_distribution<double>(0, total)(rng_);
  for (const auto& m : o_.models) {
    if ((pick -= m.weight) < 0) return m.name;
  }
  return o_.models.back().name;
}

std::string Runner::request_bytes(uint64_t& conversation) {
  std::string model = pick_model();
  std::string path, body, p, messages;
  conversation = 0;
  if (o_.endpoint == "chat" || o_.endpoint == "openai-chat") {
    Conversations::Turn t = chats_.next(rng_, model, prompt());
    conversation = t.id;
    model = t.model;
    messages = t.messages;
  } else {
    corral::api::json_escape(p, prompt());
  }
  std::string m, stream = o_.stream ? "true" : "false";
  corral::api::json_escape(m, model);
  if (o_.endpoint.rfind("get:", 0) == 0) {
    return "GET " + o_.endpoint.substr(4) + " HTTP/1.1\r\nHost: " + target_.to_string() + "\r\n" + o_.headers + "\r\n";
  } else if (o_.endpoint == "generate") {
    path = "/api/generate";
    body = "{\"model\":\"" + m + "\",\"prompt\":\"" + p + "\",\"stream\":" + stream + "}";
  } else if (o_.endpoint == "chat") {
    path = "/api/chat";
    body = "{\"model\":\"" + m + "\",\"messages\":" + messages + ",\"stream\":" + stream + "}";
  } else if (o_.endpoint == "openai-chat") {
    path = "/v1/chat/completions";
    body = "{\"model\":\"" + m + "\",\"messages\":" + messages + ",\"stream\":" + stream +
           (o_.stream ? ",\"stream_options\":{\"include_usage\":true}" : "") + "}";
  } else {
    path = "/api/embed";
    body = "{\"model\":\"" + m + "\",\"input\":\"" + p + "\"}";
  }
  return "POST " + path + " HTTP/1.1\r\nHost: " + target_.to_string() + "\r\n" + o_.headers +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

bool Runner::more_to_start() const {
  if (o_.requests) return started_ < o_.requests;
  return mono_us() < end_us_;
}

void Runner::start_one(int64_t scheduled_us) {
  Conn* c = nullptr;
  if (!idle_.empty()) {
    c = idle_.back();
    idle_.pop_back();
  } else {
    if (live_ >= static_cast<size_t>(o_.max_connections)) return;
    c = new Conn(*this);
    if (!c->open()) {
      delete c;
      ++r_.errors;
      ++r_.errors_by_kind["socket"];
      return;
    }
    ++live_;
    all_.push_back(c);
  }
  ++started_;
  ++busy_;
  c->in_flight = true;
  std::string req = request_bytes(c->conversation);
  c->start(std::move(req), scheduled_us);
}

void Runner::done(Conn& c, bool ok, const std::string& kind, bool reusable) {
  --busy_;
  ++finished_;
  int64_t now = mono_us();
  if (c.conversation && ok) chats_.answered(c.conversation, c.timing().tokens());
  else if (c.conversation) chats_.failed(c.conversation);
  if (c.scheduled_us() >= measure_from_us_) {
    const StreamTiming& t = c.timing();
    if (ok) {
      ++r_.ok;
      r_.total_us.record(static_cast<uint64_t>(now - c.scheduled_us()));
      if (t.ttft_us() >= 0) r_.ttft_us.record(static_cast<uint64_t>(t.ttft_us()));
      for (int64_t g : t.gaps_us()) r_.itl_us.record(static_cast<uint64_t>(g));
      r_.tokens += static_cast<uint64_t>(std::max<int64_t>(0, t.tokens()));
    } else {
      ++r_.errors;
      ++r_.errors_by_kind[kind];
    }
    r_.bytes += t.bytes();
  }
  if (reusable) idle_.push_back(&c);
  // Closed loop: the next request goes out as soon as one finishes (on this
  // connection when it stays open, else on a new one once it has closed).
  if (o_.rate == 0 && reusable && more_to_start()) start_one(now);
}

void Runner::closed(Conn& c) {
  for (size_t i = 0; i < idle_.size(); ++i) {
    if (idle_[i] == &c) {
      idle_.erase(idle_.begin() + static_cast<long>(i));
      break;
    }
  }
  --live_;
  all_.erase(std::find(all_.begin(), all_.end(), &c));
  delete &c;
  if (o_.rate == 0 && more_to_start() && busy_ < static_cast<size_t>(o_.concurrency)) start_one(mono_us());
}

void Runner::tick() {
  int64_t now = mono_us();
  if (o_.rate > 0) {
    std::exponential_distribution<double> gap(o_.rate / 1e6);
    while (next_arrival_us_ <= now && more_to_start()) {
      start_one(next_arrival_us_);
      next_arrival_us_ += static_cast<int64_t>(gap(rng_)) + 1;
    }
  }
  int64_t limit = static_cast<int64_t>(o_.timeout_ms) * 1000;
  for (size_t i = 0; i < all_.size(); ++i) {
    if (all_[i]->in_flight && now - all_[i]->scheduled_us() > limit) all_[i]->timed_out();
  }
  if (progress_ && now - last_progress_us_ >= 1000000) {
    last_progress_us_ = now;
    double s = double(now - t0_us_) / 1e6;
    std::fprintf(stderr, "\r[%6.1fs] %8llu done  %8.1f req/s  %llu errors  %zu in flight ", s,
                 static_cast<unsigned long long>(finished_), double(finished_) / s,
                 static_cast<unsigned long long>(r_.errors), busy_);
  }
  if (!more_to_start() && busy_ == 0) {
    for (Conn* c : idle_) c->close();
    idle_.clear();
    if (live_ == 0) loop_->stop();
  }
}

Results Runner::run(bool progress) {
  progress_ = progress;
  t0_us_ = mono_us();
  measure_from_us_ = t0_us_ + static_cast<int64_t>(o_.warmup_ms) * 1000;
  end_us_ = measure_from_us_ + static_cast<int64_t>(o_.duration_ms) * 1000;
  next_arrival_us_ = t0_us_;
  if (o_.rate == 0) {
    for (int i = 0; i < o_.concurrency && more_to_start(); ++i) start_one(t0_us_);
  }
  loop_->run([this] { tick(); }, 1);
  if (progress_) std::fputc('\n', stderr);
  r_.seconds = double(mono_us() - std::max(measure_from_us_, t0_us_)) / 1e6;
  return r_;
}

}  // namespace load
