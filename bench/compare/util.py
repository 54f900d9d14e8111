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
                                       rss_conns_mib, cpu_c64_s, conns_closed, the wrk outputs c1,
                                       c64, reuse_conns, reuse_requests, and with --stream the
                                       corral-load JSON stream, stream_cpu_s, hold_rss_before_mib,
                                       hold_rss_mib, hold_open; the rest is meta.
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
    for key in ("c1", "c64"):
        if kv.get(key):
            r[key] = parse_wrk(kv.pop(key))
    if "cpu_c64_s" in r and "c64" in r and r["c64"].get("requests"):
        r["cpu_us_per_req_c64"] = round(r.pop("cpu_c64_s") * 1e6 / r["c64"]["requests"], 2)
    if kv.get("reuse_load"):
        r["reuse_load"] = json.load(open(kv.pop("reuse_load")))
    if kv.get("reuse_conns"):
        conns, reqs = int(kv.pop("reuse_conns")), int(kv.pop("reuse_requests"))
        r["reuse"] = {"origin_conns": conns, "origin_requests": reqs,
                      "conns_per_10k_req": round(conns * 1e4 / reqs, 1) if reqs else None,
                      "reuse_pct": round(100 * (1 - conns / reqs), 2) if reqs else None}
    if kv.get("stream"):
        st = r["stream"] = json.load(open(kv.pop("stream")))
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

# ---------------------------------------------------------------- report

PROXIES = ("nginx", "haproxy", "corral", "corral-epoll", "corral-nometrics", "corral-noanalytics")
CORRALS = ("corral", "corral-epoll", "corral-nometrics", "corral-noanalytics")
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


def fmt_x(v):
    return "-" if v is None else "%.2fx" % v


def get(d, *path):
    """d[path[0]][path[1]]... or None where any step is missing."""
    for key in path:
        if not isinstance(d, dict) or d.get(key) is None:
            return None
        d = d[key]
    return d


def stream_section(meta, results, by, ratios):
    """The --stream table (tokens/s, TTFT, CPU per chunk, RSS with streams held) and its ratios."""
    rows = [r for r in results if r.get("stream") or r.get("hold")]
    if not rows:
        return []
    held = int(meta.get("hold_streams", 0))
    lines = ["", "Streaming (POST /api/generate, corral-sim origin): %s streams at once x %s tokens, one every %s ms; "
             "CPU per 1,000 chunks (chunk = streamed token); RSS before and while %s streams are held open "
             "(origin: one token a second):" % (meta.get("stream_streams", "?"), meta.get("stream_tokens", "?"),
                                                 meta.get("stream_delay_ms", "?"), "{:,}".format(held)), ""]
    direct_ttft = get(by, "direct", "stream", "ttft")
    rows_out = []
    for r in rows:
        st, h = r.get("stream", {}), r.get("hold", {})
        ttft = st.get("ttft")
        added = "-"
        if ttft and direct_ttft and r["target"] != "direct":
            a50, a99 = (ttft[k] - direct_ttft[k] for k in ("p50_us", "p99_us"))
            ratios["%s-direct" % r["target"]] = dict(ratios.get("%s-direct" % r["target"], {}),
                                                     stream_added_ttft_p50_us=a50, stream_added_ttft_p99_us=a99)
            added = "%+.2f / %+.2f" % (a50 / 1e3, a99 / 1e3)
        itl = st.get("itl")
        rows_out.append([r["target"], fmt_int(st.get("tokens_per_second")),
                         "%.2f / %.2f" % (ttft["p50_us"] / 1e3, ttft["p99_us"] / 1e3) if ttft else "-", added,
                         "%.2f / %.2f" % (itl["p50_us"] / 1e3, itl["p99_us"] / 1e3) if itl else "-",
                         "%.2f" % st["cpu_ms_per_1k_chunks"] if st.get("cpu_ms_per_1k_chunks") is not None else "-",
                         fmt_mib(h.get("rss_before_mib")), fmt_mib(h.get("rss_mib")),
                         "%.1f" % h["kib_per_stream"] if h.get("kib_per_stream") is not None else "-",
                         st.get("errors", "-")])
    lines += table(["target", "tokens/s", "TTFT p50/p99 ms", "added vs direct ms", "ITL p50/p99 ms", "CPU ms/1k chunks",
                    "RSS MiB", "RSS %s streams MiB" % "{:,}".format(held), "KiB/stream", "errors"], rows_out)
    lines.append("")
    lines.append("direct: corral-load straight to corral-sim; its CPU and RSS are the origin's. ITL: gap between "
                 "tokens as the client reads them (0 when a proxy delivers several tokens in one read).")
    text = []
    for c in CORRALS:
        for p in PEERS:
            if c not in by or p not in by:
                continue
            rr = {"stream_tokens_per_s": ratio(get(by, c, "stream", "tokens_per_second"),
                                               get(by, p, "stream", "tokens_per_second")),
                  "stream_cpu_per_chunk": ratio(get(by, c, "stream", "cpu_ms_per_1k_chunks"),
                                                get(by, p, "stream", "cpu_ms_per_1k_chunks")),
                  "rss_streams": ratio(get(by, c, "hold", "rss_mib"), get(by, p, "hold", "rss_mib"))}
            ratios.setdefault("%s/%s" % (c, p), {}).update({k: round(v, 3) for k, v in rr.items() if v is not None})
            text.append("    %-26s tokens/s %s  CPU/chunk %s  RSS with streams %s" % (
                "%s / %s" % (c, p), fmt_x(rr["stream_tokens_per_s"]), fmt_x(rr["stream_cpu_per_chunk"]),
                fmt_x(rr["rss_streams"])))
    if text:
        lines += [""] + text
    return lines


def report(prefix, kv_paths, pairs):
    meta = dict(p.split("=", 1) for p in pairs)
    for key in ("quick", "stream", "pinned"):
        if key in meta:
            meta[key] = meta[key] == "1"
    for key in ("seconds", "warmup_s", "conns", "body_bytes", "reuse_requests", "stream_streams", "stream_tokens",
                "stream_delay_ms", "hold_streams", "hold_delay_ms", "cpus"):
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
              "RSS %s idle MiB" % "{:,}".format(conns), "CPU µs/req c=64", "origin conns/10k req", "reuse %",
              "errors"]
    rows = []
    for r in results:
        c1, c64 = r.get("c1", {}), r.get("c64", {})
        errors = c1.get("errors_total", 0) + c64.get("errors_total", 0) + (get(r, "reuse_load", "errors") or 0)
        reuse = r.get("reuse", {})
        rows.append([r["target"], fmt_int(c1.get("rps")), fmt_lat(c1), fmt_int(c64.get("rps")), fmt_lat(c64),
                     fmt_mib(r.get("rss_idle_mib")), fmt_mib(r.get("rss_conns_mib")),
                     "%.1f" % r["cpu_us_per_req_c64"] if r.get("cpu_us_per_req_c64") is not None else "-",
                     "%.1f" % reuse["conns_per_10k_req"] if reuse.get("conns_per_10k_req") is not None else "-",
                     "%.2f" % reuse["reuse_pct"] if reuse.get("reuse_pct") is not None else "-",
                     errors])
    lines += table(header, rows)
    lines.append("")
    lines.append("RSS sums every process of the target (nginx: master + worker); direct is the origin itself. "
                 "CPU is the target's own (direct: the origin's). Origin conns: connections the origin accepted "
                 "(stub_status) while %s small requests went through the target at c=64 after a 1,000-request warm-up, per 10,000 requests it "
                 "served; reuse = 1 - conns / requests (direct: the client's own connections)."
                 % "{:,}".format(int(meta.get("reuse_requests", 0))))

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
    for other, what in (("corral-nometrics", "cost of metrics"), ("corral-noanalytics", "cost of analytics")):
        if "corral" not in by or other not in by:
            continue
        c, n = by["corral"], by[other]
        key = "corral/" + other
        ratios[key] = {"rps_c1": round(c["c1"]["rps"] / n["c1"]["rps"], 3),
                       "rps_c64": round(c["c64"]["rps"] / n["c64"]["rps"], 3)}
        text.append("%-26s rps c=1 %.3fx  rps c=64 %.3fx  (%s)" % (
            "corral / " + other, ratios[key]["rps_c1"], ratios[key]["rps_c64"], what))
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
    reuse = ["%s %s (%.2f%%)" % (r["target"], fmt_int(r["reuse"]["conns_per_10k_req"]), r["reuse"]["reuse_pct"])
             for r in results if get(r, "reuse", "conns_per_10k_req") is not None]
    if reuse:
        text.append("")
        text.append("Origin connections per 10,000 requests (reuse %%): %s" % ", ".join(reuse))
    mem = []
    for r in results:
        if r.get("rss_conns_mib") is not None and r.get("rss_idle_mib") is not None and conns:
            kib = (r["rss_conns_mib"] - r["rss_idle_mib"]) * 1024 / conns
            r["kib_per_idle_conn"] = round(kib, 2)
            mem.append("%s %.2f" % (r["target"], kib))
    if mem:
        text.append("")
        text.append("RSS per idle connection, KiB ((with - idle) / %s): %s" % ("{:,}".format(conns), ", ".join(mem)))

    stream_lines = stream_section(meta, results, by, ratios)

    warnings = []
    try:
        busy = meta["cpu_others_pct"] = float(meta.get("cpu_others_pct", "0"))
        if busy > 10:
            warnings.append("other processes used %.0f%% of the machine's CPU during the run: numbers, ratios "
                            "included, are unreliable; rerun on a quiet machine" % busy)
    except ValueError:
        pass
    for r in results:
        for run in ("c1", "c64"):
            if r.get(run, {}).get("errors_total"):
                warnings.append("%s %s: %d errors (%s, non-2xx %d)" % (
                    r["target"], run, r[run]["errors_total"], r[run].get("errors"), r[run].get("non_2xx", 0)))
        for run in ("stream", "reuse_load"):
            if get(r, run, "errors"):
                warnings.append("%s %s: %d errors (%s)" % (r["target"], run, r[run]["errors"],
                                                            r[run].get("errors_by_kind")))
        held = int(meta.get("hold_streams", 0))
        if r.get("hold") and r["hold"]["open"] < held:
            warnings.append("%s: only %d of %d streams were open at the origin when RSS was sampled" % (
                r["target"], r["hold"]["open"], held))
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
