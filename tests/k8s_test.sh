#!/usr/bin/env bash
# Kubernetes manifests, offline: kubectl apply --dry-run=client --validate=false of
# every manifest (kubectl maps kinds through a discovery-only API server on loopback,
# tests/k8s/fake_apiserver.py; no cluster), then tests/k8s/fields.py checks each field
# against the API reference and the manifests against each other and corral.
# Usage: k8s_test.sh CORRAL_BIN SOURCE_ROOT
set -euo pipefail
corral=$1 root=$2
k8s=$root/packaging/k8s
tmp=$(mktemp -d)
source "$root/tests/lib.sh"
trap 'stop_started; rm -rf "$tmp"' EXIT
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; exit 1; }

command -v kubectl >/dev/null || "$root/tools/bootstrap"
command -v kubectl >/dev/null || fail "no kubectl (Debian package kubernetes-client)"
python3 "$root/tests/k8s/fake_apiserver.py" "$tmp/port" 2>"$tmp/apiserver.log" & pids+=($!)
for _ in $(seq 50); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")

manifests=()
for f in "$k8s"/*.yaml; do
  [[ $(basename "$f") == prometheus-adapter-values.yaml ]] || manifests+=("$f")  # Helm values, not objects
done
objects=$(python3 -c 'import sys, yaml; print(sum(1 for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d))' \
  "${manifests[@]}")
args=()
for f in "${manifests[@]}"; do args+=(-f "$f"); done
kubectl apply --dry-run=client --validate=false --server="http://127.0.0.1:$port" --cache-dir="$tmp/kube-cache" \
  "${args[@]}" >"$tmp/apply.log" 2>&1 || { cat "$tmp/apply.log"; fail "kubectl apply --dry-run=client"; }
created=$(grep -c ' created (dry run)$' "$tmp/apply.log" || true)
[[ $created == "$objects" ]] || { cat "$tmp/apply.log"; fail "kubectl planned $created of $objects objects"; }
version=$(kubectl version --client -o json 2>/dev/null |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
ok "kubectl $version apply --dry-run=client: ${#manifests[@]} files, $objects objects"

python3 "$root/tests/k8s/fields.py" "$k8s" "$root/packaging/container/Containerfile" "$corral" >"$tmp/fields.log" ||
  { cat "$tmp/fields.log"; fail "field check"; }
sed 's/^/  /' "$tmp/fields.log"
ok "field check against the API reference ($(grep -c '^ok:' "$tmp/fields.log") checks)"

bash -n "$k8s/deploy.sh" || fail "deploy.sh does not parse"
for f in "${manifests[@]}"; do
  grep -q "\$here/$(basename "$f")" "$k8s/deploy.sh" || fail "deploy.sh never applies $(basename "$f")"
done
grep -q 'rollout status deployment/corral' "$k8s/deploy.sh" || fail "deploy.sh does not wait for the rollout"
ok "deploy.sh parses, applies every manifest and waits for the rollout"
echo "$passed passed, 0 failed"
