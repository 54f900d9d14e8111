#!/usr/bin/env bash
# A real Prometheus scrapes corral on loopback; PromQL over its HTTP API must see
# the request count we sent. Also: promtool validates corral's exposition and the
# shipped alert rules.
set -euo pipefail
corral=$1 sim=$2 root=$3
tmp=$(mktemp -d)
source "$(dirname "$0")/lib.sh"
trap 'stop_started; rm -rf "$tmp"' EXIT
bp=$(free_port) cp=$(free_port) pp=$(free_port)
"$sim" --listen "127.0.0.1:$bp" 2>/dev/null & pids+=($!)
wait_up corral-sim "$bp" /
"$corral" --listen "127.0.0.1:$cp" --backend "http://127.0.0.1:$bp" --workers 2 --log-level warn \
  --data-dir "$tmp/corral-data" & pids+=($!)
wait_up corral "$cp" /health

for i in $(seq 17); do curl -sf "http://127.0.0.1:$cp/api/tags" >/dev/null; done
curl -sf "http://127.0.0.1:$cp/api/generate" -d '{"model":"llama3.2","prompt":"why is the sky blue?"}' >/dev/null

curl -sf "http://127.0.0.1:$cp/metrics" > "$tmp/metrics.txt"
promtool check metrics < "$tmp/metrics.txt"
echo "ok: promtool check metrics"
promtool check rules "$root/packaging/prometheus/corral-rules.yml"
echo "ok: promtool check rules"
promtool check config "$root/packaging/prometheus/prometheus.yml" >/dev/null
echo "ok: promtool check config"

# Every Grafana panel query and the KEDA query must parse as PromQL and name only
# metric families corral really exposes.
/usr/bin/python3 - "$root" "$tmp" <<'PY'
import json, re, sys, yaml
root, tmp = sys.argv[1], sys.argv[2]
exprs = [t["expr"] for p in json.load(open(root + "/packaging/grafana/corral.json"))["panels"] for t in p["targets"]]
exprs += [tr["metadata"]["query"] for tr in yaml.safe_load(open(root + "/packaging/k8s/keda-scaledobject.yaml"))["spec"]["triggers"]]
exprs = [e.replace("$instance", ".*").replace("$model", ".*") for e in exprs]
rules = {"groups": [{"name": "dashboard", "rules": [{"record": "dashboard:q%d" % i, "expr": e} for i, e in enumerate(exprs)]}]}
yaml.safe_dump(rules, open(tmp + "/dashboard-rules.yml", "w"))
exposed = open(tmp + "/metrics.txt").read()
names = {n for e in exprs for n in re.findall(r"\b((?:corral|process)_[a-z_]+)\b", e)}
missing = sorted(n for n in names if not re.search(r"^" + re.escape(n) + r"[ {]", exposed, re.M))
if missing:
    sys.exit("dashboard names metrics corral does not expose: %s" % missing)
for f in ("corral.yaml", "servicemonitor.yaml", "hpa.yaml", "keda-scaledobject.yaml", "prometheus-adapter-values.yaml"):
    docs = list(yaml.safe_load_all(open(root + "/packaging/k8s/" + f)))
    assert docs and all(docs), f
hpa = yaml.safe_load(open(root + "/packaging/k8s/hpa.yaml"))["spec"]
assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10), hpa
assert hpa["metrics"][0]["external"]["metric"]["name"] == "corral_utilization_ratio"
print("ok: %d dashboard/KEDA queries name exposed metrics; k8s manifests parse" % len(exprs))
PY
promtool check rules "$tmp/dashboard-rules.yml" >/dev/null
echo "ok: dashboard queries are valid PromQL"

cat > "$tmp/prom.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: corral
    static_configs: [{targets: ["127.0.0.1:$cp"]}]
YAML
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/data" --web.listen-address="127.0.0.1:$pp" \
  --log.level=warn 2>"$tmp/prom.log" & pids+=($!)
wait_up prometheus "$pp" /-/ready "$tmp/prom.log"
q='sum(corral_requests_total{endpoint="/api/tags",code="200"})'
got=""
for _ in $(seq 150); do
  got=$(curl -s "http://127.0.0.1:$pp/api/v1/query" --data-urlencode "query=$q" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
  [[ "$got" == "17" ]] && break
  sleep 0.2
done
[[ "$got" == "17" ]] || { echo "FAIL: Prometheus query $q gave '$got', want 17"; cat "$tmp/prom.log"; exit 1; }
echo "ok: Prometheus scraped corral: $q = $got"
up=$(curl -s "http://127.0.0.1:$pp/api/v1/query" --data-urlencode 'query=up{job="corral"}' |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
[[ "$up" == "1" ]] || { echo "FAIL: up{job=corral} = $up"; exit 1; }
echo "6 passed, 0 failed"
