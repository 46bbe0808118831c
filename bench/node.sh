#!/bin/sh
# Node benchmark: submitRecord and getRecord through the REST API of one
# `phr node --dev` (embedded chain, automine, every block committed before the
# answer), with 4 KB and 10 MB records, driven by wrk (bench/node.lua: one
# request formatted once, keep-alive connections, event loop) or, when wrk is
# absent or LOADGEN=bench_node, by bench_node (C, libcurl, one thread per
# connection). Prints req/s, p50, p99, the ratio to the goals of the node
# issue (getRecord 10,000 req/s, submitRecord 1,000 records/s) and the node's
# CPU time per request (utime + stime of the node process from /proc/PID/stat
# around each run, divided by the requests answered: the steady figure on a
# shared machine). Any non-2xx answer or socket error fails the run (exit 1).
# Every submitRecord mints a token and every getRecord logs a View on chain
# (grouped: AuditTrail.logViews), so both are bounded by the chain's rate.
# With BASE_BIN=<another phr binary> the same runs are made against it too
# (e.g. a build of an older commit), alternating new and base ROUNDS times,
# and the ratios new/base are printed.
# Env: PHR_BIN, BENCH_BIN (default: a Release build in build/node-bench),
#      BASE_BIN (optional), ROUNDS (1), LOADGEN (wrk | bench_node; default wrk
#      when installed), THREADS (client connections: a list, each op runs at each, "64 128"), WRK_THREADS (wrk's
#      threads, 1), NODE_THREADS (--threads of the node: requests handled at once, 64), SECS (5),
#      SIZES ("4096 10485760"), OPS ("submit get content"),
#      BENCH_TMP (where the data directories go, /tmp).
set -eu
cd "$(dirname "$0")/.."
B=build/node-bench
: "${LOADGEN:=$(command -v wrk >/dev/null 2>&1 && echo wrk || echo bench_node)}"
if [ -z "${PHR_BIN:-}" ] || { [ "$LOADGEN" = bench_node ] && [ -z "${BENCH_BIN:-}" ]; }; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr bench_node >/dev/null
fi
: "${PHR_BIN:=$B/src/cli/phr}"
: "${BENCH_BIN:=$B/bench/bench_node}"
: "${THREADS:=64 128}"
: "${WRK_THREADS:=1}"
: "${NODE_THREADS:=64}"
: "${SECS:=5}"
: "${SIZES:=4096 10485760}"
: "${OPS:=submit get content}"
: "${ROUNDS:=1}"
TMP=$(mktemp -d "${BENCH_TMP:-/tmp}/phr-node-bench-XXXXXX")
PID=
FAILED=0
HZ=$(getconf CLK_TCK)
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; PID=; }
cleanup() { stop; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }'; }
# microseconds per answered request ($OK) of $1 CPU ticks
per_request() { awk -v t="$1" -v hz="$HZ" -v n="$OK" 'BEGIN { printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0) }'; }
# CPU ticks (user + system) of process $1
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# wrk's latency ("812.00us", "9.80ms", "1.20s", "2.00m") in ms
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 0
    printf "%.2f", n * f }'
}

# run OP SIZE ARG: one load run; sets OK ERR RPS P50 P99 (ms)
run() {
  op=$1 size=$2 arg=$3
  if [ "$LOADGEN" = wrk ]; then
    if [ "$op" = submit ]; then
      path="/api/v1/records?patient=$arg&type=5" body="$TMP/body.$size"
      [ -f "$body" ] || head -c "$size" /dev/urandom >"$body"
    else
      path="/api/v1/records/$arg" body=
      [ "$op" = content ] && path="$path/content"
    fi
    # the inner shell reads its waited-for child's CPU ticks (cutime + cstime) after wrk
    PHR_TOKEN=$PROV PHR_PATH=$path PHR_BODY_FILE=$body sh -c '
      wrk -t "$1" -c "$2" -d "$3" --timeout 120s --latency -s bench/node.lua "$4" >"$5" 2>&1
      sed "s/.*) //" /proc/$$/stat | awk "{ print \$14 + \$15 }" >"$5.cpu"' \
      sh "$WRK_THREADS" "$CONNS" "${SECS}s" "$URL" "$TMP/wrk.out" || true
    LGCPU=$(cat "$TMP/wrk.out.cpu" 2>/dev/null || echo 0)
    OK=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
    P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$TMP/wrk.out")")
    P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$TMP/wrk.out")")
    ERR=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
      /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$TMP/wrk.out")
    [ -n "$OK" ] && [ -n "$RPS" ] || { echo "ERROR: wrk gave no figures:"; cat "$TMP/wrk.out"; OK=0 RPS=0 ERR=1; }
    OK=$((OK - ERR))
  else
    line=$(sh -c '"$@" && sed "s/.*) //" /proc/$$/stat | awk "{ print \$14 + \$15 }" >"'"$TMP"'/bn.cpu"' \
      sh "$BENCH_BIN" "$URL" "$PROV" "$op" "$size" "$CONNS" "$SECS" "$arg" || true)
    LGCPU=$(cat "$TMP/bn.cpu" 2>/dev/null || echo 0)
    OK=$(echo "$line" | sed -n 's/.*: \([0-9]*\) ok.*/\1/p')
    ERR=$(echo "$line" | sed -n 's/.* \([0-9]*\) errors.*/\1/p')
    RPS=$(echo "$line" | sed -n 's/.* \([0-9.]*\) req\/s.*/\1/p')
    P50=$(echo "$line" | sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p')
    P99=$(echo "$line" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')
    [ -n "$OK" ] || { echo "ERROR: bench_node gave no figures: $line"; OK=0 RPS=0 ERR=1; }
  fi
}

# suite NAME BIN: starts a node with BIN, runs every op and size, appends NAME.res lines
# "op size rps p50 p99 cpu_us_per_request"
suite() {
  name=$1 bin=$2 d="$TMP/$1.$3"
  "$bin" node --datadir "$d" --listen 127.0.0.1:0 --dev --no-seed --log-level warn \
    --threads "$NODE_THREADS" >"$TMP/$name.out" 2>"$TMP/$name.log" &
  PID=$!
  i=0
  while ! grep -q "listening on" "$TMP/$name.out" 2>/dev/null || [ ! -s "$d/dev/tokens.json" ]; do
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
  echo "# $name: $bin, $(nproc) cores, load generator $LOADGEN, client connections: $THREADS," \
    "node --threads $NODE_THREADS, $SECS s per run, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for size in $SIZES; do
    # a record of this size to read back
    ID=$(head -c "$size" /dev/urandom | curl -sf -H "Authorization: Bearer $PROV" \
      -H 'Content-Type: application/octet-stream' --data-binary @- \
      "$URL/api/v1/records?patient=$PADDR&type=5" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*')
    [ -n "$ID" ] || { echo "ERROR: the first submission of $size bytes failed"; cat "$TMP/$name.log"; exit 1; }
    for op in $OPS; do
      if [ "$op" = submit ]; then arg=$PADDR goal=1000; else arg=$ID goal=10000; fi
      for CONNS in $THREADS; do
        t0=$(ticks "$PID")
        run "$op" "$size" "$arg"
        t1=$(ticks "$PID")
        cpu=$(per_request $((t1 - t0)))
        lg=$(per_request "$LGCPU")
        echo "$op size=$size conns=$CONNS: $OK ok, $ERR errors, $RPS req/s, p50 $P50 ms, p99 $P99 ms," \
          "node CPU $cpu us/request, $LOADGEN $lg us/request (goal $goal/s: ratio $(ratio "$RPS" "$goal"))"
        if [ "$ERR" -gt 0 ] || [ "$OK" -le 0 ]; then
          echo "ERROR: $op size=$size conns=$CONNS: $ERR failed requests (non-2xx or socket errors), $OK answered"
          FAILED=1
        fi
        echo "$op $size $RPS $P50 $P99 $cpu $CONNS" >>"$TMP/$name.res"
      done
    done
  done
  stop
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
  suite new "$PHR_BIN" "$r"
  [ -n "${BASE_BIN:-}" ] && suite base "$BASE_BIN" "$r"
  r=$((r + 1))
done
if [ -n "${BASE_BIN:-}" ]; then
  echo "# new / base (runs in the order made)"
  paste "$TMP/new.res" "$TMP/base.res" | while read -r op size a _ _ ca conns _ _ b _ _ cb _; do
    echo "$op size=$size conns=$conns: $a vs $b req/s, ratio $(ratio "$a" "$b"); node CPU $ca vs $cb us/request, ratio $(ratio "$ca" "$cb")"
  done
fi
if [ "$FAILED" -ne 0 ]; then
  echo "ERROR: some runs had failed requests (see above)"
  exit 1
fi
