"""Raw-socket traffic for bench/soak/run: the parts of the mix corral-load does
not make (clients that abort, malformed requests, backend faults, slow heads).
Each driver runs in its own thread until stop is set and counts what it saw."""

import random
import socket
import threading
import time

STREAM_BODY = b'{"model":"llama3.2","prompt":"tell me a long story"}'

# Requests RFC 9112 says a server must reject (or that corral's limits refuse): each is
# answered with a 4xx and the connection is closed.
MALFORMED = [
    b"GET / HTTP/1.1\r\n\r\n",                                                         # no Host
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                                   # two Hosts
    b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /api/generate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",                          # obs-fold
    b"GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"NOT-HTTP AT ALL\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",             # header too large
]


class Counts:
    """Outcome counters shared by a driver's threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self.values = {}

    def add(self, key, n=1):
        with self._lock:
            self.values[key] = self.values.get(key, 0) + n

    def snapshot(self):
        with self._lock:
            return dict(self.values)


def _connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def _post(path, body, headers=()):
    head = "POST %s HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n" % path
    head += "Content-Length: %d\r\n" % len(body)
    for h in headers:
        head += h + "\r\n"
    return head.encode() + b"\r\n" + body


def _read_until(s, needle, limit=1 << 20):
    got = b""
    while needle not in got and len(got) < limit:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def _read_response(s, limit=1 << 22):
    """One response: (status, body bytes, complete). Content-Length, chunked, or to the close."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            return (int(got[9:12]) if got.startswith(b"HTTP/1.") and len(got) >= 12 else 0), b"", False
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head[9:12]) if head.startswith(b"HTTP/1.") else 0
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().lower()
    if b"content-length" in fields:
        want = int(fields[b"content-length"])
        while len(body) < want:
            chunk = s.recv(65536)
            if not chunk:
                return status, body, False
            body += chunk
        return status, body, True
    chunked = b"chunked" in fields.get(b"transfer-encoding", b"")
    while len(body) < limit and not (chunked and (body.startswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in body)):
        chunk = s.recv(65536)
        if not chunk:
            return status, body, not chunked
        body += chunk
    return status, body, True


def aborting_clients(port, stop, counts, pause_s):
    """Clients that give up: after the first token (FIN or RST), mid-head, mid-body, right after connecting."""
    rng = random.Random()
    while not stop.is_set():
        kind = rng.choice(["stream_fin", "stream_rst", "mid_head", "mid_body", "connect_only"])
        try:
            s = _connect(port)
            if kind.startswith("stream"):
                s.sendall(_post("/api/generate", STREAM_BODY, ["X-Sim-Tokens: 500", "X-Sim-Token-Delay-Ms: 20"]))
                if b"token0" not in _read_until(s, b"token0"):
                    counts.add("unexpected")
            elif kind == "mid_head":
                s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: soak\r\nContent-Le")
            elif kind == "mid_body":
                s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: soak\r\nContent-Length: 500\r\n\r\n{\"model\":")
            if kind.endswith("rst") or rng.random() < 0.5:
                _reset(s)
            else:
                s.close()
            counts.add(kind)
        except OSError:
            counts.add("socket_error")
        stop.wait(pause_s)


def malformed_clients(port, stop, counts, pause_s):
    """Requests corral must refuse: each must get a 4xx and a close."""
    i = 0
    while not stop.is_set():
        raw = MALFORMED[i % len(MALFORMED)]
        i += 1
        try:
            s = _connect(port)
            try:
                s.sendall(raw)
            except OSError:
                pass  # corral may answer and close before the whole of a huge head is sent
            status, _, _ = _read_response(s)
            s.close()
            # A 2xx here is a request RFC 9112 says must be refused that was not (it went to a backend).
            counts.add("refused_4xx" if 400 <= status < 500 else "not_refused_%d" % status)
        except OSError:
            counts.add("socket_error")
        stop.wait(pause_s)


FAULTS = [
    ("reset", "2"), ("close", "2"), ("half-close", "2"), ("garbage", "2"),
    ("reset", "mid-head"), ("garbage", "0"), ("close", "0"),
]


def backend_faults(port, stop, counts, pause_s):
    """Requests whose backend misbehaves (corral-sim X-Sim-Fault): a 502 before the head, a cut stream after it."""
    i = 0
    while not stop.is_set():
        fault, at = FAULTS[i % len(FAULTS)]
        i += 1
        try:
            s = _connect(port, timeout=30.0)
            s.sendall(_post("/api/generate", STREAM_BODY,
                            ["X-Sim-Fault: " + fault, "X-Sim-Fault-At: " + at, "X-Sim-Tokens: 10"]))
            status, _, complete = _read_response(s)
            s.close()
            if at in ("0", "mid-head"):
                counts.add("error_%d" % status if status >= 500 else "unexpected_%d" % status)
            else:
                counts.add("cut_stream" if status == 200 and not complete else "unexpected_%d" % status)
        except OSError:
            counts.add("socket_error")
        stop.wait(pause_s)


def slow_heads(port, stop, counts, conns, header_timeout_s):
    """A few clients sending their heads a byte at a time: each must end with a 408."""
    while not stop.is_set():
        socks = []
        for _ in range(conns):
            try:
                s = _connect(port, timeout=header_timeout_s + 10)
                s.sendall(b"GET /api/version HTTP/1.1\r\nHo")
                socks.append(s)
            except OSError:
                counts.add("socket_error")
        deadline = time.monotonic() + header_timeout_s - 1
        while time.monotonic() < deadline and not stop.is_set():
            for s in socks:
                try:
                    s.send(b"s")
                except OSError:
                    pass
            stop.wait(0.5)
        for s in socks:
            try:
                status, _, _ = _read_response(s)
                counts.add("got_408" if status == 408 else "unexpected_%d" % status)
            except OSError:
                counts.add("socket_error")
            s.close()
