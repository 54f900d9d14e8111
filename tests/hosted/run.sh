#!/usr/bin/env bash
# run.sh SIM_BIN CORRAL_BIN [corral args...]
# Hosted backends end to end (issue 13): makes test certificates
# (../fakes/make-certs.sh), starts the fake OpenAI and Anthropic APIs over TLS
# with API keys (plus a second fake OpenAI that closes idle connections after
# 100 ms, for TLS session resumption), corral-sim, a fake Ollama that echoes
# tools and images (fake-ollama.mjs), and corral with openai and
# anthropic backends, aliases and a TLS listener; then runs hosted.mjs with the
# official openai, @anthropic-ai/sdk and ollama npm clients. Extra corral flags
# (e.g. --io epoll) follow CORRAL_BIN. Exits with node's status, or 1 when
# corral did not start (the set-up tests still run, to show the fakes work).
# HOSTED_HOLD=FILE: start everything, write the addresses to FILE and wait
# (for debugging by hand; stop it with a signal).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
sim_and_corral "$@"
shift 2
clients=$here/../clients
fakes=$here/../fakes
[[ -d "$clients/node_modules/@anthropic-ai/sdk" ]] || (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
trap 'stop_started; rm -rf "$work"' EXIT
"$fakes/make-certs.sh" "$work/certs" >/dev/null
export FAKE_OPENAI_KEY=sk-proj-hosted-fake-openai-7f3a9c0d2e
export FAKE_ANTHROPIC_KEY=sk-ant-api03-hosted-fake-anthropic-5b1e8d
export NODE_EXTRA_CA_CERTS=$work/certs/ca.pem

# start_fake NAME SCRIPT [flags...]: a fake on a free port; sets port_NAME.
start_fake() {
  local name=$1 script=$2
  shift 2
  node "$script" --port 0 "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do
    local p
    p=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$work/$name.out" 2>/dev/null || true)
    if [[ -n $p ]]; then
      printf -v "port_$name" %s "$p"
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "fake $name did not start" >&2
  cat "$work/$name.log" >&2
  return 1
}
openai_models=gpt-4o,gpt-4o-mini,gpt-4o-rate-limit,gpt-4o-server-error,gpt-4o-mid-stream-error
anthropic_models=claude-sonnet-4-5,claude-rate-limit,claude-server-error,claude-mid-stream-error
tls=(--cert "$work/certs/server.pem" --key "$work/certs/server.key")
start_fake openai "$fakes/fake-openai.mjs" "${tls[@]}" --api-key "$FAKE_OPENAI_KEY" --models "$openai_models"
start_fake anthropic "$fakes/fake-anthropic.mjs" "${tls[@]}" --api-key "$FAKE_ANTHROPIC_KEY" \
  --models "$anthropic_models"
start_fake brief "$fakes/fake-openai.mjs" "${tls[@]}" --api-key "$FAKE_OPENAI_KEY" --models gpt-4.1-mini \
  --keep-alive-ms 100
start_fake ollama "$here/fake-ollama.mjs" --plain --models echo-llama:latest

sim_port=$(free_port)
"$sim" --listen "127.0.0.1:$sim_port" >"$work/sim.log" 2>&1 &
pids+=($!)
wait_up corral-sim "$sim_port" / "$work/sim.log"

port=$(free_port)
tls_port=$(free_port)
ca=$work/certs/ca.pem
cat >"$work/corral.yaml" <<EOF
listen: "127.0.0.1:$port"
tls_listen: {address: "127.0.0.1:$tls_port", cert: "$work/certs/server.pem", key: "$work/certs/server.key"}
workers: 2
backends:
  - {name: local, url: "http://127.0.0.1:$sim_port"}
  - {name: echo, url: "http://127.0.0.1:$port_ollama"}
  - name: openai
    kind: openai
    url: "https://127.0.0.1:$port_openai"
    api_key_env: FAKE_OPENAI_KEY
    models: [gpt-4o, gpt-4o-mini, gpt-4o-rate-limit, gpt-4o-server-error, gpt-4o-mid-stream-error]
    tls: {ca_file: "$ca", verify: true, server_name: null}
  - {name: anthropic, kind: anthropic, url: "https://localhost:$port_anthropic", api_key_env: FAKE_ANTHROPIC_KEY,
     models: [claude-sonnet-4-5, claude-rate-limit, claude-server-error, claude-mid-stream-error],
     tls: {ca_file: "$ca"}}
  - name: openai-brief
    kind: openai
    url: "https://127.0.0.1:$port_brief"
    api_key_env: FAKE_OPENAI_KEY
    tls: {ca_file: "$ca"}
models:
  assignments: {gpt-4: openai, gpt-4o-rate-limit: openai, gpt-4o-server-error: openai,
                claude-rate-limit: anthropic, claude-server-error: anthropic}
  aliases: {fast: "llama3.2:latest", gpt-4: gpt-4o}
health: {interval: 1h}
discovery: {interval: 1h}
EOF

status=0
"$corral" --config "$work/corral.yaml" --data-dir "$work/data" "$@" >"$work/corral.log" 2>&1 &
pids+=($!)
wait_up corral "$port" /health "$work/corral.log" || status=1

if [[ -n ${HOSTED_HOLD:-} ]]; then  # debugging: leave everything running, its addresses in that file
  { echo "corral=http://127.0.0.1:$port corral_tls=https://localhost:$tls_port sim=http://127.0.0.1:$sim_port"
    echo "openai=https://localhost:$port_openai anthropic=https://localhost:$port_anthropic"
    echo "brief=https://localhost:$port_brief ollama=http://127.0.0.1:$port_ollama work=$work"; } >"$HOSTED_HOLD"
  sleep infinity
fi
node --test-reporter=tap "$here/hosted.mjs" --corral "http://127.0.0.1:$port" \
  --corral-tls "https://localhost:$tls_port" --sim "http://127.0.0.1:$sim_port" \
  --openai "https://localhost:$port_openai" --anthropic "https://localhost:$port_anthropic" \
  --openai-brief "https://localhost:$port_brief" --ollama "http://127.0.0.1:$port_ollama" || status=$?
if [[ $status -ne 0 ]]; then
  echo "# hosted.mjs failed ($status); corral log:" >&2
  sed 's/^/#   /' "$work/corral.log" >&2
  for f in openai anthropic brief ollama; do
    [[ -s "$work/$f.log" ]] && sed "s/^/#   fake-$f: /" "$work/$f.log" >&2
  done
fi
exit "$status"
