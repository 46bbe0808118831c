#!/bin/sh
# Precompile timings: phr (bench_precompile, in-process) and anvil (revm, through
# eth_call minus the empty-call round trip) on the same go-ethereum vector inputs,
# in one run. Usage: bench/precompile.sh [build-dir] [seconds-per-case]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build/release}
secs=${2:-0.5}
export PHR_SOURCE_DIR="$PWD"
cmake --build "$build" --target bench_precompile >/dev/null
echo "== phr"
"$build/bench/bench_precompile" "$secs" | tee /tmp/phr-bench-precompile.$$
echo "== anvil"
node bench/precompile_anvil.mjs "$secs" | tee /tmp/anvil-bench-precompile.$$
echo "== ratio anvil-net / phr (above 1: phr faster)"
awk 'FNR==1 { f++ }
     f==1 && FNR>1 { name[FNR-1]=substr($0,1,28); phr[FNR-1]=$(NF-2); n=FNR-1 }
     f==2 && /us net/ { net[++m]=$(NF-2) }
     END { for (i=1;i<=n;i++) if (phr[i]>0 && (i in net)) {
             if (net[i] > 300) printf "%s %8.2f\n", name[i], net[i]/phr[i];
             else printf "%s %8s\n", name[i], "n/a (anvil net time below the RPC noise)" } }' \
  /tmp/phr-bench-precompile.$$ /tmp/anvil-bench-precompile.$$
rm -f /tmp/phr-bench-precompile.$$ /tmp/anvil-bench-precompile.$$
