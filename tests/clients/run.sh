#!/usr/bin/env bash
# run.sh SIM_BIN CORRAL_BIN [corral args...]
# Starts the simulated backend and corral in front of it on free loopback
# ports, then runs clients.mjs (official ollama/openai npm clients) against
# both and compares. Extra corral flags come from $EXTRA_CORRAL_ARGS (e.g.
# "--io epoll") and/or the arguments after CORRAL_BIN. $MODEL and $EMBED_MODEL
# override the models used. Exits with node's status.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 SIM_BIN CORRAL_BIN [corral args...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
sim=$1 corral=$2
shift 2
read -r -a extra <<<"${EXTRA_CORRAL_ARGS:-}"

[[ -d "$here/node_modules" ]] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

logs=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# wait_up NAME PORT LOG: GET / answers within ~10 s (while the last started
# process lives), or fail showing its log.
wait_up() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$2/" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 is not answering on 127.0.0.1:$2; its log:" >&2
  cat "$3" >&2
  return 1
}

backend_port=$(free_port)
"$sim" --listen "127.0.0.1:$backend_port" >"$logs/sim.log" 2>&1 &
pids+=($!)
wait_up corral-sim "$backend_port" "$logs/sim.log"

proxy_port=$(free_port)
"$corral" --listen "127.0.0.1:$proxy_port" --backend "http://127.0.0.1:$backend_port" --workers 2 \
  ${extra[@]+"${extra[@]}"} "$@" >"$logs/corral.log" 2>&1 &
pids+=($!)
wait_up corral "$proxy_port" "$logs/corral.log"

status=0
node --test-reporter=tap "$here/clients.mjs" \
  --proxy "http://127.0.0.1:$proxy_port" --direct "http://127.0.0.1:$backend_port" \
  --model "${MODEL:-llama3.2}" --embed-model "${EMBED_MODEL:-nomic-embed-text}" || status=$?
if [[ $status -ne 0 ]]; then
  echo "# clients.mjs failed ($status); corral log:" >&2
  sed 's/^/#   /' "$logs/corral.log" >&2
fi
exit "$status"
