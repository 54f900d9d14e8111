"""Samples of a corral process (RSS, descriptors, /metrics) and what bench/soak/run
makes of them: a least-squares RSS slope, a CSV, a markdown report and a gnuplot PNG."""

import os
import shutil
import subprocess
import urllib.request

COLUMNS = ["t_s", "rss_kib", "fds", "threads", "sessions", "in_flight", "upstream_idle", "upstream_active",
           "requests", "errors", "rejected", "analytics_dropped", "analytics_backlog", "reloads"]


def proc_status(pid):
    """VmRSS (KiB) and thread count from /proc/PID/status."""
    rss, threads = -1, -1
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "0A": "LISTEN", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "09": "LAST_ACK", "0B": "CLOSING"}


def _tcp_sockets():
    """socket inode -> "local -> remote STATE" from /proc/net/tcp (IPv4 loopback is all the soak uses)."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]

            def addr(x):
                ip, port = x.split(":")
                return "%s:%d" % (".".join(str(int(ip[i:i + 2], 16)) for i in (6, 4, 2, 0)), int(port, 16))
            out[inode] = "tcp %s -> %s %s" % (addr(local), addr(remote), TCP_STATES.get(state, state))
    return out


def describe_fds(pid):
    """What each descriptor is: a file path, or a TCP connection with its ends and state."""
    tcp = _tcp_sockets()
    out = []
    for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            target = tcp.get(target[8:-1], target)
        out.append(target)
    return out


def scrape(port, timeout=10):
    """Prometheus text from corral's /metrics as {series: value}."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def total(metrics, family):
    """Sum of every sample of a family (all label sets)."""
    return sum(v for k, v in metrics.items() if k == family or k.startswith(family + "{"))


def sample(pid, port, t_s, reloads):
    rss, threads = proc_status(pid)
    fds = fd_count(pid)
    m = scrape(port)
    return {
        "t_s": round(t_s, 1), "rss_kib": rss, "fds": fds, "threads": threads,
        "sessions": int(m.get("corral_client_sessions", -1)),
        "in_flight": int(m.get("corral_in_flight_requests", -1)),
        "upstream_idle": int(m.get('corral_upstream_connections{state="idle"}', -1)),
        "upstream_active": int(m.get('corral_upstream_connections{state="active"}', -1)),
        "requests": int(total(m, "corral_requests_total")),
        "errors": int(total(m, "corral_errors_total")),
        "rejected": int(total(m, "corral_rejected_total")),
        "analytics_dropped": int(m.get("corral_analytics_dropped_total", 0)),
        "analytics_backlog": int(m.get("corral_analytics_backlog_records", 0)),
        "reloads": reloads,
    }


def error_kinds(port):
    m = scrape(port)
    kinds = {}
    for family in ("corral_errors_total", "corral_rejected_total"):
        for k, v in m.items():
            if k.startswith(family + "{"):
                kinds[k] = int(v)
    return kinds


def slope_per_min(points):
    """Theil-Sen slope of (seconds, value) points, per minute (the median of the slopes between
    every pair of points); None with fewer than 3. A leak climbs at a steady rate and moves every
    pair alike; a one-off step (the allocator committing a new segment, a cache reaching its
    size) moves only the pairs that straddle it, which a least-squares fit over a short window
    would read as a leak."""
    if len(points) < 3:
        return None
    slopes = sorted((b[1] - a[1]) / (b[0] - a[0]) for i, a in enumerate(points)
                    for b in points[i + 1:] if b[0] != a[0])
    if not slopes:
        return None
    mid = len(slopes) // 2
    median = slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2
    return median * 60


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for r in rows:
            f.write(",".join(str(r[c]) for c in COLUMNS) + "\n")


def markdown_table(rows, max_rows=40):
    """The samples as a markdown table, thinned to at most max_rows (first and last always kept)."""
    step = max(1, (len(rows) + max_rows - 1) // max_rows)
    picked = rows[::step]
    if rows and picked[-1] is not rows[-1]:
        picked.append(rows[-1])
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---:|" * len(COLUMNS)]
    for r in picked:
        out.append("| " + " | ".join(str(r[c]) for c in COLUMNS) + " |")
    return "\n".join(out)


GNUPLOT = """set terminal pngcairo size 1200,700 noenhanced
set output '{png}'
set datafile separator ','
set key autotitle columnhead top left
set title '{title}'
set xlabel 'minutes'
set ylabel 'RSS (MiB)'
set y2label 'descriptors, sessions'
set ytics nomirror
set y2tics
set grid
set arrow from {warmup_min},graph 0 to {warmup_min},graph 1 nohead dashtype 2
set label 'warm-up' at {warmup_min},graph 0.95 offset 0.5,0
plot '{csv}' using ($1/60):($2/1024) with lines lw 2 title 'RSS (MiB)', \\
     '' using ($1/60):3 axes x1y2 with lines title 'descriptors', \\
     '' using ($1/60):5 axes x1y2 with lines title 'sessions'
"""


def plot(csv_path, png_path, title, warmup_s):
    """PNG made with gnuplot; the reason when there is none."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return "gnuplot is not installed (tools/bootstrap --soak)"
    script = GNUPLOT.format(png=png_path, csv=csv_path, title=title, warmup_min=warmup_s / 60.0)
    r = subprocess.run([gnuplot], input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        return "gnuplot failed: " + r.stderr.decode(errors="replace").strip()[:300]
    return None
