// TLS engine costs, client and server in one process over memory: a record
// encrypted by one engine and decrypted by the other (1 KiB, 16 KiB), and a whole
// handshake (both sides' CPU), full or resumed, with an EC P-256 or an RSA-2048
// server key. Certificates are made by the openssl CLI into a temp dir.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "corral/transport/tls.h"

using namespace corral::transport;

namespace {

const char* kMakeCerts = R"(set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ca
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
for k in "ec -pkeyopt ec_paramgen_curve:P-256" "rsa:2048"; do
  n=$(echo $k | cut -c1-2)
  openssl req -newkey $k -nodes -keyout $n.key -out $n.csr -subj /CN=localhost
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out $n.pem
done
)";

struct Certs {
  std::string dir;
  Certs() {
    char tmpl[] = "/tmp/corral-tls-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    std::ofstream(dir + "/make.sh") << kMakeCerts;
    std::string cmd = "cd " + dir + " && sh make.sh > make.log 2>&1";
    if (std::system(cmd.c_str()) != 0) dir.clear();
  }
  ~Certs() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

const Certs& certs() {
  static Certs c;
  return c;
}

std::shared_ptr<TlsServerContext> server_ctx(const char* key_type) {
  std::string err, d = certs().dir;
  return TlsServerContext::create(d + "/" + key_type + ".pem", d + "/" + key_type + ".key", err);
}

std::shared_ptr<TlsClientContext> client_ctx() {
  TlsClientOptions o;
  o.ca_file = certs().dir + "/ca.pem";
  std::string err;
  return TlsClientContext::create(o, err);
}

void move_cipher(TlsEngine& from, TlsEngine& to) {
  for (std::string_view v = from.pending_cipher(); !v.empty(); v = from.pending_cipher()) {
    to.feed_cipher(v.data(), v.size());
    from.consume_cipher(v.size());
  }
}

size_t drain(TlsEngine& e, std::vector<char>& buf) {
  size_t total = 0;
  while (size_t n = e.read_plain(buf.data(), buf.size())) total += n;
  return total;
}

// Handshake to the end, the client having read the tickets that follow it.
bool handshake(TlsEngine& c, TlsEngine& s, std::vector<char>& buf) {
  for (int i = 0; i < 10 && !(c.handshake_done() && s.handshake_done() && s.pending_cipher().empty()); ++i) {
    move_cipher(c, s);
    move_cipher(s, c);
    drain(c, buf);
  }
  return c.handshake_done() && s.handshake_done();
}

bool ready(benchmark::State& state) {
  if (!certs().dir.empty()) return true;
  state.SkipWithError("openssl could not make the certificates");
  return false;
}

}  // namespace

static void BM_TlsRecordEncryptDecrypt(benchmark::State& state) {
  if (!ready(state)) return;
  std::vector<char> buf(64 << 10);
  auto c = TlsEngine::client(client_ctx(), "localhost");
  auto s = TlsEngine::server(server_ctx("ec"));
  if (!handshake(*c, *s, buf)) return state.SkipWithError("handshake failed");
  std::string record(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    c->write_plain(record.data(), record.size());
    move_cipher(*c, *s);
    benchmark::DoNotOptimize(drain(*s, buf));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * record.size()));
}
BENCHMARK(BM_TlsRecordEncryptDecrypt)->Arg(1 << 10)->Arg(16 << 10);

// Arg 0: EC P-256 server key, 1: RSA-2048. Alternating the host defeats the client
// context's session (it is offered only to the host it came from).
static void BM_TlsHandshakeFull(benchmark::State& state) {
  if (!ready(state)) return;
  std::vector<char> buf(16 << 10);
  auto clients = client_ctx();
  auto servers = server_ctx(state.range(0) == 0 ? "ec" : "rs");
  const char* hosts[] = {"localhost", "127.0.0.1"};
  size_t i = 0;
  for (auto _ : state) {
    auto c = TlsEngine::client(clients, hosts[i++ % 2]);
    auto s = TlsEngine::server(servers);
    if (!handshake(*c, *s, buf) || c->session_reused()) return state.SkipWithError("not a full handshake");
  }
}
BENCHMARK(BM_TlsHandshakeFull)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

static void BM_TlsHandshakeResumed(benchmark::State& state) {
  if (!ready(state)) return;
  std::vector<char> buf(16 << 10);
  auto clients = client_ctx();
  auto servers = server_ctx(state.range(0) == 0 ? "ec" : "rs");
  {
    auto c = TlsEngine::client(clients, "localhost");
    auto s = TlsEngine::server(servers);
    handshake(*c, *s, buf);
  }
  for (auto _ : state) {
    auto c = TlsEngine::client(clients, "localhost");
    auto s = TlsEngine::server(servers);
    if (!handshake(*c, *s, buf) || !c->session_reused()) return state.SkipWithError("not resumed");
  }
}
BENCHMARK(BM_TlsHandshakeResumed)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
