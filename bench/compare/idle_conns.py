#!/usr/bin/env python3
"""idle_conns.py PORT N[,N2,...] [--hold SECONDS] [--budget SECONDS]

Opens N keep-alive connections to 127.0.0.1:PORT, sends one `GET / HTTP/1.1`
on each, reads each whole response, then holds them all idle. Prints
"ready N" when all are idle (or "error: ..." and exits 1), and keeps them open
until SIGTERM/SIGINT arrives or --hold seconds pass, then prints how many the
server had closed meanwhile. Closes with RST (SO_LINGER 0) so the run leaves
no TIME_WAIT behind. Raises its own RLIMIT_NOFILE to the hard limit.

With several counts (ascending), it stops at each: "ready N", then holds until
SIGUSR1 (open more, up to the next count), SIGTERM/SIGINT or --hold seconds;
--budget applies to each step. The caller samples the server between steps.
"""
import argparse, resource, select, signal, socket, struct, sys, time

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: corral-bench-idle\r\n\r\n"


def response_done(buf):
    """True once buf holds a whole response with a Content-Length or chunked body."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].lower()
    body = buf[head_end + 4:]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return len(body) >= int(value.strip())
        if name.strip() == b"transfer-encoding" and b"chunked" in value:
            return body.endswith(b"0\r\n\r\n")
    return True


def open_batch(port, n, deadline):
    socks, bufs = [], {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=max(0.1, deadline - time.time()))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(REQ)
        s.setblocking(False)
        socks.append(s)
        bufs[s.fileno()] = b""
    pending = {s.fileno(): s for s in socks}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    while pending:
        left = deadline - time.time()
        if left <= 0:
            raise RuntimeError("%d responses still missing at the deadline" % len(pending))
        for fd, _ in poller.poll(left * 1000):
            chunk = pending[fd].recv(65536)
            if not chunk:
                raise RuntimeError("server closed a connection before answering")
            bufs[fd] += chunk
            if not bufs[fd].startswith(b"HTTP/1.1 200"):
                if len(bufs[fd]) >= 12:
                    raise RuntimeError("unexpected response: %r" % bufs[fd][:80])
                continue
            if response_done(bufs[fd]):
                poller.unregister(fd)
                del pending[fd]
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", help="connections to hold, or ascending counts to stop at: 1000,5000,9900")
    ap.add_argument("--hold", type=float, default=60, help="give up holding after this many seconds")
    ap.add_argument("--budget", type=float, default=30, help="seconds allowed to open all connections")
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    try:
        steps = [int(x) for x in args.n.split(",")]
    except ValueError:
        steps = []
    if not steps or steps[0] <= 0 or steps != sorted(set(steps)):
        print("error: N must be a positive count or ascending counts: %s" % args.n, flush=True)
        return 1

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < steps[-1] + 64:
        print("error: RLIMIT_NOFILE hard limit %d is below %d connections" % (hard, steps[-1]), flush=True)
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stop, more = [], []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGUSR1, lambda *_: more.append(1))

    socks = []
    for step in steps:
        deadline = time.time() + args.budget
        try:
            while len(socks) < step:
                socks += open_batch(args.port, min(args.batch, step - len(socks)), deadline)
        except (OSError, RuntimeError) as e:
            print("error: after %d connections: %s" % (len(socks), e), flush=True)
            return 1
        print("ready %d" % len(socks), flush=True)
        end = time.time() + args.hold
        while not stop and not more and time.time() < end:
            time.sleep(0.02)
        if stop or not more:
            break
        more.clear()
    # Still open? Count connections the server closed while we held them.
    closed = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print("released %d (%d closed by the server while held)" % (len(socks), closed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
