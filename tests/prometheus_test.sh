#!/usr/bin/env bash
# A real Prometheus scrapes corral on loopback; PromQL over its HTTP API must see
# the request count we sent. Also: promtool validates corral's exposition and the
# shipped alert rules, and the packaging's queries name families corral exposes, for
# the default namespace and for a rendering for another (tools/render-packaging).
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

# The same files rendered for metrics.namespace: ollama (tools/render-packaging), checked
# against a corral started with that namespace: dashboards and rules follow the namespace.
"$root/tools/render-packaging" ollama "$tmp/ollama-packaging" 2>/dev/null
op=$(free_port)
printf 'metrics: {namespace: ollama}\nanalytics: {backend: none}\n' >"$tmp/ollama.yaml"
"$corral" --config "$tmp/ollama.yaml" --listen "127.0.0.1:$op" --backend "http://127.0.0.1:$bp" --workers 1 \
  --log-level warn & pids+=($!)
wait_up corral-ollama-namespace "$op" /health
curl -sf "http://127.0.0.1:$op/api/tags" >/dev/null
curl -sf "http://127.0.0.1:$op/api/generate" -d '{"model":"llama3.2","prompt":"why is the sky blue?"}' >/dev/null
curl -sf "http://127.0.0.1:$op/metrics" > "$tmp/ollama-metrics.txt"
promtool check rules "$tmp/ollama-packaging/prometheus/corral-rules.yml" >/dev/null
echo "ok: promtool check rules (rendered for metrics.namespace ollama)"
promtool check metrics < "$tmp/ollama-metrics.txt"
echo "ok: promtool check metrics (namespace ollama)"

# metrics.seed_names and metrics.key_labels: every extra family promtool-clean, in both
# namespaces, with samples in it (traffic with an API key), and absent when off.
"$corral" keys create team-a --data-dir "$tmp/keys-data" >"$tmp/key.out"
token=$(tail -n 1 "$tmp/key.out")
seed_families='requests_per_minute avg_response_time utilization_percent healthy_endpoints tokens_generated'
seed_families+=' key_requests_total key_tokens_total'
for ns in corral ollama; do
  sp=$(free_port)
  printf 'metrics: {namespace: %s, key_labels: true}\nanalytics: {backend: none}\n' "$ns" >"$tmp/seed-$ns.yaml"
  CORRAL_METRICS_SEED_NAMES=on "$corral" --config "$tmp/seed-$ns.yaml" --listen "127.0.0.1:$sp" \
    --backend "http://127.0.0.1:$bp" --workers 2 --log-level warn --auth --data-dir "$tmp/keys-data" & pids+=($!)
  wait_up "corral-seed-names-$ns" "$sp" /health
  for i in 1 2 3; do
    curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$sp/api/generate" \
      -d '{"model":"llama3.2","prompt":"why is the sky blue?"}' >/dev/null
  done
  # A client can read its answer a moment before corral records it: scrape until only the
  # scrape is in flight, then once more (that scrape read the counters before the gauge).
  for _ in $(seq 100); do
    m=$(curl -sf "http://127.0.0.1:$sp/metrics") && grep -q "^${ns}_in_flight_requests 1$" <<<"$m" && break
    sleep 0.05
  done
  curl -sf "http://127.0.0.1:$sp/metrics" > "$tmp/seed-$ns.txt"
  promtool check metrics < "$tmp/seed-$ns.txt"
  for f in $seed_families; do
    grep -q "^${ns}_${f}[ {_]" "$tmp/seed-$ns.txt" || { echo "FAIL: namespace $ns: no ${ns}_$f"; exit 1; }
  done
  grep -q "^${ns}_requests_total{.*,prompt_category=\"question\",status=\"200\"} 3$" "$tmp/seed-$ns.txt" ||
    { echo "FAIL: namespace $ns: requests_total has no prompt_category/status labels"; exit 1; }
  grep -q "^${ns}_key_requests_total{key=\"team-a\"} 3$" "$tmp/seed-$ns.txt" ||
    { echo "FAIL: namespace $ns: key_requests_total{key=team-a} is not 3"; exit 1; }
  echo "ok: promtool check metrics (namespace $ns, seed_names and key_labels on)"
done
for f in $seed_families; do
  if grep -q "^# TYPE \(corral\|ollama\)_$f " "$tmp/metrics.txt" "$tmp/ollama-metrics.txt"; then
    echo "FAIL: $f exposed with seed_names and key_labels off"; exit 1
  fi
done
if grep -q 'prompt_category=\|status="' "$tmp/metrics.txt" "$tmp/ollama-metrics.txt"; then
  echo "FAIL: seed 004's label names exposed with seed_names off"; exit 1
fi
echo "ok: seed_names and key_labels off: none of their families or labels"

# Every PromQL query of the Grafana dashboard (panels and variables), the alert and
# recording rules, KEDA, prometheus-adapter and the HPA's metric must parse and name
# only metric families corral exposes: for the shipped files (namespace corral) and for
# the rendering for namespace ollama. kube_* (kube-state-metrics) names are not corral's.
/usr/bin/python3 - "$root/packaging" corral "$tmp/metrics.txt" "$tmp/corral-queries.yml" \
  "$tmp/ollama-packaging" ollama "$tmp/ollama-metrics.txt" "$tmp/ollama-queries.yml" <<'PY'
import json, re, sys, yaml
def queries(pkg):
    dash = json.load(open(pkg + "/grafana/corral.json"))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [re.sub(r"^label_values\((\w+),.*\)$", r"\1", v["query"]) for v in dash["templating"]["list"]
              if v.get("type") == "query"]
    groups = yaml.safe_load(open(pkg + "/prometheus/corral-rules.yml"))["groups"]
    exprs += [r["expr"] for g in groups for r in g["rules"]]
    keda = yaml.safe_load(open(pkg + "/k8s/keda-scaledobject.yaml"))
    exprs += [tr["metadata"]["query"] for tr in keda["spec"]["triggers"]]
    for rule in yaml.safe_load(open(pkg + "/k8s/prometheus-adapter-values.yaml"))["rules"]["external"]:
        exprs += [rule["seriesQuery"], rule["metricsQuery"].replace("<<.LabelMatchers>>", 'namespace="llm"'),
                  rule["name"]["as"]]
    exprs += [m["external"]["metric"]["name"] for m in yaml.safe_load(open(pkg + "/k8s/hpa.yaml"))["spec"]["metrics"]]
    return [e.replace("$instance", ".*").replace("$model", ".*") for e in exprs]
for pkg, ns, metrics, out in (sys.argv[1:5], sys.argv[5:9]):
    exprs = queries(pkg)
    rules = {"groups": [{"name": "q", "rules": [{"record": "q:%d" % i, "expr": e} for i, e in enumerate(exprs)]}]}
    yaml.safe_dump(rules, open(out, "w"))
    exposed = open(metrics).read()
    names = {n for e in exprs for n in re.findall(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\b(?![(:])", e)
             if not n.startswith("kube_")}
    names = {n for n in names if n.startswith((ns + "_", "process_"))}
    missing = sorted(n for n in names if not re.search(r"^" + re.escape(n) + r"[ {]", exposed, re.M))
    if missing:
        sys.exit("namespace %s: packaging names metrics corral does not expose: %s" % (ns, missing))
    stale = sorted(set(re.findall(r"\bcorral_[a-z_]+", " ".join(exprs)))) if ns != "corral" else []
    if stale:
        sys.exit("namespace %s: rendering left corral_ names: %s" % (ns, stale))
    print("ok: namespace %s: %d queries (dashboard, rules, KEDA, adapter, HPA) name %d exposed families"
          % (ns, len(exprs), len(names)))
for f in ("configmap.yaml", "deployment.yaml", "service.yaml", "pdb.yaml", "servicemonitor.yaml", "hpa.yaml",
          "keda-scaledobject.yaml", "prometheus-adapter-values.yaml"):
    docs = list(yaml.safe_load_all(open(sys.argv[1] + "/k8s/" + f)))
    assert docs and all(docs), f
cm = yaml.safe_load(yaml.safe_load(open(sys.argv[5] + "/k8s/configmap.yaml"))["data"]["corral.yaml"])
assert cm["metrics"]["namespace"] == "ollama", cm["metrics"]
print("ok: k8s manifests parse; the rendered ConfigMap sets metrics.namespace ollama")
PY
promtool check rules "$tmp/corral-queries.yml" >/dev/null
promtool check rules "$tmp/ollama-queries.yml" >/dev/null
echo "ok: every packaging query is valid PromQL, in both namespaces"

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
echo "14 passed, 0 failed"
