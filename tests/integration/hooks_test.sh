#!/usr/bin/env bash
# The reference hooks in packaging/hooks/ against fake `exo`, `wakeonlan` and `ssh` on PATH
# (scripts that record their arguments and answer with canned JSON) and corral-sim as the
# Ollama they wait for. No cloud, no network beyond loopback.
#   tests/integration/hooks_test.sh CORRAL_SIM_BIN
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sim_bin=$1
# shellcheck source=tests/lib.sh
source "$root/tests/lib.sh"
work=$(mktemp -d)
trap 'stop_started; rm -rf "$work"' EXIT

model="granite3.1-dense:8b"
sim_port=$(free_port)
"$sim_bin" --listen "127.0.0.1:$sim_port" --models "$model=4900000000" >"$work/sim.log" 2>&1 &
pids+=($!)
wait_up corral-sim "$sim_port" /api/version "$work/sim.log" || exit 1
dead_port=$(free_port)

mkdir -p "$work/bin"
cat >"$work/bin/exo" <<'EOF'
#!/usr/bin/env bash
# Fake exo: state in $FAKE_EXO/{instance,sg,rules}, every call appended to $FAKE_EXO/calls.
set -euo pipefail
d=$FAKE_EXO
printf '%q ' "$@" >>"$d/calls"
echo >>"$d/calls"
[[ $1 == --output-format && $2 == json ]] && shift 2
[[ -n ${EXOSCALE_API_KEY:-} && -n ${EXOSCALE_API_SECRET:-} ]] || { echo "fake exo: no credentials" >&2; exit 1; }
other='{"id":"f00","name":"someone-else","zone":"at-vie-2","type":"standard.small","ip_address":"192.0.2.1","state":"running"}'
mine() { jq -cn --arg s "$(cat "$d/instance")" --arg ip "${FAKE_EXO_IP:-127.0.0.1}" \
  '{id:"4f1c-9a",name:"corral-cloud-gpu",zone:"at-vie-2",type:"gpua5000.small",ip_address:$ip,state:$s}'; }
case "$1 $2 $3" in
  "compute instance list")
    if [[ -f $d/instance ]]; then echo "[$other,$(mine)]"; else echo "[$other]"; fi ;;
  "compute instance create")
    for ((i = 1; i <= $#; i++)); do [[ ${!i} == --cloud-init ]] && { j=$((i + 1)); cp "${!j}" "$d/user-data"; }; done
    echo running >"$d/instance"
    mine ;;
  "compute instance start") echo running >"$d/instance" ;;
  "compute instance stop") echo stopped >"$d/instance" ;;
  "compute instance delete") rm -f "$d/instance" ;;
  "compute security-group show")
    [[ -f $d/sg ]] || { echo "error: Security Group \"$4\" not found" >&2; exit 1; }
    jq -cn --rawfile r <(cat "$d/rules" 2>/dev/null || true) '{id:"sg-1",name:"corral-cloud-gpu",
      ingress_rules: ($r | split("\n") | map(select(. != "") | split(" ") |
        {protocol:"tcp", network:.[0], start_port:(.[1]|tonumber), end_port:(.[1]|tonumber)}))}' ;;
  "compute security-group create") touch "$d/sg" ;;
  "compute security-group rule")
    net="" port=""
    for ((i = 1; i <= $#; i++)); do
      j=$((i + 1))
      [[ ${!i} == --network ]] && net=${!j}
      [[ ${!i} == --port ]] && port=${!j}
    done
    echo "$net $port" >>"$d/rules" ;;
  *) echo "fake exo: unexpected: $*" >&2; exit 64 ;;
esac
EOF
for tool in wakeonlan ssh; do
  cat >"$work/bin/$tool" <<EOF
#!/usr/bin/env bash
printf '%q ' "\$@" >>"\$FAKE_EXO/$tool.calls"
echo >>"\$FAKE_EXO/$tool.calls"
EOF
done
chmod +x "$work/bin/"*
export PATH="$work/bin:$PATH"

passed=0 failed=0
check() {  # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name" >&2
    echo "  stdout: $(cat "$work/out")" >&2
    echo "  stderr: $(tail -5 "$work/err")" >&2
  fi
}
# fresh STATE: none | running | stopped; with_sg: the security group and corral's rule exist.
fresh() {
  export FAKE_EXO="$work/exo-$RANDOM$RANDOM"
  mkdir -p "$FAKE_EXO"
  touch "$FAKE_EXO/calls"
  [[ $1 != none ]] && echo "$1" >"$FAKE_EXO/instance"
  if [[ ${2:-} == with_sg ]]; then
    touch "$FAKE_EXO/sg"
    echo "203.0.113.7/32 $sim_port" >"$FAKE_EXO/rules"
  fi
  return 0
}
run() {  # run HOOK ARGS...: rc in $rc, stdout in $work/out, stderr in $work/err
  "$root/packaging/hooks/$1" "${@:2}" >"$work/out" 2>"$work/err"
  rc=$?
}
called() { grep -q -- "$1" "$FAKE_EXO/calls"; }
not_called() { ! grep -q -- "$1" "$FAKE_EXO/calls"; }
last_json() { tail -1 "$work/out" | jq -e "$1" >/dev/null; }

export EXOSCALE_API_KEY=EXOtest EXOSCALE_API_SECRET=secret EXOSCALE_ZONE=ch-gva-2 EXOSCALE_INSTANCE_TYPE=gpua5000.small
export EXOSCALE_TEMPLATE="Linux Ubuntu 22.04 LTS 64-bit" EXOSCALE_DISK_SIZE=100 OLLAMA_MODEL=$model
export CORRAL_BACKEND_NAME=cloud-gpu CORRAL_HOOK=start EXOSCALE_ALLOWED_CIDR=203.0.113.7/32
export EXOSCALE_OLLAMA_PORT=$sim_port EXOSCALE_POLL_INTERVAL=0.1 EXOSCALE_READY_TIMEOUT=10

# start, nothing there: security group with one rule, then an instance with the settings.
fresh none
run exoscale start
check "exoscale start (new) exits 0" test "$rc" -eq 0
check "creates the security group" called "compute security-group create corral-cloud-gpu"
check "allows only corral's address on the Ollama port" \
  called "compute security-group rule add corral-cloud-gpu --flow ingress --protocol tcp --port $sim_port --network 203.0.113.7/32"
check "creates the instance with seed 002's settings" \
  called "compute instance create corral-cloud-gpu --zone ch-gva-2 --instance-type gpua5000.small --template Linux\\\\ Ubuntu\\\\ 22.04\\\\ LTS\\\\ 64-bit --disk-size 100 --security-group corral-cloud-gpu --cloud-init"
check "cloud-init installs Ollama" grep -q "ollama.com/install.sh" "$FAKE_EXO/user-data"
check "cloud-init pulls OLLAMA_MODEL" grep -q "ollama pull '$model'" "$FAKE_EXO/user-data"
check "cloud-init makes Ollama listen on the port" grep -q "OLLAMA_HOST=0.0.0.0:$sim_port" "$FAKE_EXO/user-data"
check "answers url and instance fields" \
  last_json ".url == \"http://127.0.0.1:$sim_port\" and .instance_id == \"4f1c-9a\" and .zone == \"ch-gva-2\" and .ollama_model == \"$model\""
check "only the JSON on stdout" test "$(wc -l <"$work/out")" -eq 1

# start, stopped instance: reused, started, no new rule.
fresh stopped with_sg
run exoscale start
check "exoscale start (stopped) exits 0" test "$rc" -eq 0
check "starts the stopped instance" called "compute instance start --force --zone ch-gva-2 corral-cloud-gpu"
check "does not create another" not_called "compute instance create"
check "keeps the existing rule" not_called "security-group rule add"
check "answers its url" last_json ".url == \"http://127.0.0.1:$sim_port\""

# start, running instance: reused as it is.
fresh running with_sg
run exoscale start
check "exoscale start (running) exits 0" test "$rc" -eq 0
check "neither starts nor creates" not_called "compute instance \(start\|create\)"

# start, Ollama never answers: fails within the ready timeout, the reason on stderr.
fresh running with_sg
EXOSCALE_OLLAMA_PORT=$dead_port EXOSCALE_READY_TIMEOUT=1 run exoscale start
check "start fails when Ollama does not answer" test "$rc" -ne 0
check "says why on stderr" grep -q "did not list $model" "$work/err"

# stop: stops, or deletes, or has nothing to do.
fresh running with_sg
run exoscale stop
check "exoscale stop exits 0" test "$rc" -eq 0
check "stops the instance" called "compute instance stop --force --zone ch-gva-2 corral-cloud-gpu"
check "reports it stopped" last_json '.instance_status == "stopped"'
fresh running with_sg
EXOSCALE_DELETE_ON_STOP=1 run exoscale stop
check "EXOSCALE_DELETE_ON_STOP=1 deletes" called "compute instance delete --force --zone ch-gva-2 corral-cloud-gpu"
check "and does not just stop" not_called "compute instance stop"
fresh none
run exoscale stop
check "stop with no instance exits 0" test "$rc" -eq 0
check "and touches nothing" not_called "compute instance \(stop\|delete\)"

# status: a running instance's JSON, else exit 3.
fresh running
run exoscale status
check "status of a running instance exits 0" test "$rc" -eq 0
check "with its url" last_json ".url == \"http://127.0.0.1:$sim_port\" and .instance_status == \"running\""
fresh stopped
run exoscale status
check "status of a stopped instance exits 3" test "$rc" -eq 3
fresh none
run exoscale status
check "status with no instance exits 3" test "$rc" -eq 3

# --name and --zone flags beat the environment.
fresh none
run exoscale status --zone de-fra-1 --name other
check "flags choose zone" called "compute instance list --zone de-fra-1"
check "flags choose the name (none called other)" test "$rc" -eq 3

# Bad invocations.
fresh none
EXOSCALE_API_SECRET="" run exoscale start
check "missing credentials fail" test "$rc" -eq 1
check "naming the variables" grep -q "EXOSCALE_API_KEY and EXOSCALE_API_SECRET" "$work/err"
check "without calling exo" test ! -s "$FAKE_EXO/calls"
run exoscale reboot
check "unknown action is a usage error" test "$rc" -eq 2

# generic: wake-on-LAN or SSH, then wait for /api/version.
fresh none
run generic start --host 127.0.0.1 --port "$sim_port" --mac aa:bb:cc:dd:ee:ff
check "generic start (answering) exits 0" test "$rc" -eq 0
check "does not wake what already answers" test ! -e "$FAKE_EXO/wakeonlan.calls"
check "answers the url" last_json ".url == \"http://127.0.0.1:$sim_port\""
(sleep 1 && exec "$sim_bin" --listen "127.0.0.1:$dead_port" --models "$model=1" >/dev/null 2>&1) &
pids+=($!)  # Ollama waking up a second from now
GENERIC_POLL_INTERVAL=0.1 run generic start --host 127.0.0.1 --port "$dead_port" --mac aa:bb:cc:dd:ee:ff \
  --ssh ollama@gpu-box --ready-timeout 20
check "generic start (asleep) exits 0 once it answers" test "$rc" -eq 0
check "sends the magic packet" grep -q "^aa:bb:cc:dd:ee:ff" "$FAKE_EXO/wakeonlan.calls"
check "starts Ollama over SSH" grep -q "BatchMode=yes .* ollama@gpu-box sudo\\\\ systemctl\\\\ start\\\\ ollama" \
  "$FAKE_EXO/ssh.calls"
check "says how it was woken" last_json '.woken_by == "wake-on-lan+ssh"'
fresh none
run generic stop --host 127.0.0.1 --ssh ollama@gpu-box --stop-command "sudo systemctl suspend"
check "generic stop runs the stop command" grep -q "sudo\\\\ systemctl\\\\ suspend" "$FAKE_EXO/ssh.calls"
run generic stop --host 127.0.0.1
check "generic stop without ssh exits 0" test "$rc" -eq 0
run generic status --host 127.0.0.1 --port "$sim_port"
check "generic status of a running Ollama exits 0" test "$rc" -eq 0
run generic status --host 127.0.0.1 --port "$(free_port)"
check "generic status of nothing exits 3" test "$rc" -eq 3
run generic start
check "generic without --host fails" test "$rc" -eq 1

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
