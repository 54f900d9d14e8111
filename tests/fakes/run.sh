#!/usr/bin/env bash
# run.sh: makes test certificates (make-certs.sh), then runs selftest.mjs, which
# starts both fakes and drives the official openai and @anthropic-ai/sdk npm
# clients (installed in ../clients) against them over TLS, the test CA trusted
# through NODE_EXTRA_CA_CERTS. Exits with node's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
clients=$here/../clients
[[ -d "$clients/node_modules/@anthropic-ai/sdk" ]] || (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)

certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
"$here/make-certs.sh" "$certs"
NODE_EXTRA_CA_CERTS="$certs/ca.pem" node --test-reporter=tap "$here/selftest.mjs" --certs "$certs"
