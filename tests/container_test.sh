#!/usr/bin/env bash
# The container image, for real: corral and corral-sim each in a container (host
# network, free loopback ports), the official ollama and openai npm clients through
# it, /health, /metrics, the HEALTHCHECK, environment overrides (corral's and the
# seeds' names), a mounted config, SIGHUP reload, a read-only root with the
# /var/lib/corral volume, a non-root process, and a clean SIGTERM stop.
#
#   tests/container_test.sh --build-dir MESON_BUILD   # builds the image from that build, then tests it
#   tests/container_test.sh --image TAG --dir DIR      # tests an image tools/container built in DIR
# Exit 77 (skipped) only where this machine cannot run containers at all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="" image="" dir=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "usage: $0 --build-dir MESON_BUILD | --image TAG --dir DIR" >&2; exit 2 ;;
  esac
done
source "$root/tests/lib.sh"
skip_without_containers

if [[ -z $image ]]; then
  dir=$build_dir/container
  image=localhost/corral:test
  start=$(date +%s)
  "$root/tools/container" --dir "$dir" --build-dir "$build_dir" --tag "$image"
  echo "# image built in $(($(date +%s) - start)) s"
fi
source <("$root/tools/container" --dir "$dir" --env)

tmp=$(mktemp -d)
names=()
cleanup() {
  for n in "${names[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1 || true; done
  podman volume rm -f "corral-data-$$" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*"
  for n in "${names[@]}"; do echo "# podman logs $n:"; podman logs "$n" 2>&1 | tail -n 20 | sed 's/^/#   /'; done
  exit 1
}
# run NAME ARGS...: a detached container; podman's own complaints go to a log.
run() {
  local name=$1; shift
  names+=("$name")
  podman run -d --name "$name" --pull=never "$@" >"$tmp/$name.id" 2>"$tmp/$name.podman.log" ||
    { cat "$tmp/$name.podman.log"; fail "podman run $name"; }
}
up() {  # up PORT PATH: an HTTP answer within 10 s
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  return 1
}

bp=$(free_port) cp=$(free_port) cp2=$(free_port)
run "corral-sim-$$" --entrypoint /usr/bin/corral-sim "$image" --listen "127.0.0.1:$bp"
up "$bp" / || fail "corral-sim in its container does not answer on 127.0.0.1:$bp"
run "corral-$$" --read-only -v "corral-data-$$:/var/lib/corral" \
  -e CORRAL_LISTEN="127.0.0.1:$cp" -e CORRAL_BACKEND="http://127.0.0.1:$bp" -e CORRAL_WORKERS=2 "$image"
up "$cp" /health || fail "corral in its container does not answer on 127.0.0.1:$cp (CORRAL_LISTEN)"
ok "corral-sim and corral run in containers; corral listens where CORRAL_LISTEN says"

start_line=$(podman logs "corral-$$" 2>&1 | grep 'event=start' || true)
[[ $start_line == *" workers=2 "* && $start_line == *"backends=http://127.0.0.1:$bp"* ]] ||
  fail "CORRAL_WORKERS/CORRAL_BACKEND not applied: $start_line"
io=$(sed -n 's/.* io=\([^ ]*\) io_reason=\(.*\) backends=.*/\1 (\2)/p' <<<"$start_line")
ok "CORRAL_WORKERS=2 and CORRAL_BACKEND applied; I/O in the container: $io"

# With podman's default seccomp profile io_uring is ENOSYS and corral falls back to epoll;
# with tools/container's profile that allows it, corral runs on io_uring in a container too.
[[ $io == epoll* || -f $dir/seccomp-io_uring.json ]] || fail "no seccomp-io_uring.json written"
if [[ -f $dir/seccomp-io_uring.json ]]; then
  up=$(free_port)
  run "corral-uring-$$" --security-opt "seccomp=$dir/seccomp-io_uring.json" -e CORRAL_LISTEN="127.0.0.1:$up" \
    -e CORRAL_BACKEND="http://127.0.0.1:$bp" -e CORRAL_IO=uring -e ANALYTICS_BACKEND=none "$image"
  up "$up" /health || fail "corral with CORRAL_IO=uring under seccomp-io_uring.json does not start"
  gen=$(curl -s "http://127.0.0.1:$up/api/generate" -d '{"model":"llama3.2","prompt":"hi","stream":false}')
  [[ $gen == *'"done":true'* ]] || fail "/api/generate on io_uring in a container: $gen"
  [[ $(podman logs "corral-uring-$$" 2>&1) == *'event=start '*' io=io_uring '* ]] || fail "not on io_uring"
  podman rm -f -t 0 "corral-uring-$$" >/dev/null 2>&1
  ok "io_uring in a container with seccomp-io_uring.json (CORRAL_IO=uring, a generate through it)"
fi

pid=$(podman inspect --format '{{.State.Pid}}' "corral-$$")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ $uid == 10001 ]] || fail "corral runs as uid $uid, want the image's non-root 10001"
ok "corral's process runs as uid $uid (non-root)"

[[ -d $root/tests/clients/node_modules ]] || (cd "$root/tests/clients" && npm ci --no-audit --no-fund --loglevel=error)
node --test-reporter=tap "$root/tests/clients/clients.mjs" --proxy "http://127.0.0.1:$cp" \
  --direct "http://127.0.0.1:$bp" --model llama3.2 --embed-model nomic-embed-text >"$tmp/clients.tap" 2>&1 ||
  { cat "$tmp/clients.tap"; fail "clients"; }
clients=$(sed -n 's/^# pass //p' "$tmp/clients.tap")
ok "official ollama and openai npm clients through the container: $clients passed"

health=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$cp/health")
[[ $health == *'"status":"ok"'*' 200' ]] || fail "/health: $health"
podman healthcheck run "corral-$$" >"$tmp/hc.log" 2>&1 || { cat "$tmp/hc.log"; fail "HEALTHCHECK is not healthy"; }
ok "/health is 200 ok and the image's HEALTHCHECK passes"

curl -s "http://127.0.0.1:$cp/metrics" >"$tmp/metrics.txt"
grep -q '^corral_build_info{' "$tmp/metrics.txt" || fail "/metrics has no corral_build_info"
grep -Eq '^corral_requests_total\{endpoint="/api/chat".* [1-9]' "$tmp/metrics.txt" ||
  fail "/metrics counted no /api/chat request from the clients"
ok "/metrics counts the clients' requests"

podman exec --user 0 "corral-$$" touch /etc/x 2>/dev/null && fail "the root filesystem is writable under --read-only"
for _ in $(seq 50); do podman exec "corral-$$" test -s /var/lib/corral/analytics.db && break; sleep 0.1; done
podman exec "corral-$$" test -s /var/lib/corral/analytics.db || fail "no analytics store in the /var/lib/corral volume"
ok "read-only root; the analytics store is written to the /var/lib/corral volume"

podman kill --signal HUP "corral-$$" >/dev/null 2>&1
reloaded() { [[ $(podman logs "corral-$$" 2>&1) == *'event=reload result=ok'* ]]; }
for _ in $(seq 50); do reloaded && break; sleep 0.1; done
reloaded || fail "SIGHUP did not reload /etc/corral/corral.yaml"
ok "SIGHUP reloads the image's /etc/corral/corral.yaml"

# The seeds' names over a mounted config file: PROXY_PORT moves the file's port,
# OLLAMA_HOST + OLLAMA_BACKEND_PORT name the backend; the HEALTHCHECK follows PROXY_PORT.
printf 'listen: "127.0.0.1:11434"\nworkers: 1\nanalytics: {backend: none}\n' >"$tmp/corral.yaml"
run "corral-seed-$$" --read-only -v "$tmp/corral.yaml:/etc/corral/corral.yaml:ro" \
  -e PROXY_PORT="$cp2" -e OLLAMA_HOST=127.0.0.1 -e OLLAMA_BACKEND_PORT="$bp" "$image"
up "$cp2" /health || fail "PROXY_PORT=$cp2 over a mounted config: corral does not answer there"
tags=$(curl -s "http://127.0.0.1:$cp2/api/tags")
[[ $tags == *'"llama3.2'* ]] || fail "/api/tags through OLLAMA_HOST/OLLAMA_BACKEND_PORT: $tags"
podman healthcheck run "corral-seed-$$" >"$tmp/hc2.log" 2>&1 ||
  { cat "$tmp/hc2.log"; fail "HEALTHCHECK with PROXY_PORT"; }
ok "mounted config + PROXY_PORT, OLLAMA_HOST, OLLAMA_BACKEND_PORT; HEALTHCHECK follows PROXY_PORT"

podman stop -t 20 "corral-$$" >/dev/null 2>&1
code=$(podman inspect --format '{{.State.ExitCode}}' "corral-$$")
[[ $code == 0 && $(podman logs "corral-$$" 2>&1) == *'event=stopped'* ]] || fail "podman stop: exit code $code"
ok "podman stop: SIGTERM, drain, exit 0"
echo "$passed passed, 0 failed"
