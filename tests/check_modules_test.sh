#!/usr/bin/env bash
# tools/check-modules passes on the tree and catches an include that goes the wrong way.
set -euo pipefail
root=$1
"$root/tools/check-modules" "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/include/corral/core" "$tmp/src/core" "$tmp/src/proxy"
printf '#include "corral/proxy/session.h"\n' > "$tmp/src/core/loop.cc"
printf '#include "corral/core/loop.h"\n' > "$tmp/src/proxy/session.cc"
if out=$("$root/tools/check-modules" "$tmp"); then
  echo "FAIL: a core file including proxy was not reported"; exit 1
fi
grep -q "src/core/loop.cc:1: core includes proxy" <<<"$out" || { echo "FAIL: unexpected report: $out"; exit 1; }
mkdir -p "$tmp/src/gadgets" && : > "$tmp/src/gadgets/x.cc"
out=$("$root/tools/check-modules" "$tmp" || true)
grep -q "module 'gadgets' is not in" <<<"$out" || { echo "FAIL: an unknown module was not reported: $out"; exit 1; }
echo "check-modules: layering holds; violations are reported"
