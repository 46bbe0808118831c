#!/bin/sh
# Chain benchmark: phr chain vs anvil in one run.
#  (a) eth_call of compute-heavy contract functions (keccak loop, fixed-point
#      Mandelbrot, memory sieve): median latency and ratio phr/anvil;
#  (b) a stream of pre-signed contract-call transactions (Bench.bump) sent over
#      JSON-RPC by one C load generator (8 connections, 8 accounts): tx/s and p99.
# Both nodes automine; phr commits (fsync) every block before it answers.
# With BASE_BIN=<another phr binary> (e.g. a Release build of an older commit) part (b)
# also runs it, alternating with PHR_BIN on fresh chains, and prints the node CPU per
# transaction of both (utime + stime of the node process from /proc/PID/stat).
# Env: PHR_BIN, BENCH_BIN (default: a Release build in build/chain-bench), NTX (2000), BASE_BIN.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=build/chain-bench
if [ -z "${PHR_BIN:-}" ] || [ -z "${BENCH_BIN:-}" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr bench_chain_rpc >/dev/null
fi
: "${PHR_BIN:=$B/src/cli/phr}"
: "${BENCH_BIN:=$B/bench/bench_chain_rpc}"
: "${NTX:=2000}"
ANVIL=node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
TMP=$(mktemp -d /tmp/phr-chain-bench-XXXXXX)
PHR_PID=; ANVIL_PID=
cleanup() {
  stop_nodes
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

wait_port() { # file pattern
  i=0
  while [ $i -lt 200 ]; do
    p=$(grep -o "$2[0-9.]*:[0-9]*" "$1" 2>/dev/null | head -1 | sed 's/.*://')
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.05; i=$((i + 1))
  done
  echo "node did not start: $(cat "$1")" >&2; exit 1
}

N=0
NODE_BIN=$PHR_BIN
start_nodes() { # fresh phr (new data directory) and anvil
  stop_nodes
  N=$((N + 1))
  "$NODE_BIN" chain --dev --listen 127.0.0.1:0 --datadir "$TMP/phr$N" >"$TMP/phr.out" 2>"$TMP/phr.err" &
  PHR_PID=$!
  "$ANVIL" --port 0 --hardfork cancun >"$TMP/anvil.out" 2>&1 &
  ANVIL_PID=$!
  PHR_URL=http://127.0.0.1:$(wait_port "$TMP/phr.out" "http://")
  ANVIL_URL=http://127.0.0.1:$(wait_port "$TMP/anvil.out" "Listening on ")
}
stop_nodes() {
  [ -n "$PHR_PID" ] && { kill "$PHR_PID" 2>/dev/null || true; wait "$PHR_PID" 2>/dev/null || true; }
  [ -n "$ANVIL_PID" ] && { kill "$ANVIL_PID" 2>/dev/null || true; wait "$ANVIL_PID" 2>/dev/null || true; }
  PHR_PID=; ANVIL_PID=
}
start_nodes

# bytecode and call data from solc (cancun) via the interop helpers
node --input-type=module -e "
import { compileBench } from '$ROOT/tests/interop/chain_lib.mjs';
import { ethers } from 'ethers';
const b = compileBench(); const i = new ethers.Interface(b.abi);
console.log('CODE=' + b.bytecode.slice(2));
console.log('VIEW=' + i.encodeFunctionData('counter', []).slice(2));
console.log('HASH=' + i.encodeFunctionData('hashLoop', [3000]).slice(2));
console.log('MANDEL=' + i.encodeFunctionData('mandel', [24, 24, 48]).slice(2));
console.log('SIEVE=' + i.encodeFunctionData('sieve', [30000]).slice(2));
console.log('BUMP=' + i.encodeFunctionData('bump', [1]).slice(2));
" > "$TMP/abi.env"
. "$TMP/abi.env"

echo "chain bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME")"
# The machine is shared: phr and anvil run alternately, ROUNDS times each, best kept.
: "${ROUNDS:=3}"
echo "(a) eth_call latency, ms (median of 20 calls; best of $ROUNDS alternating rounds)"
printf '%-22s %10s %10s %10s\n' workload phr anvil phr/anvil
for w in "counter() VIEW" "hashLoop(3000) HASH" "mandel(24,24,48) MANDEL" "sieve(30000) SIEVE"; do
  name=${w% *}; var=${w#* }; eval data=\$$var
  p=999999; a=999999; r=0
  while [ $r -lt "$ROUNDS" ]; do
    x=$("$BENCH_BIN" call "$PHR_URL" "$CODE" "$data" 20 | awk '{print $2}')
    y=$("$BENCH_BIN" call "$ANVIL_URL" "$CODE" "$data" 20 | awk '{print $2}')
    p=$(echo "$p $x" | awk '{print ($2 < $1) ? $2 : $1}')
    a=$(echo "$a $y" | awk '{print ($2 < $1) ? $2 : $1}')
    r=$((r + 1))
  done
  printf '%-22s %10s %10s %10s\n' "$name" "$p" "$a" "$(echo "$p $a" | awk '{printf "%.2f", $1/$2}')"
done
echo "(b) $NTX pre-signed bump() transactions per round, 8 connections, automine; every round printed"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
phr_load() { # label: one load run against the phr node started last, with its CPU per tx
  c0=$(cpu_ticks "$PHR_PID")
  printf '%s' "$1"; "$BENCH_BIN" load "$PHR_URL" "$CODE" "$BUMP" "$NTX" 8 || true
  c1=$(cpu_ticks "$PHR_PID")
  echo "$c0 $c1 $NTX $(getconf CLK_TCK)" | awk '{printf "       node CPU %.3f ms/tx\n", 1000 * ($2 - $1) / $4 / $3}'
}
r=0
while [ $r -lt "$ROUNDS" ]; do
  NODE_BIN=$PHR_BIN
  start_nodes # fresh chains each round
  phr_load 'phr:   '
  printf 'anvil: '; "$BENCH_BIN" load "$ANVIL_URL" "$CODE" "$BUMP" "$NTX" 8 || true
  if [ -n "${BASE_BIN:-}" ]; then
    NODE_BIN=$BASE_BIN
    start_nodes
    phr_load 'base:  '
  fi
  r=$((r + 1))
done
