#!/usr/bin/env bash
# make-certs.sh DIR: test certificates for the fake providers, made with the openssl CLI.
#   ca.pem / ca.key            a test CA (trust it with NODE_EXTRA_CA_CERTS, --cafile, ...)
#   server.pem / server.key    localhost + IP 127.0.0.1, signed by the test CA
#   untrusted.pem / untrusted.key  self-signed, same names, for "untrusted certificate" tests
# Idempotent: a DIR whose certificates verify and are valid for another day is left as it is.
# EC P-256 keys keep it fast. Files are made in a scratch folder and moved in, so a
# concurrent run never sees half a set.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
files=(ca.pem ca.key server.pem server.key untrusted.pem untrusted.key)

complete() {
  for f in "${files[@]}"; do [[ -s "$dir/$f" ]] || return 1; done
  openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null 2>&1 || return 1
  openssl x509 -checkend 86400 -noout -in "$dir/server.pem" >/dev/null 2>&1 || return 1
  openssl x509 -checkend 86400 -noout -in "$dir/untrusted.pem" >/dev/null 2>&1
}
complete && exit 0

tmp=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
san="subjectAltName=DNS:localhost,IP:127.0.0.1"
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

newkey "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=corral test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$tmp/ca.pem"

newkey "$tmp/server.key"
openssl req -new -key "$tmp/server.key" -subj "/CN=localhost" -out "$tmp/server.csr"
printf '%s\n' "$san" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -sha256 -days 825 \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null

newkey "$tmp/untrusted.key"
openssl req -x509 -new -key "$tmp/untrusted.key" -sha256 -days 825 -subj "/CN=localhost" \
  -addext "$san" -addext "extendedKeyUsage=serverAuth" -out "$tmp/untrusted.pem"

chmod 600 "$tmp"/*.key
chmod 644 "$tmp"/*.pem
for f in "${files[@]}"; do mv -f "$tmp/$f" "$dir/$f"; done
