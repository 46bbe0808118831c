#!/bin/sh
# Provider-to-patient contract flow (register, grant, mint, audit) on anvil and on
# `phr chain --dev` in one run: gas per step, sequential and pipelined tx/s, ratios.
# PHR_BIN selects the phr binary; by default a Release build in build/contracts-bench is
# made first. Without a phr binary that has a `chain` command only anvil is measured.
# Usage: bench/contracts.sh [flows per round (10)] [rounds (5)]
#        bench/contracts.sh --mint [rounds (40)]   CPU per minted record of a 32-entry
#          HealthRecordNFT.mintRecords run in-process through the chain's state (bench_mint,
#          Release build in $BUILD, default build/contracts-bench); with BASE_BUILD set to
#          another build dir, that build's bench_mint runs alternately in the same run (A/B)
#        bench/contracts.sh --bindings [iterations (200000)]   ns per call of the generated
#          bindings on the node's hot paths (accessUntil, canAccess, logViews), direct vs the
#          generic ABI path in one process (bench_bindings, Release build in $BUILD); with
#          BASE_BUILD set, that build's bench_bindings runs alternately too (A/B)
set -eu
cd "$(dirname "$0")/.."
B=build/contracts-bench
# One micro bench (bench/<target>) of this tree's Release build, twice, each time after the
# same bench of BASE_BUILD when it is set (an A/B in one run).
micro() {
	target=$1 what=$2 arg=$3
	B=${BUILD:-$B}
	cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$B" -j2 --target "$target" >/dev/null
	echo "$what bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME")"
	for i in 1 2; do
		if [ -n "${BASE_BUILD:-}" ]; then
			echo "-- base: $BASE_BUILD"
			"$BASE_BUILD/bench/$target" "$arg"
		fi
		echo "-- $B"
		"$B/bench/$target" "$arg"
	done
	exit 0
}
[ "${1:-}" = "--bindings" ] && micro bench_bindings bindings "${2:-200000}"
[ "${1:-}" = "--mint" ] && micro bench_mint mint "${2:-40}"
if [ -z "${PHR_BIN:-}" ]; then
	cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$B" -j2 --target phr >/dev/null
	PHR_BIN=$B/src/cli/phr
fi
export PHR_BIN
echo "contracts bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), phr: $PHR_BIN"
exec node bench/contracts_flow.mjs --flows "${1:-10}" --rounds "${2:-5}"
