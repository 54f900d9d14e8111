#include "uring_loop.h"

#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "corral/core/net.h"

namespace corral::core {
namespace {

enum Op : uint64_t { kRecv = 1, kSend = 2, kConnect = 3, kAccept = 4, kTimer = 5, kWake = 6, kIgnore = 7 };
constexpr uint64_t kOpMask = 7;
constexpr int kBufGroup = 0;

uint64_t tag(Socket* s, Op op) { return reinterpret_cast<uint64_t>(s) | op; }

}  // namespace

std::unique_ptr<UringLoop> UringLoop::create(BufferPool& pool, std::string& why) {
  std::unique_ptr<UringLoop> loop(new UringLoop(pool));
  if (!loop->init(why)) return nullptr;
  return loop;
}

bool UringLoop::init(std::string& why) {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = 16384;
  int rc = io_uring_queue_init_params(2048, &ring_, &p);
  defer_taskrun_ = rc == 0;
  if (rc == -EINVAL) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 16384;
    rc = io_uring_queue_init_params(2048, &ring_, &p);
  }
  if (rc != 0) {
    why = std::string("io_uring_setup failed: ") + std::strerror(-rc);
    return false;
  }
  ring_ok_ = true;

  unsigned entries = pool_.count();
  buf_ring_bytes_ = entries * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    why = "cannot map provided-buffer ring";
    return false;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = entries;
  reg.bgid = kBufGroup;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc != 0) {
    why = std::string("provided-buffer ring unsupported: ") + std::strerror(-rc);
    return false;
  }
  buf_mask_ = io_uring_buf_ring_mask(entries);
  for (unsigned i = 0; i < entries; ++i) {
    io_uring_buf_ring_add(buf_ring_, pool_.data(i), pool_.size(), i, buf_mask_, i);
  }
  io_uring_buf_ring_advance(buf_ring_, entries);

  wake_fd_.reset(eventfd(0, EFD_CLOEXEC));
  if (!wake_fd_) {
    why = "eventfd failed";
    return false;
  }
  return true;
}

UringLoop::~UringLoop() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
  if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
}

io_uring_sqe* UringLoop::sqe() {
  io_uring_sqe* e = io_uring_get_sqe(&ring_);
  while (e == nullptr) {
    io_uring_submit(&ring_);
    e = io_uring_get_sqe(&ring_);
  }
  return e;
}

void UringLoop::attach(Socket& s, int fd, SocketHandler* h) {
  s = Socket{};
  state(s).fd = fd;
  state(s).handler = h;
}

void UringLoop::arm_accept(Socket& s) {
  io_uring_sqe* e = sqe();
  io_uring_prep_multishot_accept(e, state(s).fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(e, tag(&s, kAccept));
  ++state(s).in_kernel;
}

void UringLoop::accept(Socket& listener) {
  state(listener).listening = true;
  arm_accept(listener);
}

void UringLoop::arm_recv(Socket& s) {
  io_uring_sqe* e = sqe();
  io_uring_prep_recv_multishot(e, state(s).fd, nullptr, 0, 0);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = kBufGroup;
  io_uring_sqe_set_data64(e, tag(&s, kRecv));
  state(s).recv_armed = true;
  ++state(s).in_kernel;
}

void UringLoop::start_read(Socket& s) {
  if (state(s).closing) return;
  state(s).want_read = true;
  if (!state(s).recv_armed && !state(s).starved) arm_recv(s);
}

void UringLoop::stop_read(Socket& s) {
  state(s).want_read = false;
  if (state(s).recv_armed) {
    io_uring_sqe* e = sqe();
    io_uring_prep_cancel64(e, tag(&s, kRecv), 0);
    io_uring_sqe_set_data64(e, kIgnore);
  }
}

// The cancelled receive completes with -ECANCELED, and on_recv_cqe arms a new one
// (still want_read), whose first attempt finds whatever the socket holds.
void UringLoop::refresh_read(Socket& s) {
  if (state(s).recv_armed && state(s).want_read && !state(s).closing) cancel(s, kRecv);
}

void UringLoop::submit_send(Socket& s) {
  io_uring_sqe* e = sqe();
  io_uring_prep_send(e, state(s).fd, state(s).send_ptr, state(s).send_left, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(e, tag(&s, kSend));
  ++state(s).in_kernel;
}

void UringLoop::send(Socket& s, const char* p, uint32_t n) {
  state(s).sending = true;
  state(s).send_ptr = p;
  state(s).send_left = n;
  submit_send(s);
}

void UringLoop::connect(Socket& s, const sockaddr* a, socklen_t len) {
  state(s).connecting = true;
  io_uring_sqe* e = sqe();
  io_uring_prep_connect(e, state(s).fd, a, len);
  io_uring_sqe_set_data64(e, tag(&s, kConnect));
  ++state(s).in_kernel;
}

void UringLoop::close(Socket& s) {
  if (state(s).closing) return;
  state(s).closing = true;
  state(s).want_read = false;
  if (state(s).starved) unlist_starved(s);  // the socket may be gone before buffers come back
  if (state(s).in_kernel == 0) {
    op_done(s);
    return;
  }
  // Each operation by its own tag, which the kernel finds in its hash: a cancel
  // by descriptor is compared against every request in flight, which at
  // thousands of connections costs more than the requests themselves.
  if (state(s).recv_armed) cancel(s, kRecv);
  if (state(s).sending) cancel(s, kSend);
  if (state(s).connecting) cancel(s, kConnect);
  if (state(s).listening) cancel(s, kAccept);
}

void UringLoop::cancel(Socket& s, uint64_t op) {
  io_uring_sqe* e = sqe();
  io_uring_prep_cancel64(e, tag(&s, static_cast<Op>(op)), 0);
  io_uring_sqe_set_data64(e, kIgnore);
}

void UringLoop::op_done(Socket& s) {
  if (state(s).closing && state(s).in_kernel == 0 && state(s).fd >= 0) {
    ::close(state(s).fd);
    state(s).fd = -1;
    closed_.push_back(&s);
  }
}

void UringLoop::release(uint16_t id) {
  io_uring_buf_ring_add(buf_ring_, pool_.data(id), pool_.size(), id, buf_mask_, 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
  if (starved_) retry_starved();
}

void UringLoop::unlist_starved(Socket& s) {
  Socket** at = &starved_;
  while (*at && *at != &s) at = &state(**at).next_starved;
  if (*at) *at = state(s).next_starved;
  state(s).next_starved = nullptr;
  state(s).starved = false;
}

void UringLoop::retry_starved() {
  Socket* s = starved_;
  starved_ = nullptr;
  while (s) {
    Socket* next = state(*s).next_starved;
    state(*s).next_starved = nullptr;
    state(*s).starved = false;
    if (state(*s).want_read && !state(*s).closing && !state(*s).recv_armed) arm_recv(*s);
    s = next;
  }
}

void UringLoop::on_recv_cqe(Socket& s, int res, unsigned flags) {
  bool more = flags & IORING_CQE_F_MORE;
  if (!more) {
    state(s).recv_armed = false;
    --state(s).in_kernel;
  }
  if (res > 0) {
    uint16_t id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (state(s).closing) {
      release(id);
    } else {
      state(s).handler->on_data(s, buf(pool_.data(id), static_cast<uint32_t>(res), id, this));
    }
  } else if (res == -ENOBUFS) {
    if (!state(s).closing && !state(s).starved) {
      state(s).starved = true;
      state(s).next_starved = starved_;
      starved_ = &s;
    }
  } else if (res != -ECANCELED && !state(s).closing) {
    state(s).want_read = false;
    state(s).handler->on_eof(s, res);
  }
  if (!more && state(s).want_read && !state(s).closing && !state(s).recv_armed && !state(s).starved) arm_recv(s);
  op_done(s);
}

void UringLoop::on_send_cqe(Socket& s, int res) {
  --state(s).in_kernel;
  if (state(s).closing) {
    state(s).sending = false;
    op_done(s);
    return;
  }
  if (res > 0 && static_cast<uint32_t>(res) < state(s).send_left) {
    state(s).send_ptr += res;
    state(s).send_left -= res;
    submit_send(s);
    return;
  }
  state(s).sending = false;
  state(s).send_left = 0;
  state(s).handler->on_sent(s, res > 0 ? 0 : (res == 0 ? -EPIPE : res));
}

void UringLoop::handle(io_uring_cqe* cqe) {
  uint64_t data = io_uring_cqe_get_data64(cqe);
  uint64_t op = data & kOpMask;
  if (op == kIgnore) return;
  if (op == kTimer) {
    resume_accepts([this](Socket& s) { arm_accept(s); });
    // An ENOBUFS completion can be read after the buffers it lacked came back (their
    // release() found no one starved yet): no release may follow, so the tick retries.
    if (starved_) retry_starved();
    if (tick_) tick_();
    arm_timer();
    return;
  }
  if (op == kWake) {
    if (tick_) tick_();
    arm_wake();
    return;
  }
  Socket& s = *reinterpret_cast<Socket*>(data & ~kOpMask);
  switch (op) {
    case kRecv:
      on_recv_cqe(s, cqe->res, cqe->flags);
      break;
    case kSend:
      on_send_cqe(s, cqe->res);
      break;
    case kConnect:
      --state(s).in_kernel;
      state(s).connecting = false;
      if (!state(s).closing) state(s).handler->on_connected(s, cqe->res);
      op_done(s);
      break;
    case kAccept: {
      bool more = cqe->flags & IORING_CQE_F_MORE;
      if (!more) --state(s).in_kernel;
      if (cqe->res >= 0) {
        if (state(s).closing) ::close(cqe->res);
        else state(s).handler->on_accept(s, cqe->res);
      } else if (!more && local_shortage(-cqe->res)) {
        pause_accept(s, -cqe->res);
      }
      if (!more && !state(s).closing && !state(s).accept_paused) arm_accept(s);
      op_done(s);
      break;
    }
    default:
      break;
  }
}

void UringLoop::arm_timer() {
  io_uring_sqe* e = sqe();
  io_uring_prep_timeout(e, &tick_ts_, 0, 0);
  io_uring_sqe_set_data64(e, kTimer);
}

void UringLoop::arm_wake() {
  io_uring_sqe* e = sqe();
  io_uring_prep_read(e, wake_fd_.get(), &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(e, kWake);
}

void UringLoop::wake() {
  uint64_t one = 1;
  ssize_t rc = ::write(wake_fd_.get(), &one, sizeof one);
  (void)rc;
}

void UringLoop::run_deferred() {
  while (!closed_.empty()) {
    std::vector<Socket*> batch;
    batch.swap(closed_);
    for (Socket* s : batch) state(*s).handler->on_closed(*s);
  }
}

void UringLoop::run(std::function<void()> tick, int tick_ms) {
  tick_ = std::move(tick);
  tick_ts_.tv_sec = tick_ms / 1000;
  tick_ts_.tv_nsec = static_cast<long long>(tick_ms % 1000) * 1000000;
  refresh_clock();
  stopped_ = false;
  if (!armed_) {  // a second run() finds the timer and the wake read still armed
    armed_ = true;
    arm_timer();
    arm_wake();
  }
  while (!stopped_) {
    int rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) break;
    refresh_clock();
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    run_deferred();
  }
}

}  // namespace corral::core
