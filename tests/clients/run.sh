#!/usr/bin/env bash
# run.sh SIM_BIN CORRAL_BIN [corral args...]: starts a backend and corral in
# front of it on free loopback ports, then runs clients.mjs against both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sim=$1 corral=$2
shift 2
[[ -d "$here/node_modules" ]] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
backend_port=$(free_port)
proxy_port=$(free_port)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$sim" --listen "127.0.0.1:$backend_port" 2>/dev/null &
pids+=($!)
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return; sleep 0.1; done; }
wait_up "$backend_port"
"$corral" --listen "127.0.0.1:$proxy_port" --backend "http://127.0.0.1:$backend_port" --workers 2 --log-level warn "$@" &
pids+=($!)
wait_up "$proxy_port"
node --test-reporter=spec "$here/clients.mjs" --proxy "http://127.0.0.1:$proxy_port" --direct "http://127.0.0.1:$backend_port"
