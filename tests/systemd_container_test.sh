#!/usr/bin/env bash
# The installed systemd unit under the real service manager: a container booting
# Debian 12's systemd as init, with `meson install` of this build in it (binary,
# unit, config). `systemctl start corral` returns only once corral sent READY=1
# (Type=notify); then, under every hardening setting of the unit: a request through
# it on io_uring, no capabilities, no new privileges, a seccomp filter, a dynamic
# non-root user owning /var/lib/corral, `systemctl reload` (SIGHUP), watchdog pings,
# and a clean `systemctl stop`.
#   tests/systemd_container_test.sh MESON_BUILD
# Exit 77 (skipped) only where this machine cannot run containers at all.
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tests/lib.sh"
skip_without_containers
dir=$build/container
"$root/tools/container" --dir "$dir" --build-dir "$build" --systemd-image
source <("$root/tools/container" --dir "$dir" --env)

name=corral-systemd-$$
tmp=$(mktemp -d)
trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() {
  echo "FAIL: $*"
  podman exec "$name" journalctl -u corral -u corral-sim --no-pager 2>&1 | tail -n 30 | sed 's/^/#   /'
  exit 1
}
in_ct() { podman exec "$name" "$@"; }
prop() { in_ct systemctl show corral -p "$1" --value; }

# The io_uring profile lets the container's own filter pass io_uring; the unit's
# SystemCallFilter is what is tested.
podman run -d --name "$name" --systemd=always --pull=never --security-opt "seccomp=$dir/seccomp-io_uring.json" \
  localhost/corral-systemd:test >/dev/null 2>"$tmp/run.log" || { cat "$tmp/run.log"; fail "podman run"; }
state=""
for _ in $(seq 100); do
  state=$(in_ct systemctl is-system-running 2>/dev/null || true)
  [[ $state == running || $state == degraded ]] && break
  sleep 0.2
done
[[ $state == running || $state == degraded ]] || fail "systemd did not boot in the container ($state)"
ok "systemd booted as init in a Debian 12 container ($state)"

bp=$(free_port) cp=$(free_port)
bin=$(in_ct systemctl show corral -p ExecStart --value | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
in_ct systemd-run --quiet --unit corral-sim "$(dirname "$bin")/corral-sim" --listen "127.0.0.1:$bp"
in_ct mkdir -p /etc/systemd/system/corral.service.d
printf '[Service]\nEnvironment=CORRAL_LISTEN=127.0.0.1:%s CORRAL_BACKEND=http://127.0.0.1:%s CORRAL_WORKERS=2\n' \
  "$cp" "$bp" | podman exec -i "$name" tee /etc/systemd/system/corral.service.d/test.conf >/dev/null
in_ct systemctl daemon-reload
for _ in $(seq 50); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$bp/" && break; sleep 0.1; done
in_ct timeout 40 systemctl start corral || fail "systemctl start corral"
status=$(prop StatusText)
[[ $(prop ActiveState) == active && $status == "serving on 127.0.0.1:$cp, 1 backends" ]] ||
  fail "after start: $(prop ActiveState), status '$status'"
ok "systemctl start returned on READY=1: active, status '$status'"

gen=$(curl -s "http://127.0.0.1:$cp/api/generate" -d '{"model":"llama3.2","prompt":"hi","stream":false}')
[[ $gen == *'"done":true'* ]] || fail "/api/generate through the service: $gen"
start=$(in_ct journalctl -u corral --no-pager -o cat | grep 'event=start' | tail -n 1)
[[ $start == *' io=io_uring '* ]] || fail "not on io_uring under the unit's filter: $start"
ok "a generate through the service, on io_uring under SystemCallFilter"

pid=$(prop MainPID)
st=$(in_ct cat "/proc/$pid/status")
uid=$(awk '/^Uid:/ {print $2}' <<<"$st")
[[ $uid -ne 0 ]] || fail "corral runs as root"
[[ $(awk '/^CapEff:/ {print $2}' <<<"$st") == 0000000000000000 ]] || fail "corral has capabilities"
[[ $(awk '/^NoNewPrivs:/ {print $2}' <<<"$st") == 1 && $(awk '/^Seccomp:/ {print $2}' <<<"$st") == 2 ]] ||
  fail "no NoNewPrivs or no seccomp filter"
owner=$(in_ct stat -c %u /var/lib/private/corral/analytics.db)
[[ $owner == "$uid" ]] || fail "analytics store owned by $owner, corral is $uid"
ok "dynamic uid $uid, no capabilities, no new privileges, seccomp filter; it owns /var/lib/corral/analytics.db"

in_ct systemctl reload corral || fail "systemctl reload"
[[ $(in_ct journalctl -u corral --no-pager -o cat) == *'event=reload result=ok'* ]] || fail "reload not logged"
[[ $(prop ActiveState) == active ]] || fail "not active after reload"
ok "systemctl reload: SIGHUP re-read the config, RELOADING=1 then READY=1"

[[ $(prop WatchdogUSec) == 1min ]] || fail "WatchdogUSec is $(prop WatchdogUSec)"
first=$(prop WatchdogTimestampMonotonic) now=$first
for _ in $(seq 120); do
  now=$(prop WatchdogTimestampMonotonic)
  [[ $now != "$first" ]] && break
  sleep 0.1
done
[[ $now != "$first" && $now != 0 ]] || fail "no watchdog ping within 12 s"
ok "WATCHDOG=1 pings reach systemd (WatchdogSec=60s)"

in_ct timeout 40 systemctl stop corral
[[ $(prop Result) == success && $(prop ExecMainStatus) == 0 ]] ||
  fail "stop: result $(prop Result), status $(prop ExecMainStatus)"
[[ $(in_ct journalctl -u corral --no-pager -o cat) == *'event=stopped'* ]] || fail "no clean stop in the journal"
ok "systemctl stop: SIGTERM, drain, exit 0"
echo "$passed passed, 0 failed"
