#!/bin/sh
# Provider-to-patient contract flow on anvil and on `phr chain --dev` (when the phr binary
# has a chain command) in one run. PHR_BIN selects the phr binary; default build/lead/src/cli/phr.
# Usage: bench/contracts.sh [flows]
set -eu
cd "$(dirname "$0")/.."
: "${PHR_BIN:=build/lead/src/cli/phr}"
export PHR_BIN
echo "contracts bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME")"
exec node bench/contracts_flow.mjs --flows "${1:-40}"
