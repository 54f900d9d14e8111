#!/usr/bin/env python3
"""Helpers for bench/compare/run (which does the orchestration in bash).

  util.py ports N                      N distinct free 127.0.0.1 TCP ports
  util.py stat                         busy and total CPU ticks since boot
  util.py others STAT TIMESFILE        percent of the CPU used by other processes since the
                                       `stat` reading STAT; TIMESFILE holds bash's `times`
  util.py wrk FILE                     wrk output (with --latency and latency.lua) as JSON
  util.py report OUTPREFIX KVFILE... -- key=value...
                                       print the table and ratios; write OUTPREFIX.json/.md.
                                       One KVFILE per target, key=value lines: name, rss_idle_mib,
                                       rss_conns_mib, cpu_c64_s, conns_closed, and the wrk
                                       outputs c1, c64 (stream: s1, s64); the rest is meta.
"""
import json, os, re, socket, sys

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


UNITS_US = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_wrk(path):
    text = open(path).read()
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


def record(kv_path):
    kv = dict(line.rstrip("\n").split("=", 1) for line in open(kv_path) if "=" in line)
    r = {"target": kv.pop("name")}
    for key in ("rss_idle_mib", "rss_conns_mib", "cpu_c64_s"):
        if kv.get(key):
            r[key] = round(float(kv.pop(key)), 2)
    if kv.get("conns_closed"):
        r["conns_closed_while_held"] = int(kv.pop("conns_closed"))
    for key, label in (("c1", "c1"), ("c64", "c64"), ("s1", "stream_c1"), ("s64", "stream_c64")):
        if kv.get(key):
            r[label] = parse_wrk(kv.pop(key))
    if "cpu_c64_s" in r and "c64" in r and r["c64"].get("requests"):
        r["cpu_us_per_req_c64"] = round(r.pop("cpu_c64_s") * 1e6 / r["c64"]["requests"], 2)
    r.update(kv)
    return r

# ---------------------------------------------------------------- report

PROXIES = ("nginx", "haproxy", "corral", "corral-epoll", "corral-nometrics")
CORRALS = ("corral", "corral-epoll", "corral-nometrics")
PEERS = ("nginx", "haproxy")


def fmt_int(v):
    return "-" if v is None else "{:,}".format(int(round(v)))


def fmt_lat(run):
    if not run or run.get("p50_us") is None:
        return "-"
    return "%d / %d" % (run["p50_us"], run["p99_us"])


def fmt_mib(v):
    return "-" if v is None else "%.1f" % v


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return [line(header), sep] + [line(r) for r in rows]


def ratio(a, b):
    return a / b if a is not None and b else None


def report(prefix, kv_paths, pairs):
    meta = dict(p.split("=", 1) for p in pairs)
    for key in ("quick", "stream", "pinned"):
        if key in meta:
            meta[key] = meta[key] == "1"
    for key in ("seconds", "warmup_s", "conns", "body_bytes", "stream_tokens", "cpus"):
        if meta.get(key, "").isdigit():
            meta[key] = int(meta[key])
    results = [record(p) for p in kv_paths]
    by = {r["target"]: r for r in results}
    conns = int(meta.get("conns", 0))

    lines = ["# bench/compare %s" % meta.get("started", ""), ""]
    lines.append("Loopback, one worker/thread per proxy, origin nginx (1 worker) returning a %s-byte JSON body; "
                 "wrk -t1, %s s per load after 1 s warm-up; %s idle keep-alive connections for memory.%s%s"
                 % (meta.get("body_bytes", "?"), meta.get("seconds", "?"), "{:,}".format(conns),
                    " Every proxy on CPU 0 (--pin)." if meta.get("pinned") else "",
                    " (--quick)" if meta.get("quick") else ""))
    lines.append("Host: %s, %s CPUs; other processes used %s%% of the CPU during the run. %s." % (
        meta.get("kernel", "?"), meta.get("cpus", "?"), meta.get("cpu_others_pct", "?"), meta.get("versions", "")))
    lines.append("")
    header = ["target", "rps c=1", "p50/p99 µs c=1", "rps c=64", "p50/p99 µs c=64", "RSS idle MiB",
              "RSS %s idle MiB" % "{:,}".format(conns), "CPU µs/req c=64", "errors"]
    rows = []
    for r in results:
        c1, c64 = r.get("c1", {}), r.get("c64", {})
        errors = c1.get("errors_total", 0) + c64.get("errors_total", 0)
        rows.append([r["target"], fmt_int(c1.get("rps")), fmt_lat(c1), fmt_int(c64.get("rps")), fmt_lat(c64),
                     fmt_mib(r.get("rss_idle_mib")), fmt_mib(r.get("rss_conns_mib")),
                     "%.1f" % r["cpu_us_per_req_c64"] if r.get("cpu_us_per_req_c64") is not None else "-",
                     errors])
    lines += table(header, rows)
    lines.append("")
    lines.append("RSS sums every process of the target (nginx: master + worker); direct is the origin itself. "
                 "CPU is the target's own (direct: the origin's).")

    ratios = {}
    text = []
    for c in CORRALS:
        if c not in by:
            continue
        for p in PEERS:
            if p not in by:
                continue
            key = "%s/%s" % (c, p)
            rr = {"rps_c1": ratio(by[c]["c1"]["rps"], by[p]["c1"]["rps"]),
                  "rps_c64": ratio(by[c]["c64"]["rps"], by[p]["c64"]["rps"]),
                  "cpu_per_req_c64": ratio(by[c].get("cpu_us_per_req_c64"), by[p].get("cpu_us_per_req_c64")),
                  "rss_conns": ratio(by[c].get("rss_conns_mib"), by[p].get("rss_conns_mib"))}
            ratios[key] = {k: round(v, 3) for k, v in rr.items() if v is not None}
            text.append("%-26s rps c=1 %.2fx  rps c=64 %.2fx  CPU/req c=64 %s  RSS with conns %s" % (
                key.replace("/", " / "), rr["rps_c1"], rr["rps_c64"],
                "%.2fx" % rr["cpu_per_req_c64"] if rr["cpu_per_req_c64"] else "-",
                "%.2fx" % rr["rss_conns"] if rr["rss_conns"] else "-"))
    if "corral" in by and "corral-nometrics" in by:
        c, n = by["corral"], by["corral-nometrics"]
        ratios["corral/corral-nometrics"] = {"rps_c1": round(c["c1"]["rps"] / n["c1"]["rps"], 3),
                                             "rps_c64": round(c["c64"]["rps"] / n["c64"]["rps"], 3)}
        text.append("%-26s rps c=1 %.3fx  rps c=64 %.3fx  (cost of metrics)" % (
            "corral / corral-nometrics", ratios["corral/corral-nometrics"]["rps_c1"],
            ratios["corral/corral-nometrics"]["rps_c64"]))
    if not text:
        text.append("(no %s target in this run, so no corral / nginx or corral / haproxy ratios)" % (
            "nginx or haproxy" if any(c in by for c in CORRALS) else "corral"))
    if "direct" in by:
        d = by["direct"]["c1"]
        text.append("")
        text.append("Added latency vs direct at c=1 (p50 / p99):")
        for name in PROXIES:
            if name in by:
                c1 = by[name]["c1"]
                a50, a99 = c1["p50_us"] - d["p50_us"], c1["p99_us"] - d["p99_us"]
                ratios["%s-direct" % name] = {"added_p50_us_c1": a50, "added_p99_us_c1": a99}
                text.append("  %-18s p50 %+5d µs   p99 %+5d µs" % (name, a50, a99))
    mem = []
    for r in results:
        if r.get("rss_conns_mib") is not None and r.get("rss_idle_mib") is not None and conns:
            kib = (r["rss_conns_mib"] - r["rss_idle_mib"]) * 1024 / conns
            r["kib_per_idle_conn"] = round(kib, 2)
            mem.append("%s %.2f" % (r["target"], kib))
    if mem:
        text.append("")
        text.append("RSS per idle connection, KiB ((with - idle) / %s): %s" % ("{:,}".format(conns), ", ".join(mem)))

    stream_rows = [r for r in results if r.get("stream_c1") or r.get("stream_c64")]
    stream_lines = []
    if stream_rows:
        stream_lines = ["", "Streaming: POST /api/generate to corral-sim, %s NDJSON tokens per answer, no delay:" %
                        meta.get("stream_tokens", "?"), ""]
        srows = [[r["target"], fmt_int(r.get("stream_c1", {}).get("rps")), fmt_lat(r.get("stream_c1")),
                  fmt_int(r.get("stream_c64", {}).get("rps")), fmt_lat(r.get("stream_c64")),
                  r.get("stream_c1", {}).get("errors_total", 0) + r.get("stream_c64", {}).get("errors_total", 0)]
                 for r in stream_rows]
        stream_lines += table(["target", "rps c=1", "p50/p99 µs c=1", "rps c=64", "p50/p99 µs c=64", "errors"], srows)
        stream_ratio_lines = []
        for c in CORRALS:
            for p in PEERS:
                if c in by and p in by and by[c].get("stream_c64") and by[p].get("stream_c64"):
                    s1 = ratio(by[c]["stream_c1"]["rps"], by[p]["stream_c1"]["rps"])
                    s64 = ratio(by[c]["stream_c64"]["rps"], by[p]["stream_c64"]["rps"])
                    ratios.setdefault("%s/%s" % (c, p), {}).update(stream_rps_c1=round(s1, 3),
                                                                  stream_rps_c64=round(s64, 3))
                    stream_ratio_lines.append("    %-26s stream rps c=1 %.2fx  rps c=64 %.2fx" % (
                        "%s / %s" % (c, p), s1, s64))

        if stream_ratio_lines:
            stream_lines += [""] + stream_ratio_lines

    warnings = []
    try:
        busy = meta["cpu_others_pct"] = float(meta.get("cpu_others_pct", "0"))
        if busy > 10:
            warnings.append("other processes used %.0f%% of the machine's CPU during the run: numbers, ratios "
                            "included, are unreliable; rerun on a quiet machine" % busy)
    except ValueError:
        pass
    for r in results:
        for run in ("c1", "c64", "stream_c1", "stream_c64"):
            if r.get(run, {}).get("errors_total"):
                warnings.append("%s %s: %d errors (%s, non-2xx %d)" % (
                    r["target"], run, r[run]["errors_total"], r[run].get("errors"), r[run].get("non_2xx", 0)))
        if r.get("conns_closed_while_held"):
            warnings.append("%s closed %d of the idle connections while they were held" % (
                r["target"], r["conns_closed_while_held"]))

    lines += ["", "Ratios (higher rps is better; CPU and RSS ratios lower is better):", ""]
    lines += ["    " + t if t else "" for t in text]
    lines += stream_lines
    if warnings:
        lines += ["", "WARNINGS:"] + ["  " + w for w in warnings]
    out = "\n".join(lines) + "\n"
    sys.stdout.write(out)
    with open(prefix + ".md", "w") as f:
        f.write(out)
    with open(prefix + ".json", "w") as f:
        json.dump({"meta": meta, "results": results, "ratios": ratios, "warnings": warnings}, f, indent=2)
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
        print("%.0f" % others_pct(argv[2], bash_times_seconds(open(argv[3]).read())))
    elif cmd == "wrk":
        print(json.dumps(parse_wrk(argv[2])))
    elif cmd == "report":
        sep = argv.index("--")
        report(argv[2], argv[3:sep], argv[sep + 1:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
