#!/bin/sh
# Provider-to-patient contract flow (register, grant, mint, audit) on anvil and on
# `phr chain --dev` in one run: gas per step, sequential and pipelined tx/s, ratios.
# PHR_BIN selects the phr binary; by default a Release build in build/contracts-bench is
# made first. Without a phr binary that has a `chain` command only anvil is measured.
# Usage: bench/contracts.sh [flows per round (10)] [rounds (5)]
set -eu
cd "$(dirname "$0")/.."
B=build/contracts-bench
if [ -z "${PHR_BIN:-}" ]; then
	cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$B" -j2 --target phr >/dev/null
	PHR_BIN=$B/src/cli/phr
fi
export PHR_BIN
echo "contracts bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), phr: $PHR_BIN"
exec node bench/contracts_flow.mjs --flows "${1:-10}" --rounds "${2:-5}"
