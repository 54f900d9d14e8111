#!/usr/bin/env bash
# meson install into a temporary DESTDIR: binary, systemd unit, example config
# and the service's starting config land where the unit expects them, the
# installed config is valid, and a re-install keeps an edited config.
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install"; }
prefix=$(meson introspect "$build" --buildoptions | python3 -c '
import json, sys; o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"])')
unit=$(find "$tmp/root" -path '*/systemd/system/corral.service')
[[ -n $unit ]] || fail "no corral.service installed"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
bin=${exec_start%% *}
config=${exec_start##* }
[[ $bin == "$prefix"/* && -x "$tmp/root$bin" ]] || fail "ExecStart binary $bin is not the installed corral"
"$tmp/root$bin" --version | grep -q '^corral ' || fail "installed corral --version"
ok "binary installed at $bin and runs"

[[ -f "$tmp/root$config" ]] || fail "the unit's config $config was not installed"
"$tmp/root$bin" --check-config "$tmp/root$config" >/dev/null || fail "installed config $config is invalid"
ok "config installed at $config and passes --check-config"

example=$(find "$tmp/root" -path '*/doc/corral/corral.example.yaml')
[[ -n $example ]] && cmp -s "$example" "$(dirname "$0")/../packaging/corral.example.yaml" || fail "example config not in doc dir"
ok "example config in ${example#"$tmp/root"}"

# The installed binary's import-config: seed 003's file in, a config --check-config accepts out.
cat >"$tmp/ollama_proxy.yml" <<'YAML'
production:
  proxy_port: 11434
  servers:
    gpu: {host: "localhost", port: 11436, priority: 1, max_memory_gb: 24, enabled: true}
  model_config:
    explicit_assignments: {"llama3:70b": "gpu"}
  unknown_section: 1
YAML
"$tmp/root$bin" import-config "$tmp/ollama_proxy.yml" --env production >"$tmp/imported.yaml" 2>"$tmp/import.err" ||
  { cat "$tmp/import.err"; fail "corral import-config"; }
grep -q '^# not mapped: production.unknown_section = 1$' "$tmp/imported.yaml" || fail "no not-mapped comment"
"$tmp/root$bin" --check-config "$tmp/imported.yaml" >/dev/null || { cat "$tmp/imported.yaml"; fail "imported config invalid"; }
ok "corral import-config turns a seed-003 file into a config that passes --check-config"

echo "workers: 3" >>"$tmp/root$config"
meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install2.log" 2>&1 ||
  { cat "$tmp/install2.log"; fail "second meson install"; }
tail -n 1 "$tmp/root$config" | grep -qx 'workers: 3' || fail "a re-install overwrote the edited config"
ok "re-install keeps an edited config"
echo "$passed passed, 0 failed"
