#!/bin/sh
# FHIR server benchmark: one `phr node --dev` (Release build), N resources
# imported by transaction Bundles, then create, read and search throughput
# with p50/p99 (bench/fhir_bench.mjs), and the ratio to the published HAPI /
# Aidbox anchors (no FHIR server to run side by side is installed here).
# Every create mints a record token and every read or returned search entry
# logs a View on chain, so all of it is bound by the chain's commit rate.
# Env: PHR_BIN (default: a Release build in build/fhirsrv-release), N (10000),
#      SIZES (comma list of sizes to import up to, each followed by the phases;
#      default N), PHASES (read,search,search-count,create), PROGRESS (50000),
#      BATCH (entries per transaction, 100), IMPORT_CONC (clients posting
#      Bundles at once, 1), SECS (5), LOADGEN (wrk when installed, else node:
#      who makes the create/read/search requests; wrk runs bench/fhir.lua),
#      WRK_CONNS (64), WRK_THREADS (1), CONC (node.js clients with LOADGEN=node, 8),
#      BENCH_TMP (where the node's data directory goes, default /tmp; /dev/shm
#      shows the cost without fsync).
set -eu
cd "$(dirname "$0")/.."
B=build/fhirsrv-release
if [ -z "${PHR_BIN:-}" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr >/dev/null
  PHR_BIN=$B/src/cli/phr
fi
export PHR_BIN
TMPDIR=${BENCH_TMP:-/tmp} exec node bench/fhir_bench.mjs
