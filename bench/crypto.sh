#!/bin/sh
# Crypto benchmark in one command: builds bench_crypto in a release build and
# prints phr vs peer (nettle SHA3-256, raw libsodium secretstream) MB/s and ratios.
# Usage: bench/crypto.sh [MiB]    (build dir: $PHR_BENCH_BUILD, default build/release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPHR_HARDEN=ON >/dev/null
cmake --build "$build" -j2 --target bench_crypto >/dev/null
echo "machine: $(uname -srm), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
"$build/bench/bench_crypto" "${1:-64}"
