#!/usr/bin/env python3
"""run_briefly.py MICRO_BENCH [TLS_IDLE_MEMORY]

The micro-bench test tier: runs every registered benchmark once, briefly
(--benchmark_min_time=0.01), and fails only if the binary crashes or exits
non-zero, a registered benchmark did not run, or one reported an error
(state.SkipWithError: a failed setup, a write that failed). Timings are never
checked. With TLS_IDLE_MEMORY, also runs that measurement on a few connections
and checks it printed its per-connection lines.
"""
import json, os, signal, subprocess, sys, tempfile

LIMIT_S = 240


def fail(msg):
    print("micro-bench: FAIL: " + msg, flush=True)
    sys.exit(1)


def run(cmd, cwd):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        fail("%s did not finish within %d s" % (cmd[0], LIMIT_S))
    if p.returncode < 0:
        fail("%s crashed: %s\n%s" % (" ".join(cmd), signal.Signals(-p.returncode).name, p.stderr[-4000:]))
    if p.returncode != 0:
        fail("%s exited %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-4000:]))
    return p.stdout


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    bench = os.path.abspath(argv[1])
    with tempfile.TemporaryDirectory(prefix="corral-micro-") as tmp:
        listed = [n for n in run([bench, "--benchmark_list_tests"], tmp).splitlines() if n.strip()]
        if not listed:
            fail("no benchmark registered")
        out = os.path.join(tmp, "out.json")
        run([bench, "--benchmark_min_time=0.01", "--benchmark_out=" + out, "--benchmark_out_format=json"], tmp)
        runs = json.load(open(out)).get("benchmarks", [])
        ran = {b.get("run_name", b.get("name")) for b in runs}
        missing = [n for n in listed if n not in ran]
        if missing:
            fail("registered but not run: " + ", ".join(missing))
        errors = ["%s: %s" % (b["name"], b.get("error_message", "")) for b in runs if b.get("error_occurred")]
        if errors:
            fail("benchmarks reported errors:\n  " + "\n  ".join(errors))
        print("micro-bench: %d benchmarks ran, none failed (timings not checked)" % len(listed))
        if len(argv) > 2:
            text = run([os.path.abspath(argv[2]), "20"], tmp)
            conns = [line for line in text.splitlines() if "B/conn" in line]
            if not conns:
                fail("tls-idle-memory printed no per-connection line:\n" + text)
            print("tls-idle-memory: %d measurements on 20 connections" % len(conns))


if __name__ == "__main__":
    main(sys.argv)
