#!/bin/sh
# Privacy benchmarks in one command: PPRL encoding (records/s) and Dice comparison
# (pairs/s, 64-bit popcount against a naive byte loop, with the ratio) and the
# homomorphic-aggregate steps (per-step timings) in a Release build.
# Usage: bench/privacy.sh   (build dir: $PHR_BENCH_BUILD, default build/privacy-release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/privacy-release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=bench_pprl
[ -f "$root/bench/bench_he.c" ] && targets="$targets bench_he"
cmake --build "$build" -j2 --target $targets >/dev/null
echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== PPRL"
"$build/bench/bench_pprl" "$root"
if [ -x "$build/bench/bench_he" ]; then
	echo "== homomorphic aggregates"
	"$build/bench/bench_he"
fi
