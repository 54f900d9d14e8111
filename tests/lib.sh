# Sourced by the shell-driven tests: their SIM_BIN CORRAL_BIN arguments, processes
# started in the background and stopped on exit, free loopback ports, waiting for
# an HTTP answer, skipping where containers cannot run.
pids=()
stop_started() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# wait_up NAME PORT PATH [LOG]: an answer on 127.0.0.1:PORT PATH within ~10 s (while
# the last started process lives), or fail, showing LOG.
wait_up() {
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$2$3" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 is not answering on 127.0.0.1:$2$3" >&2
  [[ -n ${4:-} ]] && cat "$4" >&2
  return 1
}
# sim_and_corral "$@": sim and corral from a script's first two arguments (SIM_BIN
# CORRAL_BIN [corral args...]), or its usage and exit 2; the script shifts them off.
sim_and_corral() {
  if [[ $# -lt 2 ]]; then
    echo "usage: $0 SIM_BIN CORRAL_BIN [corral args...]" >&2
    exit 2
  fi
  sim=$1 corral=$2
}
# skip_without_containers: exit 77 (skipped) where this machine cannot run containers
# at all: they need mount, PID, UTS and IPC namespaces (and user namespaces when not root).
skip_without_containers() {
  local userns=() why
  [[ $(id -u) -ne 0 ]] && userns=(--user --map-root-user)
  if ! why=$(unshare "${userns[@]}" --mount --pid --uts --ipc --fork true 2>&1); then
    echo "SKIP: containers cannot run on this machine (namespaces unavailable: $why)"
    exit 77
  fi
}
