#!/usr/bin/env bash
# The installed systemd unit parses cleanly (systemd-analyze verify: no warning at
# all, unknown keys included), is Type=notify with reload, restart, watchdog and
# the hardening the README promises, and keeps its offline security exposure low.
set -euo pipefail
build=$1
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd); the unit was not verified"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >/dev/null
unit=$(find "$tmp/root" -path '*/systemd/system/corral.service')
bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
# verify resolves ExecStart on this machine: point it at the DESTDIR copy.
sed "s|^ExecStart=$bin|ExecStart=$tmp/root$bin|" "$unit" >"$tmp/corral.service"
if ! systemd-analyze verify "$tmp/corral.service" >"$tmp/verify.log" 2>&1 || [[ -s "$tmp/verify.log" ]]; then
  cat "$tmp/verify.log"
  fail "systemd-analyze verify"
fi
ok "systemd-analyze verify: no errors or warnings"

want=(Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' Restart=always RestartSec= WatchdogSec= LimitNOFILE= LimitNICE=+0
      StateDirectory=corral LogsDirectory=corral NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes
      PrivateDevices=yes RestrictAddressFamilies= 'SystemCallFilter=@system-service io_uring_setup io_uring_enter io_uring_register'
      CapabilityBoundingSet= MemoryDenyWriteExecute=yes LockPersonality=yes)
for line in "${want[@]}"; do
  grep -qF -- "$line" "$unit" || fail "unit lacks $line"
done
ok "unit has ${#want[@]} required settings (notify, reload, restart, watchdog, hardening, io_uring allowed)"

systemd-analyze security --offline=true "$tmp/corral.service" >"$tmp/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for corral.service: \([0-9.]*\).*/\1/p' "$tmp/security.log")
[[ -n $score ]] || { cat "$tmp/security.log"; fail "no exposure score"; }
python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)" ||
  { grep '✗' "$tmp/security.log"; fail "exposure $score is above 2.0: hardening was lost"; }
ok "systemd-analyze security --offline=true: exposure $score (0 safest, 10 unsafe)"
echo "$passed passed, 0 failed"
