// A byte stream under corral's HTTP code, as haproxy's xprt_ops: plain TCP or
// TLS behind one table of operations. The plain one hands the loop's receive
// buffers straight up (zero copy); TLS decrypts into buffers of its own. Only
// transports touch a socket's loop; everything above sees bytes and events.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "corral/core/loop.h"

namespace corral::core {
struct SockAddr;
}

namespace corral::transport {

class TransportUser {
 public:
  virtual void on_connected(int err) = 0;     // 0, or -errno (a TLS failure: -EPROTO, error() says why)
  virtual void on_data(core::IoBuf buf) = 0;  // give buf back with buf.release() once done with it
  virtual void on_eof(int err) = 0;           // 0: the peer closed; else -errno
  virtual void on_sent(int err) = 0;
  virtual void on_closed() = 0;  // the transport may be destroyed now

 protected:
  ~TransportUser() = default;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Connects (and handshakes); the address must outlive the connect. 0, or
  // -errno when no socket could be made; on_connected reports the rest.
  virtual int connect(const core::SockAddr& addr) = 0;
  virtual void send(const char* p, uint32_t n) = 0;  // one at a time; on_sent once all is sent
  virtual void pause() = 0;                          // stop reading; data in flight may still arrive
  virtual void resume() = 0;                         // read again (no-op when reading)
  virtual void refresh_read() = 0;                   // while reading: core::Loop::refresh_read
  virtual void close() = 0;                          // on_closed follows once the loop let go
  virtual bool is_open() const = 0;
  virtual bool connecting() const = 0;  // connect (or handshake) not finished
  virtual bool send_busy() const = 0;
  virtual int fd() const = 0;
  virtual std::string_view error() const { return {}; }  // the last failure, beyond errno
  void set_user(TransportUser* u) { user_ = u; }

 protected:
  TransportUser* user_ = nullptr;
};

class PlainBuffers;
class TlsClientContext;
class TlsServerContext;

// Plain TCP on the loop: a new outgoing stream, or an accepted socket (reading at once).
std::unique_ptr<Transport> plain(core::Loop& loop);
std::unique_ptr<Transport> plain_accepted(core::Loop& loop, int fd, TransportUser* user);
// TLS: to a backend (on_connected once the handshake is done, -EPROTO when it
// failed, with error() saying why), or corral's own TLS listener's side of an
// accepted socket. Plaintext comes up in `plain`'s buffers.
std::unique_ptr<Transport> tls_client(core::Loop& loop, PlainBuffers& plain, std::shared_ptr<TlsClientContext> ctx,
                                      std::string_view host);
std::unique_ptr<Transport> tls_accepted(core::Loop& loop, PlainBuffers& plain, std::shared_ptr<TlsServerContext> ctx,
                                        int fd, TransportUser* user);

}  // namespace corral::transport
