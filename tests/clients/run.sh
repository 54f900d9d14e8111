#!/usr/bin/env bash
# run.sh SIM_BIN CORRAL_BIN [corral args...]
# Starts the simulated backend and corral in front of it on free loopback
# ports, then runs clients.mjs (official ollama/openai npm clients) against
# both and compares. Extra corral flags come from $EXTRA_CORRAL_ARGS (e.g.
# "--io epoll") and/or the arguments after CORRAL_BIN. $MODEL and $EMBED_MODEL
# override the models used. Exits with node's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
sim_and_corral "$@"
shift 2
read -r -a extra <<<"${EXTRA_CORRAL_ARGS:-}"

[[ -d "$here/node_modules" ]] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

logs=$(mktemp -d)
trap 'stop_started; rm -rf "$logs"' EXIT

backend_port=$(free_port)
"$sim" --listen "127.0.0.1:$backend_port" >"$logs/sim.log" 2>&1 &
pids+=($!)
wait_up corral-sim "$backend_port" / "$logs/sim.log"

proxy_port=$(free_port)
"$corral" --listen "127.0.0.1:$proxy_port" --backend "http://127.0.0.1:$backend_port" --workers 2 --data-dir "$logs/data" \
  ${extra[@]+"${extra[@]}"} "$@" >"$logs/corral.log" 2>&1 &
pids+=($!)
wait_up corral "$proxy_port" /health "$logs/corral.log"

status=0
node --test-reporter=tap "$here/clients.mjs" \
  --proxy "http://127.0.0.1:$proxy_port" --direct "http://127.0.0.1:$backend_port" \
  --model "${MODEL:-llama3.2}" --embed-model "${EMBED_MODEL:-nomic-embed-text}" || status=$?
if [[ $status -ne 0 ]]; then
  echo "# clients.mjs failed ($status); corral log:" >&2
  sed 's/^/#   /' "$logs/corral.log" >&2
fi
exit "$status"
