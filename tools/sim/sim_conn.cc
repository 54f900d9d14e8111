#include "sim_conn.h"

#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sim {
namespace {

constexpr size_t kHighWater = 256 * 1024;  // unsent bytes above which a stream waits for the client
constexpr size_t kMaxInput = 1 << 20;      // unparsed input buffered while a reply is in progress
constexpr size_t kMaxHead = 64 * 1024;     // request line + headers
constexpr size_t kMaxBody = 64u << 20;
constexpr int kBurst = 4096;  // chunks produced per turn before yielding to other connections
constexpr int64_t kMs = 1000000;
constexpr int64_t kMaxLag = 50 * kMs;      // a stream this far behind its schedule restarts it from now
constexpr int64_t kFaultDelay = 20 * kMs;  // the bytes before a close/reset/half-close reach the peer first

Conn* self(llhttp_t* p) { return static_cast<Conn*>(p->data); }

// Parses a non-negative X-Sim-* value; false when malformed or above `max`.
std::string trimmed(const std::string& v) {
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
}

bool knob_value(const std::string& v, long max, int& out) {
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  std::string t = v.substr(b, e - b + 1);
  errno = 0;
  char* end = nullptr;
  long x = std::strtol(t.c_str(), &end, 10);
  if (*end || errno || x < 0 || x > max) return false;
  out = static_cast<int>(x);
  return true;
}

}  // namespace

const llhttp_settings_t* Conn::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_message_begin = cb_message_begin;
    x.on_url = cb_url;
    x.on_header_field = cb_header_field;
    x.on_header_value = cb_header_value;
    x.on_header_value_complete = cb_header_value_complete;
    x.on_headers_complete = cb_headers_complete;
    x.on_body = cb_body;
    x.on_message_complete = cb_message_complete;
    return x;
  }();
  return &s;
}

Conn::Conn(ConnEnv& env, int fd, uint64_t id) : env_(env), fd_(fd), id_(id) {
  llhttp_init(&parser_, HTTP_REQUEST, settings());
  parser_.data = this;
  ++env_.ctx.stats.connections_open;
  ++env_.ctx.stats.connections_total;
}

Conn::~Conn() { close_now(); }

// ---- parsing ---------------------------------------------------------------

bool Conn::count_head(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ <= kMaxHead) return true;
  reject_ = 431;
  llhttp_set_error_reason(&parser_, "request header too large");
  return false;
}

int Conn::cb_message_begin(llhttp_t* p) {
  Conn* c = self(p);
  const Options& o = c->env_.ctx.opt;
  c->req_ = Request{};
  c->req_.knobs.tokens = o.tokens;
  c->req_.knobs.ttft_ms = o.ttft_ms;
  c->req_.knobs.token_delay_ms = o.token_delay_ms;
  c->url_.clear();
  c->hname_.clear();
  c->hval_.clear();
  c->head_bytes_ = 0;
  c->expect_continue_ = false;
  return 0;
}

int Conn::cb_url(llhttp_t* p, const char* at, size_t n) {
  Conn* c = self(p);
  if (!c->count_head(n)) return HPE_USER;
  c->url_.append(at, n);
  return 0;
}

int Conn::cb_header_field(llhttp_t* p, const char* at, size_t n) {
  Conn* c = self(p);
  if (!c->count_head(n)) return HPE_USER;
  c->hname_.append(at, n);
  return 0;
}

int Conn::cb_header_value(llhttp_t* p, const char* at, size_t n) {
  Conn* c = self(p);
  if (!c->count_head(n)) return HPE_USER;
  c->hval_.append(at, n);
  return 0;
}

int Conn::cb_header_value_complete(llhttp_t* p) {
  Conn* c = self(p);
  c->header(c->hname_, c->hval_);
  c->hname_.clear();
  c->hval_.clear();
  return 0;
}

void Conn::header(const std::string& name, const std::string& value) {
  if (env_.ctx.heads) req_.headers.emplace_back(name, value);
  if (strcasecmp(name.c_str(), "expect") == 0) {
    expect_continue_ = strcasecmp(value.c_str(), "100-continue") == 0;
    return;
  }
  if (name.size() < 6 || strncasecmp(name.c_str(), "x-sim-", 6) != 0) return;
  bool fault = strcasecmp(name.c_str(), "X-Sim-Fault") == 0, fault_at = strcasecmp(name.c_str(), "X-Sim-Fault-At") == 0;
  if (fault || fault_at) {
    std::string v = trimmed(value);
    bool ok = fault ? parse_fault(v, req_.knobs.fault) : parse_fault_at(v, req_.knobs.fault_at);
    if (!ok && req_.knob_error.empty()) req_.knob_error = "invalid " + name + " header: '" + value + "'";
    return;
  }
  struct Knob {
    const char* name;
    int Knobs::*field;
    long max;
  };
  static const Knob kKnobs[] = {
      {"X-Sim-Tokens", &Knobs::tokens, 100000000},
      {"X-Sim-TTFT-Ms", &Knobs::ttft_ms, 86400000},
      {"X-Sim-Token-Delay-Ms", &Knobs::token_delay_ms, 86400000},
      {"X-Sim-Token-Pad", &Knobs::token_pad, 1 << 20},
      {"X-Sim-Status", &Knobs::status, 599},
      {"X-Sim-Disconnect-After", &Knobs::disconnect_after, 100000000},
      {"X-Sim-Stall-After", &Knobs::stall_after, 100000000},
  };
  for (const Knob& k : kKnobs) {
    if (strcasecmp(name.c_str(), k.name) != 0) continue;
    int v = 0;
    bool ok = knob_value(value, k.max, v) && (k.field != &Knobs::status || v >= 200);
    if (ok) req_.knobs.*k.field = v;
    else if (req_.knob_error.empty()) req_.knob_error = "invalid " + std::string(k.name) + " header: '" + value + "'";
    return;
  }
}

int Conn::cb_headers_complete(llhttp_t* p) {
  Conn* c = self(p);
  c->req_.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  size_t q = c->url_.find_first_of("?#");
  c->req_.path = c->url_.substr(0, q);
  c->http10_ = llhttp_get_http_major(p) == 1 && llhttp_get_http_minor(p) == 0;
  c->head_only_ = c->req_.method == "HEAD";
  bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
  if (c->expect_continue_ && has_body && !c->http10_) c->out_ += "HTTP/1.1 100 Continue\r\n\r\n";
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > kMaxBody) {
    c->reject_ = 413;
    llhttp_set_error_reason(p, "request body too large");
    return -1;
  }
  return 0;
}

int Conn::cb_body(llhttp_t* p, const char* at, size_t n) {
  Conn* c = self(p);
  if (c->req_.body.size() + n > kMaxBody) {
    c->reject_ = 413;
    llhttp_set_error_reason(p, "request body too large");
    return HPE_USER;
  }
  c->req_.body.append(at, n);
  return 0;
}

int Conn::cb_message_complete(llhttp_t* p) {
  Conn* c = self(p);
  c->keep_alive_ = llhttp_should_keep_alive(p);
  c->message_ready_ = true;
  return HPE_PAUSED;  // one request at a time: the next is parsed once this one is answered
}

void Conn::read_input() {
  thread_local char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n > 0) {
    in_.append(buf, static_cast<size_t>(n));
  } else if (n == 0) {
    peer_eof_ = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    abort();
    return;
  }
  parse();
  if (closed()) return;
  if (peer_eof_) peer_gone();
  else update_interest();
}

void Conn::parse() {
  if (in_parse_) return;  // re-entered from a reply finished inside the loop below
  in_parse_ = true;
  // Stops while the client is not reading our answers (pipelined flood).
  while (st_ == St::idle && !closed() && !in_.empty() && out_.size() - out_off_ < kHighWater) {
    llhttp_errno_t err = llhttp_execute(&parser_, in_.data(), in_.size());
    size_t used = in_.size();
    if (err == HPE_PAUSED) {
      used = static_cast<size_t>(llhttp_get_error_pos(&parser_) - in_.data());
      llhttp_resume(&parser_);
    } else if (err != HPE_OK) {
      bad_request(err);
      break;
    }
    in_.erase(0, used);
    if (message_ready_) {
      message_ready_ = false;
      dispatch();
    }
  }
  in_parse_ = false;
  if (!closed()) flush();
}

void Conn::bad_request(llhttp_errno_t err) {
  std::string msg = reject_ == 413   ? "request body too large"
                    : reject_ == 431 ? "request header fields too large"
                                     : std::string("malformed HTTP request: ") + llhttp_errno_name(err) + " " +
                                           llhttp_get_error_reason(&parser_);
  Reply r = error_reply(reject_ ? reject_ : 400, msg);
  out_ += response_head(r.status, r.content_type, static_cast<int64_t>(r.body.size()), true);
  out_ += r.body;
  in_.clear();
  keep_alive_ = false;
  st_ = St::closing;
}

// ---- replies ---------------------------------------------------------------

void Conn::dispatch() {
  ++env_.ctx.stats.requests_total;
  start(route(req_, env_.ctx));
}

void Conn::start(Reply r) {
  reply_ = std::move(r);
  have_delay_ = head_sent_ = drop_ = parked_ = false;
  tokens_sent_ = 0;
  body_.clear();
  const Knobs& k = req_.knobs;
  bool knobs = knobs_apply();
  if (knobs && k.fault != Fault::none && k.fault_at <= 0) {
    fault_before_body();
    return;
  }
  if (!reply_.stream) {
    int n = reply_.tokens > 1 ? reply_.tokens : 1;
    if (knobs && k.stall_after >= 0 && k.stall_after < n) {
      st_ = St::stalled;
      return;
    }
    drop_ = knobs && k.disconnect_after >= 0 && k.disconnect_after < n;
    if (reply_.delay_ms > 0) {
      st_ = St::waiting;
      arm(now_ns() + reply_.delay_ms * kMs);
      return;
    }
    send_whole();
    return;
  }
  if (knobs && k.stall_after == 0) {
    st_ = St::stalled;
    return;
  }
  if (knobs && k.disconnect_after == 0) {
    st_ = St::closing;  // earlier replies still go out, then the socket closes
    return;
  }
  st_ = St::streaming;
  next_at_ = now_ns();
  pump();
}

void Conn::send_whole() {
  if (drop_) {
    st_ = St::closing;
    flush();
    return;
  }
  if (knobs_apply() && req_.knobs.fault != Fault::none && req_.knobs.fault_at > 0) {
    fault_mid_body();
    return;
  }
  bool body = !head_only_ && status_has_body(reply_.status);
  out_ += response_head(reply_.status, reply_.content_type, static_cast<int64_t>(reply_.body.size()), !keep_alive_);
  if (body) out_ += reply_.body;
  finish_reply();
}

void Conn::pump() {
  int produced = 0;
  while (st_ == St::streaming && !closed()) {
    if (out_.size() - out_off_ >= kHighWater) {
      flush();
      if (closed() || out_.size() - out_off_ >= kHighWater) return;  // EPOLLOUT resumes us
    }
    if (!have_delay_) {
      int64_t delay = reply_.stream->next_delay_ns();
      if (delay == Producer::kWait) {
        park();
        return;
      }
      if (delay < 0) {
        end_stream();
        return;
      }
      have_delay_ = true;
      next_at_ += delay;
    }
    int64_t now = now_ns();
    if (next_at_ > now) {
      flush();
      if (!closed()) arm(next_at_);
      return;
    }
    if (now - next_at_ > kMaxLag) next_at_ = now;
    have_delay_ = false;
    reply_.stream->next(chunk_);
    emit(chunk_);
    if (chunk_.token && knobs_apply()) {
      ++tokens_sent_;
      if (req_.knobs.stall_after == tokens_sent_) {
        st_ = St::stalled;
        flush();
        return;
      }
      if (req_.knobs.disconnect_after == tokens_sent_) {
        st_ = St::closing;  // abrupt: no terminating chunk
        flush();
        return;
      }
      if (req_.knobs.fault != Fault::none && req_.knobs.fault_at == tokens_sent_) {
        inject_fault({});
        return;
      }
    }
    if (++produced >= kBurst) {
      flush();
      if (!closed() && st_ == St::streaming) arm(now_ns());
      return;
    }
  }
}

// The producer waits for something else (a slot, a model load): no timer until it wakes us.
void Conn::park() {
  flush();
  if (closed()) return;
  parked_ = true;
  Timers& timers = env_.timers;
  uint64_t id = id_, seq = ++timer_seq_;
  reply_.stream->park([&timers, id, seq] { timers.push(now_ns(), id, seq); });
}

void Conn::stream_head() {
  if (head_sent_) return;
  out_ += response_head(reply_.status, reply_.content_type, -1, http10_ || !keep_alive_, !http10_);
  head_sent_ = true;
}

void Conn::emit(const Chunk& c) {
  if (reply_.buffered) {
    body_ += c.data;
    return;
  }
  stream_head();  // Ollama's head goes out with the first chunk, after the TTFT
  if (http10_) {  // no chunked encoding in HTTP/1.0: the body ends when the connection does
    out_ += c.data;
    return;
  }
  char size[24];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", c.data.size());
  out_.append(size, static_cast<size_t>(n));
  out_ += c.data;
  out_ += "\r\n";
}

void Conn::end_stream() {
  if (reply_.buffered) {
    bool body = !head_only_ && status_has_body(reply_.status);
    out_ += response_head(reply_.status, reply_.content_type, static_cast<int64_t>(body_.size()), !keep_alive_);
    if (body) out_ += body_;
    std::string().swap(body_);
    finish_reply();
    return;
  }
  stream_head();
  if (http10_) keep_alive_ = false;
  else out_ += "0\r\n\r\n";
  finish_reply();
}

// ---- faults (X-Sim-Fault) -------------------------------------------------

// Before the first body byte: nothing at all (X-Sim-Fault-At: 0) or part of the head.
void Conn::fault_before_body() {
  const Knobs& k = req_.knobs;
  if (k.fault_at == 0) {
    inject_fault({});
    return;
  }
  bool stream = reply_.stream != nullptr;
  std::string head = response_head(reply_.status, reply_.content_type,
                                   stream ? -1 : static_cast<int64_t>(reply_.body.size()), !keep_alive_);
  inject_fault(head_before_fault(k.fault, head));
}

// A whole-body reply: the head and half the body, then the fault; garbage is the
// whole reply followed by bytes nobody asked for, and the connection serves on.
void Conn::fault_mid_body() {
  out_ += response_head(reply_.status, reply_.content_type, static_cast<int64_t>(reply_.body.size()), !keep_alive_);
  if (req_.knobs.fault == Fault::garbage) {
    out_ += reply_.body;
    out_ += garbage_after_response();
    ++env_.ctx.stats.faults_injected;
    finish_reply();
    return;
  }
  inject_fault(std::string_view(reply_.body).substr(0, reply_.body.size() / 2));
}

// Sends what comes before the fault; the fault itself follows a moment later, so
// the peer has read those bytes on their own first.
void Conn::inject_fault(std::string_view before) {
  ++env_.ctx.stats.faults_injected;
  out_ += before;
  st_ = St::faulting;
  flush();
  if (!closed()) arm(now_ns() + kFaultDelay);
}

void Conn::finish_fault() {
  switch (req_.knobs.fault) {
    case Fault::reset: {
      linger l{1, 0};
      setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close_now();
      return;
    }
    case Fault::half_close:
      ::shutdown(fd_, SHUT_WR);
      st_ = St::stalled;  // reads on; closes when the peer does
      update_interest();
      return;
    case Fault::garbage:
      out_ += garbage_at(req_.knobs.fault_at);
      st_ = St::stalled;
      flush();
      return;
    case Fault::stall:
      st_ = St::stalled;
      return;
    case Fault::close:
    case Fault::none:
      st_ = St::closing;
      flush();
      return;
  }
}

void Conn::finish_reply() {
  reply_ = Reply{};
  if (!keep_alive_) {
    st_ = St::closing;
    flush();
    return;
  }
  st_ = St::idle;
  flush();
  if (!closed()) parse();  // pipelined requests already received
}

void Conn::on_timer(uint64_t seq) {
  if (seq != timer_seq_ || closed()) return;
  if (parked_) {  // woken: the schedule goes on from now
    parked_ = false;
    next_at_ = now_ns();
  }
  if (st_ == St::waiting) send_whole();
  else if (st_ == St::streaming) pump();
  else if (st_ == St::faulting) finish_fault();
}

void Conn::arm(int64_t at_ns) { env_.timers.push(at_ns, id_, ++timer_seq_); }

// ---- socket ----------------------------------------------------------------

void Conn::on_event(uint32_t ev) {
  if (ev & EPOLLERR) {
    abort();
    return;
  }
  if (ev & EPOLLIN) {
    read_input();
    if (closed()) return;
  }
  if (ev & EPOLLOUT) {
    flush();
    if (closed()) return;
    if (out_.size() - out_off_ < kHighWater / 2) {
      if (st_ == St::streaming) pump();
      else if (st_ == St::idle) parse();
    }
    if (closed()) return;
  }
  if (ev & EPOLLHUP) {
    abort();
    return;
  }
  // With reading paused, a FIN shows up only as EPOLLRDHUP.
  if ((ev & EPOLLRDHUP) && !(ev & EPOLLIN)) {
    peer_eof_ = true;
    peer_gone();
  }
}

void Conn::flush() {
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      abort();
      return;
    }
  }
  if (out_off_ == out_.size()) {
    if (out_.capacity() > kHighWater * 2) std::string().swap(out_);
    else out_.clear();
    out_off_ = 0;
    if (st_ == St::closing) {
      close_now();
      return;
    }
  } else if (out_off_ >= kHighWater) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  update_interest();
}

// The client closed its side (FIN): an unfinished stream is aborted; answered
// requests still get their bytes, then the connection closes.
void Conn::peer_gone() {
  switch (st_) {
    case St::streaming:
    case St::stalled:
    case St::waiting:
    case St::faulting:
      abort();
      return;
    case St::idle:
      st_ = St::closing;
      flush();
      return;
    case St::closing:
      update_interest();
      return;
  }
}

void Conn::abort() {
  if (st_ == St::streaming || st_ == St::stalled) ++env_.ctx.stats.streams_aborted;
  close_now();
}

void Conn::close_now() {
  if (fd_ < 0) return;
  epoll_ctl(env_.epfd, EPOLL_CTL_DEL, fd_, nullptr);
  ::close(fd_);
  fd_ = -1;
  ++timer_seq_;
  st_ = St::closing;
  reply_ = Reply{};
  --env_.ctx.stats.connections_open;
}

void Conn::update_interest() {
  if (closed()) return;
  uint32_t want = 0;
  if (!peer_eof_) {
    want |= EPOLLRDHUP;
    if (in_.size() < kMaxInput) want |= EPOLLIN;
  }
  if (out_off_ < out_.size()) want |= EPOLLOUT;
  if (want == registered_) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = id_;
  epoll_ctl(env_.epfd, EPOLL_CTL_MOD, fd_, &ev);
  registered_ = want;
}

}  // namespace sim
