#!/usr/bin/env bash
# run.sh SIM_BIN CORRAL_BIN OUT_DIR: corral (SQLite analytics in a temp dir) in
# front of corral-sim, a known mix of requests, then dashboard.mjs in headless
# Chromium. The screenshot goes to OUT_DIR/dashboard.png.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
sim=$1 corral=$2 out=$3
mkdir -p "$out"
[[ -d "$here/node_modules" ]] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
trap 'stop_started; rm -rf "$work"' EXIT

bp=$(free_port)
"$sim" --listen "127.0.0.1:$bp" --models "alpha=1000,beta=1000" >"$work/sim.log" 2>&1 & pids+=($!)
wait_up corral-sim "$bp" / "$work/sim.log"
cp=$(free_port)
"$corral" --listen "127.0.0.1:$cp" --backend "http://127.0.0.1:$bp" --workers 2 --data-dir "$work/data" \
  --log-level warn >"$work/corral.log" 2>&1 & pids+=($!)
wait_up corral "$cp" /health "$work/corral.log"  # not recorded, unlike a proxied GET /

gen() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$cp/api/generate" -d "{\"model\":\"$1\",\"prompt\":\"$2\",\"stream\":false}"; }
for i in 1 2 3 4 5 6; do [[ $(gen alpha "explain item $i") == 200 ]]; done
for i in 1 2 3; do [[ $(gen beta "translate line $i") == 200 ]]; done
for i in 1 2; do [[ $(gen missing "hello") == 404 ]]; done
# records reach the store within the flush interval
for _ in $(seq 50); do
  total=$(curl -s "http://127.0.0.1:$cp/analytics/search?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  [[ $total == 11 ]] && break
  sleep 0.1
done

status=0
node --test-reporter=tap "$here/dashboard.mjs" --url "http://127.0.0.1:$cp" --expect-total 11 \
  --model beta --expect-model 3 --screenshot "$out/dashboard.png" || status=$?
if [[ $status -ne 0 ]]; then
  echo "# dashboard.mjs failed ($status); corral log:" >&2
  sed 's/^/#   /' "$work/corral.log" >&2
fi
exit "$status"
