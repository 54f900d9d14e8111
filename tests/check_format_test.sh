#!/usr/bin/env bash
# tools/check-format passes on the tree and reports a file .clang-format would rewrite.
set -euo pipefail
root=$1
"$root/tools/check-format" "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root/.clang-format" "$tmp/"
mkdir -p "$tmp/src"
printf 'int  main( ){return 0;}\n' > "$tmp/src/bad.cc"
if out=$("$root/tools/check-format" "$tmp"); then
  echo "FAIL: an unformatted file was not reported"; exit 1
fi
grep -q "src/bad.cc: not formatted" <<<"$out" || { echo "FAIL: unexpected report: $out"; exit 1; }
echo "check-format: the tree is formatted; an unformatted file is reported"
