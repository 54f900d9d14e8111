#!/usr/bin/env python3
"""Helpers for bench/compare/run (which does the orchestration in bash).

  util.py ports N                      N distinct free 127.0.0.1 TCP ports
  util.py stat                         busy and total CPU ticks since boot
  util.py others STAT TIMESFILE [TIMES0FILE EXTRA_S]
                                       percent of the CPU used by other processes since the
                                       `stat` reading STAT; TIMESFILE holds bash's `times`; with
                                       TIMES0FILE (`times` at the STAT reading) and EXTRA_S (CPU
                                       seconds of our processes still running), for a span
  util.py wrk FILE                     wrk output (with --latency and latency.lua) as JSON
  util.py report OUTPREFIX KVFILE... -- key=value...
                                       print the table and ratios; write OUTPREFIX.json/.md.
                                       One KVFILE per target and round, key=value lines: name,
                                       round, position, round_cpu_others_pct, rss_idle_mib,
                                       rss_before_hold_mib, rss_conns_mib, idle_rss_N_mib (per idle
                                       level), cpu_c64_s, conns_closed, the wrk outputs c1, c64,
                                       reuse_load, reuse_conns, reuse_requests, with --scale
                                       scale_cN (wrk output), scale_cpu_cN_s, scale_rss_cN_mib,
                                       scale_origin_conns_cN, and with --stream the corral-load
                                       JSON stream, stream_cpu_s, hold_rss_before_mib, hold_rss_mib,
                                       hold_open; the rest is meta.

Each round's numbers are flattened to one dict per target (metrics()), ratios are taken within
the round (pair_ratios()), and the report shows medians and [min-max] over the rounds (spread()).
"""
import json, os, re, socket, statistics, sys

# ---------------------------------------------------------------- processes


def cpu_stat():
    """(busy, total) clock ticks over all CPUs since boot; busy = user + nice + system.
    irq/softirq are left out of busy: a process's own rusage does not include them."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return v[0] + v[1] + v[2], sum(v)


def others_pct(start, ours_s):
    """Percent of the machine's CPU used by processes other than ours since the
    cpu_stat() reading start, given our own user+system seconds over the same span."""
    tick = os.sysconf("SC_CLK_TCK")
    b0, t0 = (int(x) for x in start.split())
    b1, t1 = cpu_stat()
    if t1 <= t0:
        return 0.0
    return max(0.0, (b1 - b0) / tick - ours_s) / ((t1 - t0) / tick) * 100


def bash_times_seconds(text):
    """Sum of every figure in the output of bash's `times` (shell and children, user and system)."""
    total = 0.0
    for m, sec in re.findall(r"(\d+)m([\d.]+)s", text):
        total += int(m) * 60 + float(sec)
    return total


def free_ports(n):
    """n distinct ports free on 127.0.0.1, taken below the ephemeral range so that no
    outgoing connection of the run (wrk, the idle clients, proxy to origin) can take
    one before its server binds it."""
    import random
    try:
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = list(range(max(1024, low - 12000), low))
    random.shuffle(candidates)
    ports = []
    for port in candidates:
        if len(ports) == n:
            break
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            ports.append(port)
        except OSError:
            pass
        finally:
            s.close()
    while len(ports) < n:  # range too small: let the kernel pick
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        if s.getsockname()[1] not in ports:
            ports.append(s.getsockname()[1])
        s.close()
    return ports


# ---------------------------------------------------------------- wrk


def read(path):
    with open(path) as f:
        return f.read()



UNITS_US = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_wrk(path):
    text = read(path)
    out = {}
    m = re.search(r"^WRKJSON (\{.*\})$", text, re.M)
    if m:
        out.update(json.loads(m.group(1)))
        out["rps"] = out["requests"] / (out["duration_us"] / 1e6) if out["duration_us"] else 0.0
        out["errors_total"] = sum(out["errors"].values())
    # wrk's own --latency distribution, kept as a cross-check (and the fallback).
    for pct, val, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M):
        out["wrk_p%s_us" % pct] = round(float(val) * UNITS_US[unit], 1)
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        out["wrk_rps"] = float(m.group(1))
    m = re.search(r"^\s+Non-2xx or 3xx responses: (\d+)", text, re.M)
    out["non_2xx"] = int(m.group(1)) if m else 0
    if "requests" not in out:
        if "wrk_rps" not in out:
            raise SystemExit("util.py: no wrk results in %s:\n%s" % (path, text[-2000:]))
        out.update(rps=out["wrk_rps"], p50_us=out.get("wrk_p50_us"), p99_us=out.get("wrk_p99_us"),
                   errors_total=out["non_2xx"])
    return out

# ---------------------------------------------------------------- record


def num(v):
    return round(float(v), 2)


def record(kv_path):
    """One target's results in one round, from its key=value file (raw values, parsed outputs)."""
    kv = dict(line.split("=", 1) for line in read(kv_path).splitlines() if "=" in line)
    r = {"target": kv.pop("name"), "round": int(kv.pop("round", 1)), "position": int(kv.pop("position", 1))}
    if kv.get("round_cpu_others_pct"):
        r["round_cpu_others_pct"] = float(kv.pop("round_cpu_others_pct"))
    for key in ("rss_idle_mib", "rss_conns_mib", "rss_before_hold_mib", "cpu_c64_s"):
        if kv.get(key):
            r[key] = num(kv.pop(key))
    if kv.get("conns_closed"):
        r["conns_closed_while_held"] = int(kv.pop("conns_closed"))
    for key in ("c1", "c64"):
        if kv.get(key):
            r[key] = parse_wrk(kv.pop(key))
    if "cpu_c64_s" in r and "c64" in r and r["c64"].get("requests"):
        r["cpu_us_per_req_c64"] = round(r.pop("cpu_c64_s") * 1e6 / r["c64"]["requests"], 2)
    idle = {int(m.group(1)): num(kv.pop(k)) for k in list(kv) for m in [re.fullmatch(r"idle_rss_(\d+)_mib", k)] if m}
    if idle:
        r["idle_rss_mib"] = {str(n): idle[n] for n in sorted(idle)}
    for c in sorted(int(m.group(1)) for k in list(kv) for m in [re.fullmatch(r"scale_c(\d+)", k)] if m):
        s = parse_wrk(kv.pop("scale_c%d" % c))
        cpu = float(kv.pop("scale_cpu_c%d_s" % c))
        s["cpu_us_per_req"] = round(cpu * 1e6 / s["requests"], 2) if s.get("requests") else None
        s["rss_mib"] = num(kv.pop("scale_rss_c%d_mib" % c))
        s["origin_conns"] = int(kv.pop("scale_origin_conns_c%d" % c))
        r.setdefault("scale", {})[str(c)] = s
    if kv.get("reuse_load"):
        r["reuse_load"] = json.loads(read(kv.pop("reuse_load")))
    if kv.get("reuse_conns"):
        conns, reqs = int(kv.pop("reuse_conns")), int(kv.pop("reuse_requests"))
        r["reuse"] = {"origin_conns": conns, "origin_requests": reqs,
                      "conns_per_10k_req": round(conns * 1e4 / reqs, 1) if reqs else None,
                      "reuse_pct": round(100 * (1 - conns / reqs), 2) if reqs else None}
    if kv.get("stream"):
        st = r["stream"] = json.loads(read(kv.pop("stream")))
        st["cpu_s"] = float(kv.pop("stream_cpu_s"))
        # chunks = tokens streamed (one NDJSON line each; the final "done" line not counted)
        st["cpu_ms_per_1k_chunks"] = round(st["cpu_s"] * 1e6 / st["tokens"], 3) if st["tokens"] else None
    if kv.get("hold_rss_mib"):
        h = r["hold"] = {"rss_before_mib": float(kv.pop("hold_rss_before_mib")),
                         "rss_mib": float(kv.pop("hold_rss_mib")), "open": int(kv.pop("hold_open"))}
        if h["open"]:
            h["kib_per_stream"] = round((h["rss_mib"] - h["rss_before_mib"]) * 1024 / h["open"], 2)
    r.update(kv)
    return r

# ---------------------------------------------------------------- metrics


def get(d, *path):
    """d[path[0]][path[1]]... or None where any step is missing."""
    for key in path:
        if not isinstance(d, dict) or d.get(key) is None:
            return None
        d = d[key]
    return d


def errors_of(r):
    n = sum(get(r, run, "errors_total") or 0 for run in ("c1", "c64"))
    n += sum(s.get("errors_total", 0) for s in r.get("scale", {}).values())
    return n + (get(r, "reuse_load", "errors") or 0)


def answered(run, key):
    """A wrk figure; no latency from a load that got no response (wrk reports 0)."""
    if not run:
        return None
    if key != "rps" and not run.get("requests"):
        return None
    return run.get(key)


def loads_of(r):
    """(label, concurrency, wrk results) of every load of one target."""
    out = [("c1", 1, r.get("c1")), ("c64", 64, r.get("c64"))]
    return out + [("c" + c, int(c), s) for c, s in r.get("scale", {}).items()]


def metrics(r, direct, conns):
    """One target's numbers in one round, flat: every column of the report, by name (None: not measured).
    direct: the same round's direct record (or None), for the added latencies."""
    m = {}
    for tag in ("c1", "c64"):
        for key in ("rps", "p50_us", "p99_us"):
            m["%s_%s" % (key, tag)] = answered(r.get(tag), key)
    for c, s in r.get("scale", {}).items():
        for key in ("rps", "p50_us", "p99_us"):
            m["%s_c%s" % (key, c)] = answered(s, key)
        m["cpu_us_per_req_c" + c] = s.get("cpu_us_per_req")
        m["rss_load_mib_c" + c] = s.get("rss_mib")
        m["origin_conns_c" + c] = s.get("origin_conns")
    m["cpu_us_per_req_c64"] = r.get("cpu_us_per_req_c64")
    m["rss_idle_mib"], m["rss_conns_mib"] = r.get("rss_idle_mib"), r.get("rss_conns_mib")
    m["rss_before_hold_mib"] = r.get("rss_before_hold_mib")
    if m["rss_conns_mib"] is not None and m["rss_before_hold_mib"] is not None and conns:
        # what the connections add: against the RSS right before they were opened (after the loads)
        m["kib_per_idle_conn"] = round((m["rss_conns_mib"] - m["rss_before_hold_mib"]) * 1024 / conns, 3)
    if m["rss_conns_mib"] is not None and m["rss_idle_mib"] is not None and conns:
        # as bench/compare reported it first: against the RSS right after start, so what the
        # loads before left allocated counts too
        m["kib_per_idle_conn_vs_start"] = round((m["rss_conns_mib"] - m["rss_idle_mib"]) * 1024 / conns, 3)
    idle = r.get("idle_rss_mib", {})
    for n, v in idle.items():
        m["rss_idle%s_mib" % n] = v
    if len(idle) > 1:
        lo, hi = min(idle, key=int), max(idle, key=int)
        m["kib_per_idle_conn_slope"] = round((idle[hi] - idle[lo]) * 1024 / (int(hi) - int(lo)), 3)
    m["conns_per_10k_req"] = get(r, "reuse", "conns_per_10k_req")
    m["reuse_pct"] = get(r, "reuse", "reuse_pct")
    m["errors"] = errors_of(r)
    if direct is not None and r is not direct:
        for p in ("p50", "p99"):
            a, d = get(r, "c1", p + "_us"), get(direct, "c1", p + "_us")
            m["added_%s_us_c1" % p] = a - d if a is not None and d is not None else None
    st, h = r.get("stream", {}), r.get("hold", {})
    if st:
        m["stream_tokens_per_s"] = st.get("tokens_per_second")
        for p in ("p50_us", "p99_us"):
            m["ttft_" + p] = get(st, "ttft", p)
            m["itl_" + p] = get(st, "itl", p)
        m["stream_cpu_ms_per_1k_chunks"] = st.get("cpu_ms_per_1k_chunks")
        m["stream_errors"] = st.get("errors")
        if direct is not None and r is not direct:
            for p in ("p50_us", "p99_us"):
                a, d = get(st, "ttft", p), get(direct, "stream", "ttft", p)
                m["added_ttft_" + p] = a - d if a is not None and d is not None else None
    if h:
        m["hold_rss_before_mib"], m["hold_rss_mib"] = h.get("rss_before_mib"), h.get("rss_mib")
        m["kib_per_stream"], m["hold_open"] = h.get("kib_per_stream"), h.get("open")
    return {k: v for k, v in m.items() if v is not None}


# Counts, not costs: no ratio is taken of these.
NOT_RATIOS = {"errors", "stream_errors", "hold_open", "reuse_pct"}


def pair_ratios(a, b):
    """a's metrics over b's, for every column both have. An added latency's ratio only
    when both are positive (a proxy faster than direct in one round is noise, not a ratio)."""
    out = {}
    for k, va in a.items():
        vb = b.get(k)
        if k in NOT_RATIOS or vb is None or not isinstance(va, (int, float)):
            continue
        if k.startswith("added_") and (va <= 0 or vb <= 0):
            continue
        if vb > 0:
            out[k] = round(va / vb, 4)
    return out


def spread(values):
    """Median and spread of one column over the rounds."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    out = {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values),
           "n": len(values), "values": values}
    if len(values) > 1:
        q = statistics.quantiles(values, n=4, method="inclusive")
        out["q1"], out["q3"] = round(q[0], 4), round(q[2], 4)
    return out

# ---------------------------------------------------------------- report

PROXIES = ("nginx", "haproxy", "corral", "corral-epoll", "corral-nometrics", "corral-noanalytics", "corral-baseline")
CORRALS = ("corral", "corral-epoll", "corral-nometrics", "corral-noanalytics", "corral-baseline")
PEERS = ("nginx", "haproxy")
SELF_PAIRS = (("corral", "corral-baseline", "the change against its baseline"),
              ("corral", "corral-nometrics", "cost of metrics"),
              ("corral", "corral-noanalytics", "cost of analytics"))


def pairs_of(targets):
    out = [(c, p, None) for c in CORRALS for p in PEERS if c in targets and p in targets]
    return out + [(a, b, what) for a, b, what in SELF_PAIRS if a in targets and b in targets]


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return [line(header), sep] + [line(r) for r in rows]


class View:
    """Formats the summary: a target's column as its median over the rounds, a ratio as its
    median with [min–max] once there is more than one round."""

    def __init__(self, summary, rounds):
        self.t, self.r, self.rounds = summary["targets"], summary["ratios"], rounds

    def v(self, target, key):
        return get(self.t, target, key, "median")

    def num(self, target, key, fmt="{:,.0f}"):
        v = self.v(target, key)
        return "-" if v is None else fmt.format(v)

    def lat(self, target, tag):
        a, b = self.v(target, "p50_us_" + tag), self.v(target, "p99_us_" + tag)
        return "-" if a is None or b is None else "%d / %d" % (a, b)

    def rps_lat(self, target, c):
        rps, p99 = self.v(target, "rps_c%s" % c), self.v(target, "p99_us_c%s" % c)
        if rps is None:
            return "-"
        return "{:,.0f} / {}".format(rps, "-" if p99 is None else "{:,.0f}".format(p99))

    def tail(self, s):
        """' [min–max]' of a spread over more than one round ('(n of N)' when rounds are missing)."""
        if s is None or self.rounds == 1:
            return ""
        if s["n"] == 1:
            return " (1 of %d rounds)" % self.rounds
        out = " [%s–%s]" % (self.fmt_x(s["min"], False), self.fmt_x(s["max"], False))
        return out + (" (%d of %d rounds)" % (s["n"], self.rounds) if s["n"] < self.rounds else "")

    @staticmethod
    def fmt_x(v, unit=True):
        return "%.2f%s" % (v, "x" if unit else "")

    def x(self, pair, key):
        s = get(self.r, pair, key)
        return "-" if s is None else self.fmt_x(s["median"]) + self.tail(s)

    def signed(self, target, key, scale=1.0, fmt="%+.0f"):
        s = get(self.t, target, key)
        if s is None:
            return "-"
        out = fmt % (s["median"] / scale)
        if self.rounds > 1:
            out += " [%s, %s]" % (fmt % (s["min"] / scale), fmt % (s["max"] / scale))
        return out

    def a_over_b(self, a, b, key, fmt, unit):
        """'A / B unit (ratio)': both targets' medians and the median of the per-round ratio."""
        va, vb = self.v(a, key), self.v(b, key)
        if va is None or vb is None:
            return "-"
        return "%s / %s %s (%s)" % (fmt % va, fmt % vb, unit, self.x("%s/%s" % (a, b), key))


def main_section(meta, rounds, view, targets):
    conns = int(meta.get("conns", 0))
    n = len(rounds)
    lines = ["# bench/compare %s" % meta.get("started", ""), ""]
    workers = int(meta.get("workers", 1))
    lines.append("Loopback, %s per proxy, each keeping up to %s idle origin connections per worker (nginx keepalive, "
                 "corral upstream.max_idle; haproxy: all); origin nginx (1 worker) returning a %s-byte JSON body; "
                 "wrk -t1, %s s per load after 1 s warm-up; %s idle keep-alive connections for memory.%s%s"
                 % ("one worker/thread" if workers == 1 else "%d workers/threads" % workers,
                    "{:,}".format(int(meta.get("upstream_idle", 64))),
                    meta.get("body_bytes", "?"), meta.get("seconds", "?"), "{:,}".format(conns),
                    " Every proxy pinned to CPUs 0..%d (--pin)." % (workers - 1) if meta.get("pinned") else "",
                    " (--quick)" if meta.get("quick") else ""))
    if n > 1:
        lines.append("%d rounds, targets interleaved (round r starts the list at its r-th target); each number "
                     "is the median over the rounds, each ratio the median of the per-round ratios, "
                     "[min–max] over the rounds." % n)
    busy = ", ".join("%.0f%%" % rr["cpu_others_pct"] for rr in rounds if rr.get("cpu_others_pct") is not None)
    lines.append("Host: %s, %s CPUs; other processes used %s%% of the CPU during the run%s. %s." % (
        meta.get("kernel", "?"), meta.get("cpus", "?"), meta.get("cpu_others_pct", "?"),
        " (by round: %s)" % busy if n > 1 and busy else "", meta.get("versions", "")))
    lines.append("")
    header = ["target", "rps c=1", "p50/p99 µs c=1", "rps c=64", "p50/p99 µs c=64", "RSS start MiB",
              "RSS before conns MiB", "RSS %s idle MiB" % "{:,}".format(conns), "KiB/idle conn",
              "KiB/idle conn vs start", "CPU µs/req c=64", "origin conns/10k req", "reuse %", "errors"]
    rows = []
    for t in targets:
        rows.append([t, view.num(t, "rps_c1"), view.lat(t, "c1"), view.num(t, "rps_c64"), view.lat(t, "c64"),
                     view.num(t, "rss_idle_mib", "{:.1f}"), view.num(t, "rss_before_hold_mib", "{:.1f}"),
                     view.num(t, "rss_conns_mib", "{:.1f}"), view.num(t, "kib_per_idle_conn", "{:.2f}"),
                     view.num(t, "kib_per_idle_conn_vs_start", "{:.2f}"), view.num(t, "cpu_us_per_req_c64", "{:.1f}"),
                     view.num(t, "conns_per_10k_req", "{:.1f}"), view.num(t, "reuse_pct", "{:.2f}"),
                     sum(rr["metrics"].get(t, {}).get("errors", 0) for rr in rounds)])
    lines += table(header, rows)
    lines.append("")
    lines.append("RSS sums every process of the target (nginx: master + workers); direct is the origin itself. "
                 "RSS start: right after start; before conns: after the loads, right before %s idle keep-alive "
                 "connections (one request each) are opened. KiB/idle conn = (RSS with them - RSS before) / %s: what "
                 "an idle connection holds; vs start = (RSS with them - RSS start) / %s, which also counts what the "
                 "loads left allocated. CPU is the target's own (direct: the origin's). Origin conns: connections the "
                 "origin accepted (stub_status) while %s small requests went through the target at c=64 after a "
                 "1,000-request warm-up, per 10,000 requests it served; reuse = 1 - conns / requests (direct: the "
                 "client's own connections). Errors: summed over the rounds."
                 % tuple(["{:,}".format(conns)] * 3 + ["{:,}".format(int(meta.get("reuse_requests", 0)))]))
    return lines


def ratio_section(view, pairs, targets):
    text = []
    for a, b, what in pairs:
        key = "%s/%s" % (a, b)
        label = "%s / %s" % (a, b)
        text.append("%-30s rps c=1 %s  rps c=64 %s  p99 c=1 %s  p99 c=64 %s%s" % (
            label, view.x(key, "rps_c1"), view.x(key, "rps_c64"), view.x(key, "p99_us_c1"),
            view.x(key, "p99_us_c64"), "  (%s)" % what if what else ""))
        text.append("%-30s CPU/req c=64 %s  RSS with conns %s  added p99 c=1 %s" % (
            "", view.x(key, "cpu_us_per_req_c64"), view.x(key, "rss_conns_mib"),
            view.a_over_b(a, b, "added_p99_us_c1", "%+.0f", "µs")))
        text.append("%-30s idle conn %s, vs start %s" % (
            "", view.a_over_b(a, b, "kib_per_idle_conn", "%.2f", "KiB"),
            view.a_over_b(a, b, "kib_per_idle_conn_vs_start", "%.2f", "KiB")))
    if not text:
        text.append("(no %s target in this run, so no corral / nginx or corral / haproxy ratios)" % (
            "nginx or haproxy" if any(c in targets for c in CORRALS) else "corral"))
    if "direct" in targets:
        text += ["", "Added latency vs direct at c=1 (p50 / p99, µs), and RSS per idle keep-alive connection (KiB; "
                 "vs start: against the RSS right after start):"]
        for name in PROXIES:
            if name in targets:
                text.append("  %-18s p50 %s   p99 %s   idle conn %s KiB, vs start %s" % (
                    name, view.signed(name, "added_p50_us_c1"), view.signed(name, "added_p99_us_c1"),
                    view.signed(name, "kib_per_idle_conn", fmt="%.2f"),
                    view.signed(name, "kib_per_idle_conn_vs_start", fmt="%.2f")))
    reuse = ["%s %s (%s%%)" % (t, view.num(t, "conns_per_10k_req"), view.num(t, "reuse_pct", "{:.2f}"))
             for t in targets if view.v(t, "conns_per_10k_req") is not None]
    if reuse:
        text += ["", "Origin connections per 10,000 requests (reuse %%): %s" % ", ".join(reuse)]
    lines = ["", "Ratios (higher rps is better; latency, CPU and RSS ratios lower is better):", ""]
    return lines + ["    " + t if t else "" for t in text]


def scale_section(meta, view, pairs, targets):
    clients = [c for c in meta.get("client_levels", "").split(",") if c]
    idle = [n for n in meta.get("idle_levels", "").split(",") if n]
    if not meta.get("scale") or len(clients) < 2:
        return []
    big = clients[-1]
    lines = ["", "Scale: rps / p99 µs by concurrent clients (wrk -t1; c=1 and c=64 are the main loads), the "
             "target's RSS halfway through the c=%s load, RSS with idle keep-alive connections held (one holder, "
             "levels one after another), and the KiB each idle connection adds between %s and %s:" % (
                 big, "{:,}".format(int(idle[0])), "{:,}".format(int(idle[-1]))), ""]
    header = (["target"] + ["c=%s" % c for c in clients] + ["RSS MiB c=%s" % big] +
              ["RSS MiB %s idle" % "{:,}".format(int(n)) for n in idle] + ["KiB/idle conn"])
    rows = []
    for t in targets:
        rows.append([t] + [view.rps_lat(t, c) for c in clients] + [view.num(t, "rss_load_mib_c" + big, "{:.1f}")] +
                    [view.num(t, "rss_idle%s_mib" % n, "{:.1f}") for n in idle] +
                    [view.num(t, "kib_per_idle_conn_slope", "{:.2f}")])
    lines += table(header, rows)
    text = []
    for a, b, what in pairs:
        key = "%s/%s" % (a, b)
        text.append("%-30s %s  %s" % ("%s / %s" % (a, b), "  ".join(
            "rps c=%s %s" % (c, view.x(key, "rps_c" + c)) for c in clients[2:]), "  ".join(
            "CPU/req c=%s %s" % (c, view.x(key, "cpu_us_per_req_c" + c)) for c in clients[2:])))
        text.append("%-30s %s  RSS c=%s %s  RSS %s idle %s  idle conn %s" % (
            "", "  ".join("p99 c=%s %s" % (c, view.x(key, "p99_us_c" + c)) for c in clients[2:]), big,
            view.x(key, "rss_load_mib_c" + big), "{:,}".format(int(idle[-1])), view.x(key, "rss_idle%s_mib" % idle[-1]),
            view.a_over_b(a, b, "kib_per_idle_conn_slope", "%.2f", "KiB")))
    if text:
        lines += [""] + ["    " + t if t else "" for t in text]
    return lines


def stream_section(meta, view, pairs, targets):
    """The --stream table (tokens/s, TTFT, CPU per chunk, RSS with streams held) and its ratios."""
    rows = [t for t in targets if view.v(t, "stream_tokens_per_s") is not None or view.v(t, "hold_rss_mib") is not None]
    if not rows:
        return []
    held = int(meta.get("hold_streams", 0))
    lines = ["", "Streaming (POST /api/generate, corral-sim origin): %s streams at once x %s tokens, one every %s ms; "
             "CPU per 1,000 chunks (chunk = streamed token); RSS before and while %s streams are held open "
             "(origin: one token a second):" % (meta.get("stream_streams", "?"), meta.get("stream_tokens", "?"),
                                                 meta.get("stream_delay_ms", "?"), "{:,}".format(held)), ""]
    ms = lambda t, a, b: ("-" if view.v(t, a) is None else "%.2f / %.2f" % (view.v(t, a) / 1e3, view.v(t, b) / 1e3))
    out = []
    for t in rows:
        added = "-" if view.v(t, "added_ttft_p50_us") is None else "%+.2f / %+.2f" % (
            view.v(t, "added_ttft_p50_us") / 1e3, view.v(t, "added_ttft_p99_us") / 1e3)
        out.append([t, view.num(t, "stream_tokens_per_s"), ms(t, "ttft_p50_us", "ttft_p99_us"), added,
                    ms(t, "itl_p50_us", "itl_p99_us"), view.num(t, "stream_cpu_ms_per_1k_chunks", "{:.2f}"),
                    view.num(t, "hold_rss_before_mib", "{:.1f}"), view.num(t, "hold_rss_mib", "{:.1f}"),
                    view.num(t, "kib_per_stream", "{:.1f}"), view.num(t, "stream_errors")])
    lines += table(["target", "tokens/s", "TTFT p50/p99 ms", "added vs direct ms", "ITL p50/p99 ms", "CPU ms/1k chunks",
                    "RSS MiB", "RSS %s streams MiB" % "{:,}".format(held), "KiB/stream", "errors"], out)
    lines.append("")
    lines.append("direct: corral-load straight to corral-sim; its CPU and RSS are the origin's. ITL: gap between "
                 "tokens as the client reads them (0 when a proxy delivers several tokens in one read).")
    text = []
    for a, b, what in pairs:
        key = "%s/%s" % (a, b)
        text.append("    %-30s tokens/s %s  CPU/chunk %s  RSS with streams %s  added TTFT p99 %s" % (
            "%s / %s" % (a, b), view.x(key, "stream_tokens_per_s"), view.x(key, "stream_cpu_ms_per_1k_chunks"),
            view.x(key, "hold_rss_mib"), view.a_over_b(a, b, "added_ttft_p99_us", "%+.0f", "µs")))
    if text:
        lines += [""] + text
    return lines


def warnings_of(meta, rounds):
    warnings = []
    try:
        busy = meta["cpu_others_pct"] = float(meta.get("cpu_others_pct", "0"))
        if busy > 10:
            warnings.append("other processes used %.0f%% of the machine's CPU during the run: numbers, ratios "
                            "included, are unreliable; rerun on a quiet machine" % busy)
    except ValueError:
        pass
    held = int(meta.get("hold_streams", 0))
    for rr in rounds:
        pre = "round %d: " % rr["round"] if len(rounds) > 1 else ""
        for r in rr["results"]:
            for run, clients, w in loads_of(r):
                if w and w.get("errors_total"):
                    warnings.append("%s%s %s: %d errors (%s, non-2xx %d)" % (
                        pre, r["target"], run, w["errors_total"], w.get("errors"), w.get("non_2xx", 0)))
                if w and w.get("requests") is not None and w["requests"] < clients:
                    warnings.append("%s%s %s: %d responses in %.1f s over %d connections: some waited the whole "
                                    "load (wrk counts no error for that)" % (
                                        pre, r["target"], run, w["requests"], w.get("duration_us", 0) / 1e6, clients))
            for run in ("stream", "reuse_load"):
                if get(r, run, "errors"):
                    warnings.append("%s%s %s: %d errors (%s)" % (pre, r["target"], run, r[run]["errors"],
                                                                  r[run].get("errors_by_kind")))
            if r.get("hold") and r["hold"]["open"] < held:
                warnings.append("%s%s: only %d of %d streams were open at the origin when RSS was sampled" % (
                    pre, r["target"], r["hold"]["open"], held))
            if r.get("conns_closed_while_held"):
                warnings.append("%s%s closed %d of the idle connections while they were held" % (
                    pre, r["target"], r["conns_closed_while_held"]))
    return warnings


def report(prefix, kv_paths, pairs):
    meta = dict(p.split("=", 1) for p in pairs)
    for key in ("quick", "stream", "pinned", "scale"):
        if key in meta:
            meta[key] = meta[key] == "1"
    for key in ("seconds", "warmup_s", "conns", "body_bytes", "reuse_requests", "stream_streams", "stream_tokens",
                "stream_delay_ms", "hold_streams", "hold_delay_ms", "cpus", "repeat", "workers", "upstream_idle", "nofile",
                "elapsed_s"):
        if meta.get(key, "").isdigit():
            meta[key] = int(meta[key])
    conns = int(meta.get("conns", 0))
    records = [record(p) for p in kv_paths]
    targets = []  # in --targets order
    for t in meta.get("targets", "").split(","):
        if any(r["target"] == t for r in records):
            targets.append(t)
    targets += [r["target"] for r in records if r["target"] not in targets]

    rounds = []
    for n in sorted({r["round"] for r in records}):
        results = sorted((r for r in records if r["round"] == n), key=lambda r: r["position"])
        by = {r["target"]: r for r in results}
        m = {t: metrics(r, by.get("direct"), conns) for t, r in by.items()}
        rounds.append({"round": n, "order": [r["target"] for r in results],
                       "cpu_others_pct": results[0].get("round_cpu_others_pct"), "results": results, "metrics": m,
                       "ratios": {"%s/%s" % (a, b): pair_ratios(m[a], m[b]) for a, b, _ in pairs_of(by)}})
    summary = {"targets": {}, "ratios": {}}
    for t in targets:
        keys = sorted({k for rr in rounds for k in rr["metrics"].get(t, {})})
        summary["targets"][t] = {k: spread([rr["metrics"].get(t, {}).get(k) for rr in rounds]) for k in keys}
    for a, b, _ in pairs_of(targets):
        key = "%s/%s" % (a, b)
        keys = sorted({k for rr in rounds for k in rr["ratios"].get(key, {})})
        summary["ratios"][key] = {k: spread([rr["ratios"].get(key, {}).get(k) for rr in rounds]) for k in keys}

    view = View(summary, len(rounds))
    pairs_here = pairs_of(targets)
    lines = main_section(meta, rounds, view, targets)
    lines += ratio_section(view, pairs_here, targets)
    lines += scale_section(meta, view, pairs_here, targets)
    lines += stream_section(meta, view, pairs_here, targets)
    warnings = warnings_of(meta, rounds)
    if warnings:
        lines += ["", "WARNINGS:"] + ["  " + w for w in warnings]
    out = "\n".join(lines) + "\n"
    sys.stdout.write(out)
    with open(prefix + ".md", "w") as f:
        f.write(out)
    with open(prefix + ".json", "w") as f:
        json.dump({"meta": meta, "rounds": rounds, "summary": summary, "warnings": warnings}, f, indent=2)
        f.write("\n")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "ports":
        print(" ".join(str(p) for p in free_ports(int(argv[2]))))
    elif cmd == "stat":
        print("%d %d" % cpu_stat())
    elif cmd == "others":
        ours = bash_times_seconds(read(argv[3]))
        if len(argv) > 4:  # a span within the run: less the earlier `times`, plus the origins' own CPU
            ours += float(argv[5]) - bash_times_seconds(read(argv[4]))
        print("%.0f" % others_pct(argv[2], ours))
    elif cmd == "wrk":
        print(json.dumps(parse_wrk(argv[2])))
    elif cmd == "report":
        sep = argv.index("--")
        report(argv[2], argv[3:sep], argv[sep + 1:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
