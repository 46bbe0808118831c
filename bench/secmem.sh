#!/bin/sh
# Secret memory benchmark in one command: builds bench_secmem in a release
# build and prints, for 1, 2, 8 and 64 threads, the wall and CPU time of one
# request's secrets (a 32-byte key + an 80-byte stream state, allocated and
# freed) with phr_secmem and with libsodium's sodium_malloc, and the ratios.
# The node-level effect is measured by bench/node.sh and bench/fhir.sh (node CPU
# per request). Usage: bench/secmem.sh [requests]  (build dir: $PHR_BENCH_BUILD,
# default build/release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPHR_HARDEN=ON >/dev/null
cmake --build "$build" -j2 --target bench_secmem >/dev/null
echo "machine: $(uname -srm), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/bench_secmem" "${1:-200000}"
