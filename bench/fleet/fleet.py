#!/usr/bin/env python3
"""bench/fleet: the same open-loop chat workload through corral, nginx and haproxy
in front of four simulated Ollama servers (corral-sim's resource model), one fresh
fleet per front door and rate. Started by bench/fleet/run (see bench/fleet/README.md).

Every duration here is model time (what users of a real fleet would see); the sims,
corral's probe intervals and the load generator run `--scale` times as fast.
"""
import argparse, datetime, json, os, resource, signal, statistics, subprocess, sys, threading, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = os.path.join(ROOT, "bench", "peers")
sys.path.insert(0, os.path.join(ROOT, "bench", "compare"))
import util  # noqa: E402  (bench/compare's helpers: free ports, CPU used by others)

# ---------------------------------------------------------------- the fleet

# Ollama library sizes (Q4_K_M, GB as `ollama list` shows them), most popular first.
MODELS = [("llama3.1:8b", 4.9), ("qwen2.5:7b", 4.7), ("llama3.2:3b", 2.0), ("gemma2:9b", 5.4),
          ("qwen2.5:14b", 9.0), ("mistral-nemo:12b", 7.1), ("gemma2:27b", 15.6), ("phi4:14b", 9.1)]
# One GPU each (4060, 4080, 4090, 4090): 72 GB for 57.8 GB of models, so all eight
# fit at once with a quarter to spare, but only if each goes where there is room.
VRAM_GB = [8, 16, 24, 24]
SIM = {  # Ollama's defaults where it has one, else an ordinary GPU's figures
    "--max-loaded-models": "3", "--num-parallel": "4", "--max-queue": "512", "--keep-alive": "5m",
    "--load-s-per-gb": "1", "--prompt-ms-per-token": "0.5", "--slot-slowdown": "0.1",
    "--token-delay-ms": "20", "--tokens": "64",
}
WORKLOAD = {"zipf": 1.0, "turns": 4, "system_words": 300, "prompt_words": 40}
TTFT_LIMIT_S = 10.0  # the rate a front door sustains: TTFT p99 within this, errors within 1 %

PEER_TARGETS = {"nginx-rr": ("nginx", ""), "nginx-lc": ("nginx", "least_conn;"), "haproxy-lc": ("haproxy", "leastconn")}
CORRAL_FULL = {"affinity": "prefix", "prefer_loaded": "true", "balance": "least_outstanding", "memory": True}
# corral with one rule turned off each: the ablation
CORRAL_TARGETS = {
    "corral": {},
    "corral-no-loaded": {"prefer_loaded": "false"},
    "corral-no-memory": {"memory": False},
    "corral-random": {"balance": "random"},
    "corral-no-affinity": {"affinity": "none"},
}
RULE_OF = {"corral-no-loaded": "loaded-model preference", "corral-no-memory": "memory fit (max_memory_gb)",
           "corral-random": "least outstanding (random instead)", "corral-no-affinity": "prefix affinity"}


def zipf_weights(n, s):
    return [1.0 / (rank ** s) for rank in range(1, n + 1)]

# ---------------------------------------------------------------- processes


class Procs:
    """Background servers, each in its own session; stopped with TERM, then KILL."""

    def __init__(self, tmp):
        self.tmp, self.live = tmp, []

    def start(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        p.name = name
        self.live.append(p)
        return p

    def stop(self, p):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p)

    def log_tail(self, p):
        with open(os.path.join(self.tmp, p.name + ".log")) as f:
            return "".join(f.readlines()[-20:])


def http_get(port, path, timeout=2.0):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_ready(procs, p, port, path="/api/version", seconds=15):
    end = time.time() + seconds
    while time.time() < end:
        if p.poll() is not None:
            raise SystemExit("bench/fleet: %s exited during start-up:\n%s" % (p.name, procs.log_tail(p)))
        try:
            if http_get(port, path, 1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("bench/fleet: %s did not answer %s on 127.0.0.1:%d within %d s:\n%s"
                     % (p.name, path, port, seconds, procs.log_tail(p)))


def render(template, out_dir, **kv):
    lines = open(os.path.join(PEERS, template)).read().splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue  # the header names the placeholders
        for k, v in kv.items():
            line = line.replace("@%s@" % k, str(v))
        if "@" in line:
            raise SystemExit("bench/fleet: unsubstituted placeholder in %s: %s" % (template, line))
        lines[i] = line
    text = "\n".join(lines) + "\n"
    path = os.path.join(out_dir, template)
    open(path, "w").write(text)
    return path


def sim_stats(ports):
    out = []
    for port in ports:
        out.append(json.loads(http_get(port, "/sim/stats", 5.0)[1]))
    return out

# ---------------------------------------------------------------- one run


class Bench:
    def __init__(self, a, tmp):
        self.a, self.tmp = a, tmp
        self.procs = Procs(tmp)
        self.nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    def start_fleet(self, run_dir):
        models = ",".join("%s=%d" % (name, int(gb * 1e9)) for name, gb in MODELS)
        ports = util.free_ports(len(VRAM_GB))
        for i, (port, vram) in enumerate(zip(ports, VRAM_GB)):
            argv = [self.a.sim, "--listen", "127.0.0.1:%d" % port, "--models", models, "--vram-gb", str(vram),
                    "--time-scale", str(self.a.scale)]
            for k, v in SIM.items():
                argv += [k, v]
            p = self.procs.start("%s/sim%d" % (run_dir, i), argv)
            wait_ready(self.procs, p, port)
        return ports

    def corral_yaml(self, port, sims, variant, run_dir):
        opts = dict(CORRAL_FULL, **CORRAL_TARGETS[variant])
        scaled = lambda s: "%dms" % max(1, round(s * 1000 * self.a.scale))  # noqa: E731
        lines = ["listen: 127.0.0.1:%d" % port, "workers: 1", "log: {level: warn, access: false}",
                 "data_dir: %s" % os.path.join(self.tmp, run_dir, "corral-data"), "backends:"]
        for i, (sp, vram) in enumerate(zip(sims, VRAM_GB)):
            more = ""
            if opts["memory"]:
                more = ", max_memory_gb: %d, max_loaded_models: %s" % (vram, SIM["--max-loaded-models"])
            if self.a.max_concurrent:
                more += ", max_concurrent: %d" % self.a.max_concurrent
            lines.append("  - {name: gpu%d-%dgb, url: http://127.0.0.1:%d%s}" % (i, vram, sp, more))
        # corral's defaults, on the fleet's clock: probes every 5 s, model lists every 15 s,
        # a request waits in corral's queue for 30 s at most
        lines += ["routing: {affinity: %s, prefer_loaded: %s, balance: %s, queue_timeout: %s}"
                  % (opts["affinity"], opts["prefer_loaded"], opts["balance"], scaled(30)),
                  "health: {interval: %s, timeout: 2s}" % scaled(5),
                  "discovery: {interval: %s, startup_wait: 5s}" % scaled(15)]
        path = os.path.join(self.tmp, run_dir, "corral.yaml")
        open(path, "w").write("\n".join(lines) + "\n")
        return path

    def start_front(self, target, sims, run_dir):
        port = util.free_ports(1)[0]
        d = os.path.join(self.tmp, run_dir)
        if target in PEER_TARGETS:
            kind, balance = PEER_TARGETS[target]
            conns = 4096
            if kind == "nginx":
                servers = "\n    ".join("server 127.0.0.1:%d;" % p for p in sims)
                conf = render("nginx-fleet.conf", d, PORT=port, BALANCE=balance, SERVERS=servers, CONNS=conns,
                              NOFILE=self.nofile)
                argv = [self.a.nginx, "-p", d, "-c", conf, "-e", os.path.join(d, "error.log"), "-g", "daemon off;"]
            else:
                servers = "\n  ".join("server s%d 127.0.0.1:%d" % (i, p) for i, p in enumerate(sims))
                conf = render("haproxy-fleet.cfg", d, PORT=port, BALANCE=balance, SERVERS=servers, MAXCONN=conns,
                              NOFILE=self.nofile)
                argv = [self.a.haproxy, "-f", conf, "-db"]
        else:
            argv = [self.a.corral, "--config", self.corral_yaml(port, sims, target, run_dir)]
        p = self.procs.start(run_dir + "/front", argv)
        wait_ready(self.procs, p, port)
        return p, port

    def load_argv(self, port, rate, out):
        s = self.a.scale
        weights = zipf_weights(len(MODELS), WORKLOAD["zipf"])
        models = ",".join("%s=%.4f" % (m[0], w) for m, w in zip(MODELS, weights))
        wall = lambda seconds: "%dms" % max(1, round(seconds * 1000 * s))  # noqa: E731
        return [self.a.load, "--url", "http://127.0.0.1:%d" % port, "--endpoint", "chat", "--stream",
                "--model", models, "--turns", str(WORKLOAD["turns"]), "--system-words", str(WORKLOAD["system_words"]),
                "--prompt-words", str(WORKLOAD["prompt_words"]), "--rate", "%.3f" % (rate / s),
                "--warmup", wall(self.a.warmup), "--duration", wall(self.a.measure), "--timeout", wall(self.a.timeout),
                "--json", out]

    def run_one(self, target, rate, repeat=0):
        run_dir = "%s-%g" % (target, rate) + (".%d" % repeat if repeat else "")
        os.makedirs(os.path.join(self.tmp, run_dir))
        sims = self.start_fleet(run_dir)
        front, port = self.start_front(target, sims, run_dir)
        out = os.path.join(self.tmp, run_dir, "load.json")
        snap = {}
        timer = threading.Timer(self.a.warmup * self.a.scale, lambda: snap.setdefault("start", sim_stats(sims)))
        with open(os.path.join(self.tmp, run_dir, "load.txt"), "w") as txt:
            load = subprocess.Popen(self.load_argv(port, rate, out), stdout=txt, stderr=subprocess.STDOUT)
            timer.start()
            try:
                rc = load.wait((self.a.warmup + self.a.measure + self.a.timeout) * self.a.scale + 60)
            finally:
                timer.cancel()
                if load.poll() is None:
                    load.kill()
                    load.wait()
        if rc != 0 or "start" not in snap:
            raise SystemExit("bench/fleet: corral-load against %s failed (%s):\n%s"
                             % (target, rc, open(os.path.join(self.tmp, run_dir, "load.txt")).read()[-2000:]))
        end = sim_stats(sims)
        self.procs.stop(front)
        self.procs.stop_all()
        return summarize(target, rate, json.load(open(out)), snap["start"], end, self.a.scale)


def summarize(target, rate, load, start, end, scale):
    delta = lambda key: sum(e.get(key, 0) - s.get(key, 0) for s, e in zip(start, end))  # noqa: E731
    requests = load["requests"]
    errors = load["errors_by_kind"]
    loads = delta("loads_total")
    served = delta("requests_total")  # every request the sims saw in the window (a 503 from a sim, a failover)
    return {
        "target": target, "rate": rate, "requests": requests, "ok": load["ok"],
        "ttft_p50_s": load["ttft"]["p50_us"] / 1e6 / scale, "ttft_p99_s": load["ttft"]["p99_us"] / 1e6 / scale,
        "ttft_mean_s": load["ttft"]["mean_us"] / 1e6 / scale,
        "tokens_per_s": load["tokens_per_second"] * scale,
        "cold_loads": loads, "cold_loads_per_1k": 1000.0 * loads / requests if requests else None,
        "evictions": delta("evictions_total"), "load_time_s": delta("load_model_ms_total") / 1000.0,
        "status_503": errors.get("status_503", 0), "sim_503": delta("busy_503_total"),
        "errors": load["errors"], "errors_by_kind": errors,
        "prefix_hit_pct": 100.0 * delta("prefix_hits_total") / served if served else 0.0,
        "error_pct": 100.0 * load["errors"] / requests if requests else 0.0,
    }


def user_p99(r, timeout):
    """TTFT p99 over every request, an unanswered one (503, timeout) counting as never:
    the answered ones' p99 while under 1 % failed, else at least the timeout (None)."""
    return r["ttft_p99_s"] if r["error_pct"] < 1 else None

def combine(runs):
    """One row from repeated runs of a target at a rate: the median of each figure,
    the range of TTFT p99 and cold loads, and every run kept."""
    row = {"target": runs[0]["target"], "rate": runs[0]["rate"], "repeats": len(runs)}
    for k, v in runs[0].items():
        if k in row or not isinstance(v, (int, float)):
            continue
        vals = [r[k] for r in runs if r[k] is not None]
        row[k] = statistics.median(vals) if vals else None
    row["errors_by_kind"] = runs[-1]["errors_by_kind"] if len(runs) == 1 else {}
    for k in ("ttft_p99_s", "cold_loads_per_1k"):
        vals = [r[k] for r in runs if r[k] is not None]
        row[k + "_range"] = [min(vals), max(vals)] if vals else None
    row["runs"] = runs
    return row

# ---------------------------------------------------------------- report


def fmt(v, digits=2):
    return "—" if v is None else ("%.*f" % (digits, v) if isinstance(v, float) else str(v))


def sustained(rows, target):
    """Highest rate at which the target kept TTFT p99 within the limit and errors within 1 %."""
    ok = [r["rate"] for r in rows if r["target"] == target and r["ttft_p99_s"] <= TTFT_LIMIT_S and r["error_pct"] <= 1]
    tried = sorted(r["rate"] for r in rows if r["target"] == target)
    if not tried:
        return None
    best = None
    for rate in tried:  # the first failure ends it: a target does not sustain past a rate it failed
        if rate not in ok:
            break
        best = rate
    return best


def report(rows, meta, prefix):
    median = " Each figure is the median of %d runs; TTFT p99 and cold loads show their range." % meta["repeat"] \
        if meta["repeat"] > 1 else ""
    lines = ["# bench/fleet — %s" % meta["started"], "",
             "Four simulated Ollama servers (VRAM %s GB; %s), %d models (Zipf s=%g), chats of %d turns with a "
             "%d-word system prompt per model, open-loop Poisson arrivals. Model time (the sims ran %gx as fast). "
             "Preliminary: %s.%s" % ("/".join(map(str, VRAM_GB)),
                                      ", ".join("%s %s" % (k.lstrip("-"), v) for k, v in SIM.items()),
                                      len(MODELS), WORKLOAD["zipf"], WORKLOAD["turns"], WORKLOAD["system_words"],
                                      1 / meta["scale"], meta["note"], median), "",
             "| front door | rate (req/s) | TTFT p50 (s) | TTFT p99 (s) | tokens/s | cold loads / 1k req | 503s | "
             "other errors | failed | KV prefix hits |", "|---|---|---|---|---|---|---|---|---|---|"]
    def spread(r, k, digits):
        rng = r.get(k + "_range")
        value = fmt(r[k], digits)
        if not rng or r["repeats"] < 2:
            return value
        return "%s (%s–%s)" % (value, fmt(rng[0], digits), fmt(rng[1], digits))
    for r in rows:
        other = r["errors"] - r["status_503"]
        lines.append("| %s | %g | %s | %s | %s | %s | %d | %d | %s %% | %s %% |" % (
            r["target"], r["rate"], fmt(r["ttft_p50_s"]), spread(r, "ttft_p99_s", 2), fmt(r["tokens_per_s"], 0),
            spread(r, "cold_loads_per_1k", 1), r["status_503"], other, fmt(r["error_pct"], 1),
            fmt(r["prefix_hit_pct"], 0)))
    lines += ["", "TTFT: of the answered requests; failed: 503s and other errors, of all requests in the window."]
    targets = list(dict.fromkeys(r["target"] for r in rows))
    lines += ["", "Highest rate sustained (TTFT p99 ≤ %g s, errors ≤ 1 %%, of the rates tried):" % TTFT_LIMIT_S, ""]
    for t in targets:
        s = sustained(rows, t)
        lines.append("- %s: %s" % (t, "below the lowest rate tried" if s is None else "%g req/s" % s))
    ratios = []
    for rate in sorted({r["rate"] for r in rows}):
        at = {r["target"]: r for r in rows if r["rate"] == rate}
        peers = [at[t] for t in PEER_TARGETS if t in at]
        if "corral" not in at or not peers:
            continue
        c = at["corral"]
        timeout = meta["timeout_s"]
        best_ttft = min(peers, key=lambda r: timeout if user_p99(r, timeout) is None else user_p99(r, timeout))
        best_cold = min(peers, key=lambda r: r["cold_loads_per_1k"] or 0)
        peer_p99, corral_p99 = user_p99(best_ttft, timeout), user_p99(c, timeout)
        ratios.append({"rate": rate, "best_ttft_peer": best_ttft["target"],
                       # peer failing > 1 %: its p99 is at least the timeout, so the ratio is at most this
                       "ttft_p99_ratio": None if corral_p99 is None else corral_p99 / (peer_p99 or timeout),
                       "ttft_p99_ratio_is_bound": peer_p99 is None,
                       "cold_loads_ratio": (c["cold_loads_per_1k"] / best_cold["cold_loads_per_1k"]
                                            if best_cold["cold_loads_per_1k"] else None),
                       "best_cold_peer": best_cold["target"]})
    if ratios:
        lines += ["", "corral against the best peer at the same rate (target: ≤ 0.25 on both):", "",
                  "| rate (req/s) | TTFT p99 corral / best peer | cold loads corral / best peer |", "|---|---|---|"]
        for q in ratios:
            bound = "≤ " if q["ttft_p99_ratio_is_bound"] and q["ttft_p99_ratio"] is not None else ""
            lines.append("| %g | %s%s (%s) | %s (%s) |" % (q["rate"], bound, fmt(q["ttft_p99_ratio"], 3),
                                                         q["best_ttft_peer"], fmt(q["cold_loads_ratio"], 3),
                                                         q["best_cold_peer"]))
        lines += ["", "(TTFT p99 here counts every request: a front door with more than 1 %% unanswered has a p99 "
                  "of at least the %g s timeout; ≤ marks a ratio against such a peer; — : corral itself failed "
                  "more than 1 %%.)" % meta["timeout_s"]]
    ablation = [r for r in rows if r["target"] in RULE_OF]
    if ablation:
        lines += ["", "Ablation: corral with one rule off, against full corral at the same rate:", "",
                  "| rule off | rate | TTFT p99 (s) | × full | cold loads / 1k | × full | failed | KV prefix hits |",
                  "|---|---|---|---|---|---|---|---|"]
        full = {r["rate"]: r for r in rows if r["target"] == "corral"}
        for r in ablation:
            f = full.get(r["rate"])
            tx = r["ttft_p99_s"] / f["ttft_p99_s"] if f and f["ttft_p99_s"] else None
            cx = r["cold_loads_per_1k"] / f["cold_loads_per_1k"] if f and f["cold_loads_per_1k"] else None
            lines.append("| %s | %g | %s | %s | %s | %s | %s %% | %s %% |" % (
                RULE_OF[r["target"]], r["rate"], fmt(r["ttft_p99_s"]), fmt(tx), fmt(r["cold_loads_per_1k"], 1),
                fmt(cx), fmt(r["error_pct"], 1), fmt(r["prefix_hit_pct"], 0)))
    lines += ["", "Machine: %s, %s CPUs, others used %s %% of the CPU during the run; %s." % (
        meta["kernel"], meta["cpus"], fmt(meta["cpu_others_pct"], 0), meta["versions"])]
    md = "\n".join(lines) + "\n"
    doc = {"meta": meta, "fleet": {"vram_gb": VRAM_GB, "models": MODELS, "sim": SIM, "workload": WORKLOAD},
           "runs": rows, "ratios": ratios,
           "sustained_rate": {t: sustained(rows, t) for t in targets}}
    open(prefix + ".md", "w").write(md)
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    return md

# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(prog="bench/fleet/run")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--targets")
    ap.add_argument("--rates")
    ap.add_argument("--ablation-rates")
    ap.add_argument("--scale", type=float)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--measure", type=float)
    ap.add_argument("--timeout", type=float)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--max-concurrent", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--report", help="render a saved bench/results/fleet-*.json again (no runs)")
    for tool in ("corral", "sim", "load", "nginx", "haproxy", "tmp"):
        ap.add_argument("--" + tool, required=True)
    a = ap.parse_args()
    if a.report:
        doc = json.load(open(a.report))
        sys.stdout.write(report(doc["runs"], doc["meta"], a.report[:-len(".json")]))
        return
    quick = a.quick
    a.scale = a.scale or (0.05 if quick else 0.1)
    a.warmup = a.warmup or (90 if quick else 120)
    a.measure = a.measure or (120 if quick else 300)
    a.timeout = a.timeout or (120 if quick else 300)
    rates = [float(x) for x in (a.rates or ("2,4" if quick else "1,2,3,4,5")).split(",")]
    ablation_rates = [float(x) for x in (a.ablation_rates or ("4" if quick else "2,4")).split(",")]
    known = ["corral"] + list(PEER_TARGETS) + [t for t in CORRAL_TARGETS if t != "corral"]
    targets = (a.targets or ",".join(known)).split(",")
    for t in targets:
        if t not in known:
            raise SystemExit("bench/fleet: unknown target '%s' (%s)" % (t, ", ".join(known)))
    plan = [(t, r) for r in rates for t in targets if t in PEER_TARGETS or t == "corral"]
    plan += [(t, r) for r in ablation_rates for t in targets if t in RULE_OF]
    per_run = (a.warmup + a.measure) * a.scale + 3
    print("bench/fleet: %d runs (%s)%s, %g s warm-up + %g s measured each in model time, %gx fast: at least %d s"
          % (len(plan), ", ".join("%s@%g" % p for p in plan), " x %d" % a.repeat if a.repeat > 1 else "", a.warmup,
             a.measure, 1 / a.scale, len(plan) * a.repeat * per_run), file=sys.stderr)

    stat0 = "%d %d" % util.cpu_stat()
    bench = Bench(a, a.tmp)
    runs = {p: [] for p in plan}
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    t0 = time.time()
    try:
        for n in range(a.repeat):  # interleaved: a slow minute of the machine hits every target alike
            for target, rate in plan:
                r = bench.run_one(target, rate, n)
                runs[(target, rate)].append(r)
                print("  %-19s %4g req/s  TTFT p50 %6.2f s  p99 %6.2f s  cold loads/1k %6.1f  503s %d  (%d s elapsed)"
                      % (target, rate, r["ttft_p50_s"], r["ttft_p99_s"], r["cold_loads_per_1k"] or 0, r["status_503"],
                         time.time() - t0), file=sys.stderr)
    finally:
        bench.procs.stop_all()
    rows = [combine(runs[p]) for p in plan]
    t = os.times()
    others = util.others_pct(stat0, t.user + t.system + t.children_user + t.children_system)

    def version(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    meta = {"started": started, "quick": quick, "scale": a.scale, "warmup_s": a.warmup, "measure_s": a.measure,
            "timeout_s": a.timeout, "repeat": a.repeat, "corral_max_concurrent": a.max_concurrent,
            "rates": rates, "ablation_rates": ablation_rates, "targets": targets,
            "note": "the machine was shared with other work" if others > 10 else "a quiet machine",
            "kernel": " ".join(os.uname()[0:3:2]), "cpus": os.cpu_count(), "cpu_others_pct": others,
            "versions": "; ".join([version([a.corral, "--version"]), version([a.nginx, "-v"]),
                                   version([a.haproxy, "-v"])]), "seconds": round(time.time() - t0)}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    prefix = os.path.join(ROOT, "bench", "results", "fleet-" + started)
    sys.stdout.write(report(rows, meta, prefix))
    print("bench/fleet: wrote bench/results/fleet-%s.json and .md" % started, file=sys.stderr)


if __name__ == "__main__":
    main()
