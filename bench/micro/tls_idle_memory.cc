// What an idle established TLS connection holds, measured, not asserted: N engine
// pairs finish a handshake and one small exchange (a 1 KiB request, a 4 KiB answer),
// one side of each pair is dropped, and what the other side keeps allocated is
// divided by N. Two counts: OpenSSL's own allocations (exact, through CRYPTO_set_mem_functions)
// and the whole heap (glibc mallinfo2, includes the engines and their buffers).
// Usage: tls-idle-memory [N]  (openssl CLI needed for the certificates)
#include <malloc.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "corral/transport/tls.h"

using namespace corral::transport;

namespace {

std::atomic<long> openssl_live{0};
constexpr size_t kHeader = 16;  // keeps the size, and malloc's alignment

void* counted_malloc(size_t n, const char*, int) {
  auto* h = static_cast<size_t*>(std::malloc(n + kHeader));
  if (h == nullptr) return nullptr;
  *h = n;
  openssl_live += static_cast<long>(n);
  return reinterpret_cast<char*>(h) + kHeader;
}

void counted_free(void* p, const char*, int) {
  if (p == nullptr) return;
  auto* h = reinterpret_cast<size_t*>(static_cast<char*>(p) - kHeader);
  openssl_live -= static_cast<long>(*h);
  std::free(h);
}

void* counted_realloc(void* p, size_t n, const char* f, int l) {
  if (p == nullptr) return counted_malloc(n, f, l);
  auto* h = reinterpret_cast<size_t*>(static_cast<char*>(p) - kHeader);
  size_t old = *h;
  auto* g = static_cast<size_t*>(std::realloc(h, n + kHeader));
  if (g == nullptr) return nullptr;
  *g = n;
  openssl_live += static_cast<long>(n) - static_cast<long>(old);
  return reinterpret_cast<char*>(g) + kHeader;
}

struct Usage {
  long openssl, heap;
};
Usage now() { return {openssl_live.load(), static_cast<long>(mallinfo2().uordblks)}; }

void move_cipher(TlsEngine& from, TlsEngine& to) {
  for (std::string_view v = from.pending_cipher(); !v.empty(); v = from.pending_cipher()) {
    to.feed_cipher(v.data(), v.size());
    from.consume_cipher(v.size());
  }
}

void drain(TlsEngine& e) {
  char buf[8192];
  while (e.read_plain(buf, sizeof buf) > 0) {
  }
}

bool exchange(TlsEngine& c, TlsEngine& s) {
  std::string request(1024, 'q'), answer(4096, 'a');
  c.write_plain(request.data(), request.size());
  for (int i = 0; i < 10; ++i) {
    move_cipher(c, s);
    drain(s);
    if (s.handshake_done() && !request.empty()) {
      s.write_plain(answer.data(), answer.size());
      request.clear();
    }
    move_cipher(s, c);
    drain(c);
  }
  return c.handshake_done() && !c.failed() && c.pending_cipher().empty();
}

// alternate: every connection to another host than the last, so none is resumed.
void measure(const char* label, std::shared_ptr<TlsClientContext> clients, std::shared_ptr<TlsServerContext> servers,
             int n, bool alternate, bool keep_server) {
  std::vector<std::unique_ptr<TlsEngine>> kept;
  Usage before = now();
  int reused = 0;
  for (int i = 0; i < n; ++i) {
    auto c = TlsEngine::client(clients, alternate && i % 2 ? "127.0.0.1" : "localhost");
    auto s = TlsEngine::server(servers);
    if (!exchange(*c, *s)) {
      std::fprintf(stderr, "connection %d failed: %s\n", i, c->error().c_str());
      std::exit(1);
    }
    reused += c->session_reused();
    kept.push_back(keep_server ? std::move(s) : std::move(c));
  }
  Usage after = now();
  std::printf("%-34s %6d conns (%4d resumed): OpenSSL %6ld B/conn, heap %6ld B/conn (sizeof TlsEngine %zu)\n", label, n,
              reused, (after.openssl - before.openssl) / n, (after.heap - before.heap) / n, sizeof(TlsEngine));
}

}  // namespace

int main(int argc, char** argv) {
  // Before OpenSSL allocates anything, so every byte it holds is counted.
  CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free);
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;

  char tmpl[] = "/tmp/corral-tls-mem-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string cmd = "cd " + dir +
                    " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem"
                    " -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 > log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "openssl could not make a certificate (see %s/log)\n", dir.c_str());
    return 1;
  }
  std::string err;
  Usage base = now();
  auto servers = TlsServerContext::create(dir + "/c.pem", dir + "/k.pem", err);
  Usage server_ctx = now();
  TlsClientOptions with_file;
  with_file.ca_file = dir + "/c.pem";
  auto clients = TlsClientContext::create(with_file, err);
  Usage client_ctx = now();
  auto system_store = TlsClientContext::create(TlsClientOptions{}, err);
  Usage system_ctx = now();
  if (!servers || !clients || !system_store) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  std::printf("server context:                     OpenSSL %7ld B, heap %7ld B\n", server_ctx.openssl - base.openssl,
              server_ctx.heap - base.heap);
  std::printf("client context, ca_file:            OpenSSL %7ld B, heap %7ld B\n",
              client_ctx.openssl - server_ctx.openssl, client_ctx.heap - server_ctx.heap);
  std::printf("client context, system store:       OpenSSL %7ld B, heap %7ld B\n",
              system_ctx.openssl - client_ctx.openssl, system_ctx.heap - client_ctx.heap);

  measure("idle client engine, full handshake", clients, servers, n, true, false);
  measure("idle client engine, resumed", clients, servers, n, false, false);
  measure("idle server engine, full handshake", clients, servers, n, true, true);
  measure("idle server engine, resumed", clients, servers, n, false, true);
  std::filesystem::remove_all(dir);
  return 0;
}
