#!/usr/bin/env bash
# tools/run as a first-time user meets it: nothing on the backend port and no
# ollama on PATH, so it must start corral-sim, say so, and proxy to it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CORRAL_BUILD_DIR=$1
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
export PROXY_PORT=$(free_port) OLLAMA_BACKEND_PORT=$(free_port)
export PATH=/usr/bin:/bin  # no ollama
log=$(mktemp)
setsid "$root/tools/run" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null || true; rm -f "$log"' EXIT
ok=""
for _ in $(seq 200); do
  if curl -sf "http://127.0.0.1:$PROXY_PORT/api/tags" | grep -q '"models"'; then ok=1; break; fi
  sleep 0.1
done
cat "$log"
[[ -n "$ok" ]] || { echo "FAIL: no /api/tags answer through corral"; exit 1; }
grep -q "starting corral-sim" "$log" || { echo "FAIL: tools/run did not say it started corral-sim"; exit 1; }
curl -sf "http://127.0.0.1:$PROXY_PORT/health" | grep -q '"status":"ok"' || { echo "FAIL: /health"; exit 1; }
kill -INT -- -$pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then echo "FAIL: tools/run still running after Ctrl-C"; exit 1; fi
if curl -s -o /dev/null "http://127.0.0.1:$OLLAMA_BACKEND_PORT/"; then echo "FAIL: corral-sim left running"; exit 1; fi
echo "1 passed, 0 failed"
