#!/bin/sh
# Portal benchmark in one run (headless Chromium + a `phr node --dev`):
# first-load weight and time, the records view with N records (default 1000)
# beside the node's own list answer, and a 15 MiB record decrypted in the page
# beside the node's C code. Not a test. Env: PHR_BIN (default build/portal-bench,
# a Release build), N.
set -eu
cd "$(dirname "$0")/.."
B=build/portal-bench
if [ -z "${PHR_BIN:-}" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr >/dev/null
  PHR_BIN=$B/src/cli/phr
fi
PHR_BIN=$PHR_BIN PHR_SOURCE_DIR=$(pwd) exec node tests/browser/portal_bench.mjs "${N:-1000}"
