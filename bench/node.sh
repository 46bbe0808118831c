#!/bin/sh
# Node benchmark: submitRecord and getRecord through the REST API of one
# `phr node --dev` (embedded chain, automine, every block committed before the
# answer), driven by bench_node (C, libcurl, one keep-alive connection per
# client thread), with 4 KB and 10 MB records. Prints req/s, p50, p99 and the
# ratio to the goals of the node issue (getRecord 10,000 req/s, submitRecord
# 1,000 records/s). Every submitRecord mints a token and every getRecord logs
# a View on chain (grouped: AuditTrail.logViews), so both are bounded by the
# chain's transaction rate.
# With BASE_BIN=<another phr binary> the same runs are made against it too
# (e.g. a build of an older commit) and the ratio new/base is printed.
# Env: PHR_BIN, BENCH_BIN (default: a Release build in build/node-bench),
#      BASE_BIN (optional), THREADS (client connections, 32),
#      NODE_THREADS (--threads of the node, 16), SECS (5), SIZES ("4096 10485760"),
#      OPS ("submit get content"), BENCH_TMP (where the data directories go, /tmp).
set -eu
cd "$(dirname "$0")/.."
B=build/node-bench
if [ -z "${PHR_BIN:-}" ] || [ -z "${BENCH_BIN:-}" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr bench_node >/dev/null
fi
: "${PHR_BIN:=$B/src/cli/phr}"
: "${BENCH_BIN:=$B/bench/bench_node}"
: "${THREADS:=32}"
: "${NODE_THREADS:=16}"
: "${SECS:=5}"
: "${SIZES:=4096 10485760}"
TMP=$(mktemp -d "${BENCH_TMP:-/tmp}/phr-node-bench-XXXXXX")
PID=
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; PID=; }
cleanup() { stop; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }'; }

# suite NAME BIN: starts a node with BIN, runs every op and size, writes NAME.res lines "op size rps"
suite() {
  name=$1 bin=$2 d="$TMP/$1"
  "$bin" node --datadir "$d" --listen 127.0.0.1:0 --dev --no-seed --log-level warn \
    --threads "$NODE_THREADS" >"$TMP/$name.out" 2>"$TMP/$name.log" &
  PID=$!
  i=0
  while ! grep -q "listening on" "$TMP/$name.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && { echo "node did not start"; cat "$TMP/$name.log"; exit 1; }
    sleep 0.1
  done
  URL=$(grep -o 'http://[0-9.:]*' "$TMP/$name.out" | head -1)
  tok() { grep -A2 "\"$1\"" "$d/dev/tokens.json" | grep -o 'phr_[0-9a-f]*'; }
  addr() { grep -A1 "\"$1\"" "$d/dev/tokens.json" | grep -o '0x[0-9a-fA-F]*'; }
  PROV=$(tok provider); PAT=$(tok patient); PADDR=$(addr patient); PRADDR=$(addr provider)
  # the patient grants the provider Write for a day
  curl -sf -H "Authorization: Bearer $PAT" -H 'Content-Type: application/json' \
    -d "{\"provider\":\"$PRADDR\",\"level\":\"write\",\"duration\":86400}" \
    "$URL/api/v1/access/grants" >/dev/null
  echo "# $name: $bin, $(nproc) cores, $THREADS client connections, node --threads $NODE_THREADS, $SECS s per run"
  : >"$TMP/$name.res"
  for size in $SIZES; do
    for op in ${OPS:-submit get content}; do
      if [ "$op" = submit ]; then arg=$PADDR goal=1000; else arg=$ID goal=10000; fi
      line=$("$BENCH_BIN" "$URL" "$PROV" "$op" "$size" "$THREADS" "$SECS" "$arg")
      rps=$(echo "$line" | sed 's/.*: \([0-9.]*\) req\/s.*/\1/')
      echo "$line  (goal $goal/s: ratio $(ratio "$rps" "$goal"))"
      echo "$op $size $rps" >>"$TMP/$name.res"
      if [ "$op" = submit ]; then
        # a record of this size to read back
        ID=$(head -c "$size" /dev/urandom | curl -sf -H "Authorization: Bearer $PROV" \
          -H 'Content-Type: application/octet-stream' --data-binary @- \
          "$URL/api/v1/records?patient=$PADDR&type=5" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*')
      fi
    done
  done
  stop
}

suite new "$PHR_BIN"
if [ -n "${BASE_BIN:-}" ]; then
  suite base "$BASE_BIN"
  echo "# new / base"
  paste "$TMP/new.res" "$TMP/base.res" | while read -r op size a _ _ b; do
    echo "$op size=$size: $a vs $b req/s, ratio $(ratio "$a" "$b")"
  done
fi
