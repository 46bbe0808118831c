#!/bin/sh
# Emergency escrow and notification costs in one command (Release build, in process):
# setup, a holder's deposit and release crypto, the provider's combine, durable
# notification enqueue and webhook delivery to a loopback receiver. There is no
# third-party peer for this protocol; the figures are absolute.
# Usage: bench/emergency.sh   (build dir: $PHR_BENCH_BUILD, default build/emerg-release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/emerg-release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_emergency >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
"$build/bench/bench_emergency" "$root/tests/emergency/summary.json" "$tmp"
