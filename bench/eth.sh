#!/bin/sh
# eth benchmark in one command: builds bench_eth in a release build, runs it and
# the same operations in ethers v6 / BigInt (bench/eth_peer.mjs) in one go, and
# prints ops/s side by side with the ratio phr/peer.
# Usage: bench/eth.sh    (build dir: $PHR_BENCH_BUILD, default build/release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPHR_HARDEN=ON >/dev/null
cmake --build "$build" -j2 --target bench_eth >/dev/null
cd "$root"
echo "machine: $(uname -srm), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
phr=$(mktemp)
peer=$(mktemp)
trap 'rm -f "$phr" "$peer"' EXIT
"$build/bench/bench_eth" >"$phr"
node bench/eth_peer.mjs >"$peer"
printf '%-20s %14s %14s %8s\n' operation "phr ops/s" "peer ops/s" ratio
join "$phr" "$peer" | awk '{ printf "%-20s %14d %14d %8.1f\n", $1, $2, $3, $2 / $3 }'
