# Sourced by the shell-driven tests: processes started in the background and
# stopped on exit, free loopback ports, waiting for an HTTP answer.
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
