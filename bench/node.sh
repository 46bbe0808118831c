#!/bin/sh
# Node benchmark: submitRecord and getRecord through the REST API of one
# `phr node --dev` (embedded chain, automine, every block committed before the
# answer), driven by bench_node (C, libcurl, keep-alive connections), with 4 KB
# and 10 MB records. Prints req/s, p50, p99 and the ratio to the goals of the
# node issue (getRecord 10,000 req/s, submitRecord 1,000 records/s).
# Every submitRecord mints a token and every getRecord logs a View on chain,
# so both are bounded by the chain's transaction rate.
# Env: PHR_BIN, BENCH_BIN (default: a Release build in build/node-bench),
#      THREADS (4), SECS (5).
set -eu
cd "$(dirname "$0")/.."
B=build/node-bench
if [ -z "${PHR_BIN:-}" ] || [ -z "${BENCH_BIN:-}" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr bench_node >/dev/null
fi
: "${PHR_BIN:=$B/src/cli/phr}"
: "${BENCH_BIN:=$B/bench/bench_node}"
: "${THREADS:=4}"
: "${SECS:=5}"
TMP=$(mktemp -d /tmp/phr-node-bench-XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

"$PHR_BIN" node --datadir "$TMP/n" --listen 127.0.0.1:0 --dev --no-seed --log-level warn \
  >"$TMP/out" 2>"$TMP/log" &
PID=$!
i=0
while ! grep -q "listening on" "$TMP/out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 600 ] && { echo "node did not start"; cat "$TMP/log"; exit 1; }
  sleep 0.1
done
URL=$(grep -o 'http://[0-9.:]*' "$TMP/out" | head -1)
tok() { grep -A2 "\"$1\"" "$TMP/n/dev/tokens.json" | grep -o 'phr_[0-9a-f]*'; }
addr() { grep -A1 "\"$1\"" "$TMP/n/dev/tokens.json" | grep -o '0x[0-9a-fA-F]*'; }
PROV=$(tok provider); PAT=$(tok patient); PADDR=$(addr patient); PRADDR=$(addr provider)
# the patient grants the provider Write for a day
curl -sf -H "Authorization: Bearer $PAT" -H 'Content-Type: application/json' \
  -d "{\"provider\":\"$PRADDR\",\"level\":\"write\",\"duration\":86400}" \
  "$URL/api/v1/access/grants" >/dev/null

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
run() { # op size threads secs arg goal
  line=$("$BENCH_BIN" "$URL" "$3" "$1" "$2" "$THREADS" "$SECS" "$4")
  rps=$(echo "$line" | sed 's/.*: \([0-9.]*\) req\/s.*/\1/')
  echo "$line  (goal $5/s: ratio $(ratio "$rps" "$5"))"
}
echo "# phr node, $(nproc) cores, $THREADS client threads, $SECS s per run"
for size in 4096 10485760; do
  run submit "$size" "$PROV" "$PADDR" 1000
  # a record of this size to read back
  ID=$(head -c "$size" /dev/urandom | curl -sf -H "Authorization: Bearer $PROV" \
    -H 'Content-Type: application/octet-stream' --data-binary @- \
    "$URL/api/v1/records?patient=$PADDR&type=5" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*')
  run get "$size" "$PROV" "$ID" 10000
  run content "$size" "$PROV" "$ID" 10000
done
