// The TLS engine and its contexts. Certificates come from the openssl CLI into a
// temp dir (a CA, a server certificate for localhost and 127.0.0.1, a self-signed
// one, an expired one). Most tests pump ciphertext between a client and a server
// engine in memory; two run over real loopback sockets (against openssl s_server,
// and engine against engine) with reads cut into small random pieces.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "corral/core/fd.h"
#include "corral/transport/tls.h"

using namespace corral::transport;
using corral::core::UniqueFd;

namespace {

// Made once per run; the expired certificate needs `openssl ca` (Debian 12's
// `openssl x509` cannot set dates), hence the small CA database.
const char* kMakeCerts = R"(set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=corral-test-ca
openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem
cat server.pem ca.pem > chain.pem
openssl req -x509 $ec -keyout self.key -out self.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost
mkdir db && : > db/index.txt && echo 01 > db/serial
printf '[ca]\ndefault_ca=t\n[t]\ndatabase=db/index.txt\nnew_certs_dir=db\nserial=db/serial\n' > ca.cnf
printf 'default_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n' >> ca.cnf
openssl req $ec -keyout expired.key -out expired.csr -subj /CN=localhost -addext subjectAltName=DNS:localhost
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem -notext \
  -startdate 20200101000000Z -enddate 20200102000000Z
)";

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/corral-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/make.sh") << kMakeCerts;
    std::string cmd = "cd " + dir_ + " && sh make.sh > make.log 2>&1";
    certs_ok_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  void SetUp() override { ASSERT_TRUE(certs_ok_) << "openssl could not make the certificates, see " << dir_; }

  static std::string path(const std::string& name) { return dir_ + "/" + name; }

  static std::shared_ptr<TlsServerContext> server_ctx(const std::string& cert = "chain.pem",
                                                      const std::string& key = "server.key") {
    std::string err;
    auto c = TlsServerContext::create(path(cert), path(key), err);
    EXPECT_TRUE(c) << err;
    return c;
  }
  static std::shared_ptr<TlsClientContext> client_ctx(TlsClientOptions o = trusting_ca()) {
    std::string err;
    auto c = TlsClientContext::create(o, err);
    EXPECT_TRUE(c) << err;
    return c;
  }
  static TlsClientOptions trusting_ca() {
    TlsClientOptions o;
    o.ca_file = path("ca.pem");
    return o;
  }

  static std::string dir_;
  static bool certs_ok_;
};
std::string Tls::dir_;
bool Tls::certs_ok_ = false;

// Moves what `from` has queued into `to`; true if anything moved.
bool move_cipher(TlsEngine& from, TlsEngine& to) {
  bool moved = false;
  for (std::string_view v = from.pending_cipher(); !v.empty(); v = from.pending_cipher()) {
    to.feed_cipher(v.data(), v.size());
    from.consume_cipher(v.size());
    moved = true;
  }
  return moved;
}

std::string read_all(TlsEngine& e) {
  std::string got;
  char buf[4096];
  while (size_t n = e.read_plain(buf, sizeof buf)) got.append(buf, n);
  return got;
}

// Both ways until neither side has anything to send; what each decrypted is kept.
struct Pair {
  std::unique_ptr<TlsEngine> client, server;
  std::string client_got, server_got;
  void pump() {
    for (int round = 0; round < 50; ++round) {
      bool moved = move_cipher(*client, *server);
      server_got += read_all(*server);
      moved |= move_cipher(*server, *client);
      client_got += read_all(*client);
      if (!moved) return;
    }
  }
};

Pair connect(std::shared_ptr<TlsClientContext> c, std::shared_ptr<TlsServerContext> s,
             std::string_view host = "localhost") {
  Pair p{TlsEngine::client(std::move(c), host), TlsEngine::server(std::move(s)), {}, {}};
  p.pump();
  return p;
}

TEST_F(Tls, HandshakeThenDataBothWays) {
  auto client = TlsEngine::client(client_ctx(), "localhost");
  EXPECT_FALSE(client->pending_cipher().empty()) << "the ClientHello is queued at once";
  ASSERT_TRUE(client->write_plain("early ", 6));  // held until the handshake completes
  Pair p{std::move(client), TlsEngine::server(server_ctx()), {}, {}};
  p.pump();
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  ASSERT_TRUE(p.server->handshake_done()) << p.server->error();
  EXPECT_FALSE(p.client->failed());
  EXPECT_EQ(p.server->server_name(), "localhost");
  EXPECT_EQ(p.server_got, "early ");

  ASSERT_TRUE(p.client->write_plain("ping", 4));
  ASSERT_TRUE(p.server->write_plain("pong", 4));
  p.pump();
  EXPECT_EQ(p.server_got, "early ping");
  EXPECT_EQ(p.client_got, "pong");
  EXPECT_TRUE(p.client->pending_cipher().empty());
  EXPECT_TRUE(p.server->pending_cipher().empty());
}

// One direction of a transfer with every boundary random: write sizes, ciphertext
// pieces fed, read buffer sizes.
std::string transfer(TlsEngine& from, TlsEngine& to, const std::string& data, std::mt19937& rng) {
  auto upto = [&](size_t n) { return std::uniform_int_distribution<size_t>(1, n)(rng); };
  std::string got;
  std::vector<char> buf(20000);
  size_t sent = 0;
  while (got.size() < data.size()) {
    if (sent < data.size()) {
      size_t n = std::min(upto(40000), data.size() - sent);
      EXPECT_TRUE(from.write_plain(data.data() + sent, n));
      sent += n;
    } else if (from.pending_cipher().empty()) {
      break;  // everything was fed and still something is missing
    }
    for (std::string_view v = from.pending_cipher(); !v.empty(); v = from.pending_cipher()) {
      size_t n = std::min(v.size(), upto(5000));
      EXPECT_TRUE(to.feed_cipher(v.data(), n)) << to.error();
      from.consume_cipher(n);
      size_t cap = upto(buf.size());
      while (size_t r = to.read_plain(buf.data(), cap)) got.append(buf.data(), r);
    }
    move_cipher(to, from);  // whatever the reader answers (tickets, key updates)
    read_all(from);
  }
  return got;
}

TEST_F(Tls, OneMebibyteSplitAtRandomPointsArrivesExact) {
  Pair p = connect(client_ctx(), server_ctx());
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  std::mt19937 rng(20261127);
  std::string data(1 << 20, '\0');
  for (char& ch : data) ch = static_cast<char>(rng());
  std::string up = transfer(*p.client, *p.server, data, rng);
  EXPECT_EQ(up.size(), data.size());
  EXPECT_TRUE(up == data) << "client to server differs";
  std::string down = transfer(*p.server, *p.client, data, rng);
  EXPECT_EQ(down.size(), data.size());
  EXPECT_TRUE(down == data) << "server to client differs";
  EXPECT_FALSE(p.client->failed() || p.server->failed());
}

// The io_uring send of pending_cipher() may still be in flight when the worker
// encrypts more: the view must not move.
TEST_F(Tls, PendingCipherViewSurvivesLaterWrites) {
  Pair p = connect(client_ctx(), server_ctx());
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  ASSERT_TRUE(p.client->write_plain("first", 5));
  std::string_view in_flight = p.client->pending_cipher();
  std::string copy(in_flight);
  std::string more(256 << 10, 'm');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(p.client->write_plain(more.data(), more.size()));
  p.client->read_plain(nullptr, 0);
  EXPECT_EQ(p.client->pending_cipher().data(), in_flight.data());
  ASSERT_EQ(std::string(in_flight), copy);
  p.client->consume_cipher(3);  // a short send: the rest stays where it was
  EXPECT_EQ(p.client->pending_cipher().data(), in_flight.data() + 3);
  p.server->feed_cipher(in_flight.data(), in_flight.size());
  p.client->consume_cipher(in_flight.size() - 3);
  p.pump();
  EXPECT_EQ(p.server_got.size(), 5 + 8 * more.size());
  EXPECT_EQ(p.server_got.substr(0, 6), "firstm");
}

TEST_F(Tls, UntrustedSelfSignedCertificateFailsVerification) {
  for (bool system_store : {false, true}) {
    TlsClientOptions o = trusting_ca();
    if (system_store) o.ca_file.clear();
    Pair p = connect(client_ctx(o), server_ctx("self.pem", "self.key"));
    EXPECT_FALSE(p.client->handshake_done());
    EXPECT_TRUE(p.client->failed());
    EXPECT_EQ(p.client->error(), "TLS verification failed: self-signed certificate (expected localhost)");
    EXPECT_TRUE(p.server->failed()) << "the client's alert reached the server";
    EXPECT_NE(p.server->error().find("TLS handshake failed"), std::string::npos) << p.server->error();
    EXPECT_NE(p.server->error().find("alert"), std::string::npos) << p.server->error();
    EXPECT_FALSE(p.client->write_plain("x", 1));
    EXPECT_FALSE(p.client->feed_cipher("x", 1));
  }
}

TEST_F(Tls, ExpiredCertificateFailsVerification) {
  Pair p = connect(client_ctx(), server_ctx("expired.pem", "expired.key"));
  EXPECT_TRUE(p.client->failed());
  EXPECT_EQ(p.client->error(), "TLS verification failed: certificate has expired (expected localhost)");
}

TEST_F(Tls, NameOrAddressMismatchFailsVerification) {
  Pair p = connect(client_ctx(), server_ctx(), "api.example.com");
  EXPECT_TRUE(p.client->failed());
  EXPECT_EQ(p.client->error(), "TLS verification failed: hostname mismatch (expected api.example.com)");

  Pair ip = connect(client_ctx(), server_ctx(), "127.0.0.2");
  EXPECT_TRUE(ip.client->failed());
  EXPECT_EQ(ip.client->error(), "TLS verification failed: IP address mismatch (expected 127.0.0.2)");

  Pair v6 = connect(client_ctx(), server_ctx(), "[::1]");
  EXPECT_TRUE(v6.client->failed());
  EXPECT_EQ(v6.client->error(), "TLS verification failed: IP address mismatch (expected ::1)");
  EXPECT_EQ(v6.server->server_name(), "") << "no SNI for an IPv6 literal either";
}

TEST_F(Tls, IpLiteralIsCheckedAgainstTheCertificateAndSendsNoSni) {
  Pair p = connect(client_ctx(), server_ctx(), "127.0.0.1");
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  EXPECT_EQ(p.server->server_name(), "") << "no SNI for an IP literal";
}

TEST_F(Tls, ServerNameOptionOverridesTheHost) {
  TlsClientOptions o = trusting_ca();
  o.server_name = "localhost";
  Pair p = connect(client_ctx(o), server_ctx(), "10.1.2.3");  // dialled by address, checked by name
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  EXPECT_EQ(p.server->server_name(), "localhost");
}

TEST_F(Tls, VerifyOffAcceptsAnyCertificateAndStillSendsSni) {
  TlsClientOptions o;
  o.verify = false;
  Pair p = connect(client_ctx(o), server_ctx("self.pem", "self.key"), "wrong.example");
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  EXPECT_EQ(p.server->server_name(), "wrong.example");
  ASSERT_TRUE(p.client->write_plain("hi", 2));
  p.pump();
  EXPECT_EQ(p.server_got, "hi");
}

TEST_F(Tls, SecondConnectionFromTheSameContextResumes) {
  auto clients = client_ctx();
  auto servers = server_ctx();
  {
    Pair first = connect(clients, servers);
    ASSERT_TRUE(first.client->handshake_done()) << first.client->error();
    EXPECT_FALSE(first.client->session_reused());
  }  // dropped without close_notify: its session stays resumable
  // TLS 1.3 tickets arrive after the handshake; they were read by the pump.
  Pair second = connect(clients, servers);
  ASSERT_TRUE(second.client->handshake_done()) << second.client->error();
  EXPECT_TRUE(second.client->session_reused());
  EXPECT_TRUE(second.server->session_reused());
  Pair third = connect(clients, servers);
  EXPECT_TRUE(third.client->session_reused()) << "the resumed connection's ticket is kept too";

  Pair other_host = connect(clients, servers, "127.0.0.1");
  ASSERT_TRUE(other_host.client->handshake_done()) << other_host.client->error();
  EXPECT_FALSE(other_host.client->session_reused()) << "a session is offered only to its own host";
  Pair other_ctx = connect(client_ctx(), servers);
  EXPECT_FALSE(other_ctx.client->session_reused());
}

TEST_F(Tls, FailedConnectionDropsTheKeptSession) {
  auto clients = client_ctx();
  auto servers = server_ctx();
  connect(clients, servers);
  EXPECT_TRUE(connect(clients, servers).client->session_reused());
  Pair bad = connect(clients, server_ctx("self.pem", "self.key"));
  EXPECT_TRUE(bad.client->failed());
  Pair after = connect(clients, servers);
  ASSERT_TRUE(after.client->handshake_done()) << after.client->error();
  EXPECT_FALSE(after.client->session_reused());
}

TEST_F(Tls, ContextIsSharedByThreads) {
  auto clients = client_ctx();
  auto servers = server_ctx();
  constexpr int kThreads = 4, kEach = 10;
  std::atomic<int> done{0}, reused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        Pair p = connect(clients, servers);
        if (!p.client->handshake_done() || !p.client->write_plain("x", 1)) continue;
        p.pump();
        if (p.server_got != "x") continue;
        ++done;
        reused += p.client->session_reused();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done, kThreads * kEach);
  EXPECT_GE(reused, kThreads * (kEach - 1)) << "after its first connection every thread finds a session";
}

TEST_F(Tls, AlpnChoosesHttp11OrNothing) {
  Pair p = connect(client_ctx(), server_ctx());
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  EXPECT_EQ(p.client->alpn(), "http/1.1");
  EXPECT_EQ(p.server->alpn(), "http/1.1");

  for (std::vector<std::string> offer : {std::vector<std::string>{}, std::vector<std::string>{"h2"}}) {
    TlsClientOptions o = trusting_ca();
    o.alpn = offer;
    Pair q = connect(client_ctx(o), server_ctx());
    ASSERT_TRUE(q.client->handshake_done()) << q.client->error();
    EXPECT_EQ(q.client->alpn(), "");
    EXPECT_EQ(q.server->alpn(), "");
  }
}

TEST_F(Tls, CloseNotifyIsSeenAsPeerClosed) {
  Pair p = connect(client_ctx(), server_ctx());
  ASSERT_TRUE(p.client->handshake_done()) << p.client->error();
  ASSERT_TRUE(p.client->write_plain("last", 4));
  p.client->shutdown();
  EXPECT_FALSE(p.client->pending_cipher().empty());
  p.pump();
  EXPECT_EQ(p.server_got, "last");
  EXPECT_TRUE(p.server->peer_closed());
  EXPECT_FALSE(p.server->failed()) << p.server->error();
  EXPECT_FALSE(p.client->peer_closed());

  ASSERT_TRUE(p.server->write_plain("bye", 3));  // the other half is still open
  p.server->shutdown();
  p.pump();
  EXPECT_EQ(p.client_got, "bye");
  EXPECT_TRUE(p.client->peer_closed());
  EXPECT_FALSE(p.client->failed()) << p.client->error();
  EXPECT_FALSE(p.client->write_plain("late", 4)) << "nothing is sent after close_notify";
}

TEST_F(Tls, GarbageCiphertextFailsCleanly) {
  auto s = TlsEngine::server(server_ctx());
  const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_FALSE(s->feed_cipher(http, sizeof http - 1));
  EXPECT_TRUE(s->failed());
  EXPECT_EQ(s->error(), "TLS handshake failed: the client sent plain HTTP");
  EXPECT_EQ(s->read_plain(nullptr, 0), 0u);
  EXPECT_FALSE(s->write_plain("x", 1));

  auto c = TlsEngine::client(client_ctx(), "localhost");
  std::mt19937 rng(7);
  std::string noise(3000, '\0');
  for (char& ch : noise) ch = static_cast<char>(rng());
  noise[0] = 0x16;  // looks like a handshake record, then nonsense
  EXPECT_FALSE(c->feed_cipher(noise.data(), noise.size()));
  EXPECT_TRUE(c->failed());
  EXPECT_NE(c->error().find("TLS handshake failed: "), std::string::npos) << c->error();

  auto to_plain = TlsEngine::client(client_ctx(), "localhost");  // an https:// backend that speaks HTTP
  const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  EXPECT_FALSE(to_plain->feed_cipher(answer, sizeof answer - 1));
  EXPECT_EQ(to_plain->error(), "TLS handshake failed: wrong version number (does localhost speak TLS on this port?)");

  Pair p = connect(client_ctx(), server_ctx());  // established, then a forged record
  ASSERT_TRUE(p.server->handshake_done());
  const char forged[] = "\x17\x03\x03\x00\x20 thirty-two bytes of no cipher!!";
  p.server->feed_cipher(forged, sizeof forged - 1);
  char buf[64];
  EXPECT_EQ(p.server->read_plain(buf, sizeof buf), 0u);
  EXPECT_TRUE(p.server->failed());
  EXPECT_NE(p.server->error().find("TLS read failed: "), std::string::npos) << p.server->error();
}

TEST_F(Tls, BadFilesAreNamedInTheError) {
  std::string err;
  EXPECT_FALSE(TlsServerContext::create(path("missing.pem"), path("server.key"), err));
  EXPECT_EQ(err, "TLS certificate file " + path("missing.pem") + ": No such file or directory");
  EXPECT_FALSE(TlsServerContext::create(path("server.key"), path("server.key"), err));
  EXPECT_EQ(err.rfind("TLS certificate file " + path("server.key") + ": ", 0), 0u) << err;
  EXPECT_FALSE(TlsServerContext::create(path("server.pem"), path("self.key"), err));
  EXPECT_EQ(err.rfind("TLS key file " + path("self.key") + " (for " + path("server.pem") + "): ", 0), 0u) << err;
  EXPECT_NE(err.find("mismatch"), std::string::npos) << err;

  TlsClientOptions o;
  o.ca_file = path("nope.pem");
  EXPECT_FALSE(TlsClientContext::create(o, err));
  EXPECT_EQ(err, "TLS CA file " + path("nope.pem") + ": No such file or directory");
  o.ca_file = path("server.key");
  EXPECT_FALSE(TlsClientContext::create(o, err));
  EXPECT_EQ(err.rfind("TLS CA file " + path("server.key") + ": ", 0), 0u) << err;
}

// ---- over real loopback sockets ----

bool set_nonblocking(int fd) { return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0; }

UniqueFd connect_loopback(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || !set_nonblocking(fd.get())) {
    return UniqueFd();
  }
  return fd;
}

// One engine on one socket: sends what it has queued, reads at most a random
// small number of bytes at a time (so records arrive split), keeps the plaintext.
struct SocketEnd {
  UniqueFd fd;
  std::unique_ptr<TlsEngine> tls;
  std::string got;
  bool eof = false;
  bool broken = false;

  void step(std::mt19937& rng) {
    for (std::string_view v = tls->pending_cipher(); !v.empty(); v = tls->pending_cipher()) {
      ssize_t n = send(fd.get(), v.data(), v.size(), MSG_NOSIGNAL);
      if (n < 0) {
        broken |= errno != EAGAIN;
        break;
      }
      tls->consume_cipher(static_cast<size_t>(n));
    }
    char buf[700];
    size_t want = std::uniform_int_distribution<size_t>(1, sizeof buf)(rng);
    ssize_t n = eof ? 0 : recv(fd.get(), buf, want, 0);
    if (n > 0) tls->feed_cipher(buf, static_cast<size_t>(n));
    if (n == 0) eof = true;
    if (n < 0) broken |= errno != EAGAIN;
    got += read_all(*tls);
  }
};

// Steps the ends until done() or 10 s pass; false on timeout.
bool drive(std::vector<SocketEnd*> ends, const std::function<bool()>& done) {
  std::mt19937 rng(99);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::vector<pollfd> fds;
    for (SocketEnd* e : ends) fds.push_back({e->fd.get(), POLLIN, 0});
    poll(fds.data(), fds.size(), 5);
    for (SocketEnd* e : ends) e->step(rng);
  }
  return true;
}

// The end of s_server -www's status page (or of the attempt).
bool page_done(const SocketEnd& c) {
  return c.got.find("</HTML>") != std::string::npos || c.eof || c.broken || c.tls->failed();
}

// openssl s_server on 127.0.0.1 and a port of its choosing; stopped with the object.
class SServer {
 public:
  bool start(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("openssl", argv.data());
      _exit(127);
    }
    close(out[1]);
    UniqueFd reader(out[0]);
    std::string text;
    while (port_ == 0) {  // it prints "ACCEPT 127.0.0.1:PORT" once listening
      pollfd p{reader.get(), POLLIN, 0};
      char buf[256];
      ssize_t n = poll(&p, 1, 5000) == 1 ? read(reader.get(), buf, sizeof buf) : 0;
      if (n <= 0) return false;
      text.append(buf, static_cast<size_t>(n));
      size_t at = text.find("ACCEPT 127.0.0.1:");
      size_t eol = at == std::string::npos ? at : text.find('\n', at);
      if (eol != std::string::npos) port_ = std::atoi(text.c_str() + at + 17);
    }
    return true;
  }
  int port() const { return port_; }
  ~SServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST_F(Tls, ClientEngineTalksToOpensslSServerOverASocket) {
  SServer srv;
  ASSERT_TRUE(srv.start({"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", path("server.pem"), "-key",
                         path("server.key"), "-www", "-naccept", "1", "-alpn", "http/1.1"}));
  SocketEnd c{connect_loopback(srv.port()), TlsEngine::client(client_ctx(), "localhost"), {}, false, false};
  ASSERT_TRUE(c.fd);
  const char get[] = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_TRUE(c.tls->write_plain(get, sizeof get - 1));  // before the handshake: held, then sent
  bool answered = drive({&c}, [&] { return page_done(c); });
  EXPECT_TRUE(answered) << "s_server did not answer within 10 s";
  EXPECT_FALSE(c.tls->failed()) << c.tls->error();
  EXPECT_TRUE(c.tls->handshake_done());
  EXPECT_EQ(c.tls->alpn(), "http/1.1");
  EXPECT_EQ(c.got.rfind("HTTP/1.0 200 ok\r\n", 0), 0u) << c.got.substr(0, 200);
  c.tls->shutdown();  // s_server answers close_notify with its own, then closes
  EXPECT_TRUE(drive({&c}, [&] { return c.eof || c.broken || c.tls->failed(); }));
  EXPECT_TRUE(c.tls->peer_closed());
  EXPECT_FALSE(c.tls->failed()) << c.tls->error();
}

TEST_F(Tls, Tls12SessionResumesAgainstOpensslSServer) {
  SServer srv;
  ASSERT_TRUE(srv.start({"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", path("server.pem"), "-key",
                         path("server.key"), "-www", "-naccept", "2", "-tls1_2"}));
  auto clients = client_ctx();
  for (int i = 0; i < 2; ++i) {
    SocketEnd c{connect_loopback(srv.port()), TlsEngine::client(clients, "localhost"), {}, false, false};
    ASSERT_TRUE(c.fd);
    ASSERT_TRUE(c.tls->write_plain("GET / HTTP/1.0\r\n\r\n", 18));
    EXPECT_TRUE(drive({&c}, [&] { return page_done(c); }));
    EXPECT_FALSE(c.tls->failed()) << c.tls->error();
    EXPECT_NE(c.got.find("Protocol  : TLSv1.2"), std::string::npos) << c.got.substr(0, 400);
    EXPECT_EQ(c.tls->session_reused(), i == 1) << "connection " << i;
    EXPECT_NE(c.got.find(i == 1 ? "Reused, TLSv1.2" : "New, TLSv1.2"), std::string::npos) << "as s_server saw it";
  }
}

TEST_F(Tls, EnginesTalkOverALoopbackSocketWithPartialReads) {
  UniqueFd listener(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(listener.get(), 1), 0);
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  SocketEnd c{connect_loopback(ntohs(a.sin_port)), TlsEngine::client(client_ctx(), "localhost"), {}, false, false};
  SocketEnd s{UniqueFd(accept(listener.get(), nullptr, nullptr)), TlsEngine::server(server_ctx()), {}, false, false};
  ASSERT_TRUE(c.fd && s.fd && set_nonblocking(s.fd.get()));

  std::mt19937 rng(5);
  std::string up(256 << 10, '\0'), down(300 << 10, '\0');
  for (char& ch : up) ch = static_cast<char>(rng());
  for (char& ch : down) ch = static_cast<char>(rng());
  ASSERT_TRUE(c.tls->write_plain(up.data(), up.size()));
  ASSERT_TRUE(drive({&c, &s}, [&] { return s.tls->handshake_done() || s.tls->failed(); }));
  ASSERT_TRUE(s.tls->write_plain(down.data(), down.size()));
  bool finished = drive(
      {&c, &s}, [&] { return (c.got.size() >= down.size() && s.got.size() >= up.size()) || c.broken || s.broken; });
  EXPECT_TRUE(finished);
  EXPECT_TRUE(s.got == up) << "client to server: " << s.got.size() << " of " << up.size();
  EXPECT_TRUE(c.got == down) << "server to client: " << c.got.size() << " of " << down.size();

  c.tls->shutdown();
  EXPECT_TRUE(drive({&c, &s}, [&] { return s.tls->peer_closed() || s.broken; }));
  EXPECT_TRUE(s.tls->peer_closed());
  EXPECT_FALSE(c.tls->failed() || s.tls->failed()) << c.tls->error() << s.tls->error();
}

}  // namespace
