#!/usr/bin/env python3
"""bench/compare's report on made-up rounds (no load, no servers): per-round ratios, their
median and spread, the added latency and idle-memory columns, --scale's levels, and every
round's raw numbers kept in the JSON. Run: python3 bench/compare/util_test.py"""
import json, os, sys, tempfile, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import util  # noqa: E402

WRK = """Running 3s test @ http://127.0.0.1:1/
  Latency Distribution
     50%  {p50}us
     99%  {p99}us
Requests/sec:   {rps}
WRKJSON {{"requests":{req},"bytes":1,"duration_us":1000000,"mean_us":1.0,"p50_us":{p50},"p90_us":{p99},"p99_us":{p99},"max_us":{p99},"errors":{{"connect":0,"read":0,"write":0,"status":0,"timeout":{timeouts}}}}}
"""


class Rig:
    def __init__(self, tmp):
        self.tmp, self.kvs = tmp, []

    def wrk(self, name, rps, p50, p99, timeouts=0):
        path = os.path.join(self.tmp, name + ".txt")
        with open(path, "w") as f:
            f.write(WRK.format(rps=rps, req=rps, p50=p50, p99=p99, timeouts=timeouts))
        return path

    def target(self, rnd, pos, name, rps64, p99_c1, rss_conns, scale=None, timeouts=0):
        tag = "r%d-%s" % (rnd, name)
        lines = ["name=" + name, "round=%d" % rnd, "position=%d" % pos, "round_cpu_others_pct=5",
                 "rss_idle_mib=10", "rss_before_hold_mib=11", "rss_conns_mib=%s" % rss_conns, "idle_rss_1000_mib=%s" % rss_conns,
                 "cpu_c64_s=%s" % (rps64 * 20e-6), "conns_closed=0",
                 "c1=" + self.wrk(tag + "-c1", 1000, 50, p99_c1),
                 "c64=" + self.wrk(tag + "-c64", rps64, 900, 2000, timeouts)]
        for c, (rps, p99, rss_mib) in (scale or {}).items():
            lines += ["scale_c%d=%s" % (c, self.wrk("%s-c%d" % (tag, c), rps, p99 // 2, p99)),
                      "scale_cpu_c%d_s=%s" % (c, rps * 30e-6), "scale_rss_c%d_mib=%s" % (c, rss_mib),
                      "scale_origin_conns_c%d=%d" % (c, c)]
        if scale:
            lines.append("idle_rss_3000_mib=%s" % (rss_conns + 2))
        path = os.path.join(self.tmp, tag + ".kv")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.kvs.append(path)

    def report(self, **meta):
        base = dict(started="T", conns="1024", targets="direct,nginx,corral,corral-baseline", repeat="3",
                    cpu_others_pct="5", workers="1")
        base.update(meta)
        prefix = os.path.join(self.tmp, "out")
        out = sys.stdout
        try:
            sys.stdout = open(os.devnull, "w")
            util.report(prefix, self.kvs, ["%s=%s" % kv for kv in base.items()])
        finally:
            sys.stdout.close()
            sys.stdout = out
        return json.loads(util.read(prefix + ".json")), util.read(prefix + ".md")


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.rig = Rig(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def three_rounds(self, corral_rps=(12000, 9000, 13000), nginx_rps=(10000, 6000, 10000)):
        # Both vary, with a noisy round in the middle that slowed both: per-round ratios 1.2, 1.5,
        # 1.3 (median 1.3), where the ratio of the medians (12,000 / 10,000) would be 1.2.
        for rnd, (crps, nrps) in enumerate(zip(corral_rps, nginx_rps), 1):
            order = ["direct", "nginx", "corral", "corral-baseline"]
            order = order[rnd - 1:] + order[:rnd - 1]
            for pos, name in enumerate(order, 1):
                rps, p99, rss = {"direct": (20000, 100, 10.5), "nginx": (nrps, 172, 11.5),
                                 "corral": (crps, 300 + 100 * rnd, 12), "corral-baseline": (8000, 900, 16)}[name]
                self.rig.target(rnd, pos, name, rps, p99, rss)

    def test_ratio_is_median_of_per_round_ratios_with_min_and_max(self):
        self.three_rounds()
        data, md = self.rig.report()
        s = data["summary"]["ratios"]["corral/nginx"]["rps_c64"]
        self.assertEqual((s["median"], s["min"], s["max"], s["n"]), (1.3, 1.2, 1.5, 3))
        self.assertIn("rps c=64 1.30x [1.20–1.50]", md)
        base = data["summary"]["ratios"]["corral/corral-baseline"]["rps_c64"]
        self.assertEqual(base["median"], 1.5)

    def test_every_round_keeps_its_raw_numbers_and_order(self):
        self.three_rounds()
        data, _ = self.rig.report()
        self.assertEqual([r["round"] for r in data["rounds"]], [1, 2, 3])
        self.assertEqual(data["rounds"][1]["order"], ["nginx", "corral", "corral-baseline", "direct"])
        by = {r["target"]: r for r in data["rounds"][1]["results"]}
        self.assertEqual(by["corral"]["c64"]["requests"], 9000)
        self.assertEqual(data["rounds"][1]["ratios"]["corral/nginx"]["rps_c64"], 1.5)

    def test_added_p99_per_target_and_corral_against_each_peer(self):
        self.three_rounds()
        data, md = self.rig.report()
        added = data["summary"]["targets"]["corral"]["added_p99_us_c1"]
        self.assertEqual((added["median"], added["min"], added["max"]), (400, 300, 500))
        self.assertEqual(data["summary"]["targets"]["nginx"]["added_p99_us_c1"]["median"], 72)
        # corral added 300/400/500 over nginx's 72 in each round
        self.assertAlmostEqual(data["summary"]["ratios"]["corral/nginx"]["added_p99_us_c1"]["median"], 400 / 72, 3)
        self.assertIn("added p99 c=1 +400 / +72 µs (5.56x [4.17–6.94])", md)

    def test_idle_connection_memory_per_target_and_ratio(self):
        self.three_rounds()
        data, md = self.rig.report()
        # against the RSS before the connections (11 MiB): corral (12 - 11) MiB over 1,024 connections
        # = 1 KiB, nginx (11.5 - 11) = 0.5 KiB; against the RSS at start (10 MiB): 2 and 1.5 KiB
        t, r = data["summary"]["targets"], data["summary"]["ratios"]["corral/nginx"]
        self.assertEqual((t["corral"]["kib_per_idle_conn"]["median"], t["nginx"]["kib_per_idle_conn"]["median"]), (1, 0.5))
        self.assertEqual(r["kib_per_idle_conn"]["median"], 2.0)
        self.assertEqual(t["corral"]["kib_per_idle_conn_vs_start"]["median"], 2.0)
        self.assertAlmostEqual(r["kib_per_idle_conn_vs_start"]["median"], 2 / 1.5, 3)
        self.assertIn("idle conn 1.00 / 0.50 KiB (2.00x [2.00–2.00]), vs start 2.00 / 1.50 KiB (1.33x", md)

    def test_negative_added_latency_gives_no_ratio(self):
        self.rig.target(1, 1, "direct", 20000, 500, 10.5)
        self.rig.target(1, 2, "nginx", 10000, 400, 11)   # below direct's p99: noise
        self.rig.target(1, 3, "corral", 10000, 800, 12)
        data, _ = self.rig.report(repeat="1", targets="direct,nginx,corral")
        self.assertNotIn("added_p99_us_c1", data["summary"]["ratios"]["corral/nginx"])
        self.assertEqual(data["summary"]["targets"]["nginx"]["added_p99_us_c1"]["median"], -100)

    def test_scale_levels_and_slope(self):
        for pos, (name, rps) in enumerate((("direct", 20000), ("nginx", 8000), ("corral", 10000)), 1):
            self.rig.target(1, pos, name, rps, 200, 12, scale={512: (rps, 40000, 30), 4096: (rps // 2, 400000, 60)})
        data, md = self.rig.report(repeat="1", targets="direct,nginx,corral", scale="1",
                                   client_levels="1,64,512,4096", idle_levels="1000,3000")
        r = data["summary"]["ratios"]["corral/nginx"]
        self.assertEqual(r["rps_c4096"]["median"], 1.25)
        self.assertEqual(r["p99_us_c512"]["median"], 1.0)
        # 2 MiB more between 1,000 and 3,000 idle connections: 1.024 KiB each
        self.assertEqual(data["summary"]["targets"]["corral"]["kib_per_idle_conn_slope"]["median"], 1.024)
        row = next(line for line in md.splitlines() if line.startswith("| corral ") and "400,000" in line)
        self.assertEqual([c.strip() for c in row.split("|")[2:6]],
                         ["1,000 / 200", "10,000 / 2,000", "10,000 / 40,000", "5,000 / 400,000"])

    def test_a_load_without_answers_warns_and_has_no_latency(self):
        self.rig.target(1, 1, "direct", 20000, 200, 12, scale={4096: (20000, 400000, 60)})
        self.rig.target(1, 2, "corral", 10000, 300, 12, scale={4096: (0, 0, 20)})
        data, md = self.rig.report(repeat="1", targets="direct,corral", scale="1", client_levels="1,64,4096",
                                   idle_levels="1000,3000")
        m = data["rounds"][0]["metrics"]["corral"]
        self.assertEqual(m["rps_c4096"], 0)
        self.assertNotIn("p99_us_c4096", m)
        self.assertIn("corral c4096: 0 responses in 1.0 s over 4096 connections", "\n".join(data["warnings"]))

    def test_errors_warn_with_their_round(self):
        self.three_rounds()
        self.rig.target(4, 1, "corral", 10000, 300, 12, timeouts=3)
        data, _ = self.rig.report()
        self.assertTrue(any(w.startswith("round 4: corral c64: 3 errors") for w in data["warnings"]), data["warnings"])


if __name__ == "__main__":
    unittest.main()
