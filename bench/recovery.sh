#!/bin/sh
# Backup/recovery benchmark in one command: a patient with N records of M MiB on an
# embedded chain; phr's bundle create, verify, verify with decryption, restore and the
# recovery re-wrap (bench_recovery), then the same bundle verified by a JavaScript CAR
# reader (@ipld/car + multiformats sha2-256, what IPFS tools do), with the ratio of the
# structural verifications.
# Usage: bench/recovery.sh [RECORDS MIB]   (default 8 4; build dir $PHR_BENCH_BUILD,
#                                          default build/recov-rel; files in $TMPDIR)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/recov-rel}
n=${1:-8}
m=${2:-4}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_recovery >/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phr-bench-recovery.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$root"
"$build/bench/bench_recovery" "$n" "$m" "$tmp/bundle.car" 2>/dev/null | tee "$tmp/phr.txt"
ls -l "$tmp/bundle.car" | awk '{print "bundle bytes", $5}'
node "$root/bench/recovery_peer.mjs" "$tmp/bundle.car" | tee "$tmp/peer.txt"
awk '/^step verify /{p=$4} /^peer car-verify/{q=$4} END{ if (p && q) printf "ratio verify phr/peer %.2f (MB/s %s vs %s)\n", p/q, p, q }' "$tmp/phr.txt" "$tmp/peer.txt"
