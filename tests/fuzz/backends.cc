#include "backends.h"

#include <cerrno>

#include "relay.h"

namespace corral::fuzz {
namespace {

std::string hex(size_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

std::string chunk(const std::string& s) { return hex(s.size()) + "\r\n" + s + "\r\n"; }

}  // namespace

ScriptedBackends::Upstream::Upstream()
    : parser(http::MessageParser::Kind::request, http::Limits{1u << 20, 1000, ~0ull}) {}

const std::string* ScriptedBackends::body_of(const std::string& marker) const {
  auto it = bodies_.find(marker);
  return it == bodies_.end() ? nullptr : &it->second;
}

void ScriptedBackends::serve() {
  for (bool moved = true; moved;) {
    moved = false;
    for (int fd = 1000; fd <= rig_.loop.last_stream(); ++fd) {
      if (rig_.loop.peer(fd).remote.empty()) continue;  // a client connection
      moved = serve_one(fd) || moved;
    }
  }
}

bool ScriptedBackends::serve_one(int fd) {
  test::FakeLoop::Peer& p = rig_.loop.peer(fd);
  if (p.closed) return false;
  if (closing_.count(fd)) {  // a FIN arrives after the data before it
    if (!p.inbox.empty()) return false;
    closing_.erase(fd);
    rig_.loop.peer_close(fd);
    rig_.loop.settle();
    return true;
  }
  if (p.connecting) {
    bool refuse = (in_.options & 0x40) && connects_ == 0;  // the first backend refuses: failover
    ++connects_;
    rig_.loop.finish_connect(fd, refuse ? -ECONNREFUSED : 0);
    rig_.loop.settle();
    return true;
  }
  auto& up = ups_[fd];
  if (!up) up = std::make_unique<Upstream>();
  if (up->seen >= p.received.size()) return false;
  using St = http::MessageParser::Status;
  while (up->seen < rig_.loop.peer(fd).received.size()) {
    const std::string& got = rig_.loop.peer(fd).received;
    auto r = up->parser.feed(got.data() + up->seen, got.size() - up->seen);
    if (r.used > got.size() - up->seen) broken("parser used more bytes than it was given");
    if (r.status == St::error) broken("corral forwarded a request that is not valid HTTP/1.1", got);
    up->seen += r.used;
    if (r.status == St::done) {
      answer(fd, up->parser.head());
      up->parser.next_message();
      if (rig_.loop.peer(fd).closed) break;
    }
  }
  return true;
}

// The answer to request number answers_, picked by the script.
void ScriptedBackends::answer(int fd, const http::Head& request) {
  int n = answers_++;
  int kind = (in_.options + n * ((in_.options >> 3) | 1)) % 10;
  std::string marker = std::to_string(n);
  std::string head = "HTTP/1.1 ";
  std::string body;
  std::string tail = std::string(kMarker) + ": " + marker + "\r\n";
  bool close = false;
  switch (kind) {
    case 0:
      body = R"({"model":"m1","response":"hi","done":true,"eval_count":3,"eval_duration":1000})";
      head += "200 OK\r\nContent-Type: application/json\r\n" + tail + "Content-Length: " + std::to_string(body.size());
      break;
    case 1:
      body = chunk(R"({"response":"a","done":false})"
                   "\n") +
             chunk(R"({"done":true,"eval_count":2})"
                   "\n") +
             "0\r\n\r\n";
      head += "200 OK\r\nContent-Type: application/x-ndjson\r\n" + tail + "Transfer-Encoding: chunked";
      break;
    case 2:
      body = "until the backend closes";
      head += "200 OK\r\n" + tail + "Content-Type: text/plain";
      close = true;
      break;
    case 3:
      body = R"({"error":"backend failed"})";
      head += "500 Internal Server Error\r\n" + tail + "Content-Length: " + std::to_string(body.size());
      break;
    case 4:
      body = R"({"error":"server busy, please try again."})";
      head += "503 Service Unavailable\r\n" + tail + "Content-Length: " + std::to_string(body.size());
      break;
    case 5:
      head += "204 No Content\r\n" + tail.substr(0, tail.size() - 2);
      break;
    case 6:
      rig_.loop.peer_close(fd);  // gone before answering
      rig_.loop.settle();
      return;
    case 7:
      return;  // never answers: the first-byte timeout ends it
    case 8:
      body = R"({"status":"success"})";
      head =
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" + tail + "Content-Length: " + std::to_string(body.size());
      break;
    default:
      body = chunk("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n") +
             chunk("data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n") + "0\r\n\r\n";
      head += "200 OK\r\nContent-Type: text/event-stream\r\n" + tail + "Transfer-Encoding: chunked";
      break;
  }
  if (request.method() == "HEAD") body.clear();  // the head says what a GET would get
  bodies_[marker] = body;
  deliver(fd, head + "\r\n\r\n" + body);
  if (close) closing_.insert(fd);
}

void ScriptedBackends::deliver(int fd, const std::string& bytes) {
  for (size_t pos = 0; pos < bytes.size() && !rig_.loop.peer(fd).closed;) {
    size_t n = in_.piece(bytes.size() - pos);
    rig_.answer(fd, bytes.substr(pos, n));
    pos += n;
  }
}

}  // namespace corral::fuzz
