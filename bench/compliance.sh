#!/bin/sh
# Compliance benchmark: proving one patient's audit trail, phr vs an ethers peer, in one run.
# A `phr node --dev` gets N extra audit entries (the patient reads her records over the API),
# then, each RUNS times (median):
#  phr   : `phr audit verify --patient P` — eth_getLogs from the chain, the hash-chain fold,
#          headOf/countOf, and the row-by-row comparison with the node's index (more work),
#          over HTTP, including the CLI's process start;
#  ethers: bench/compliance_verify_peer.mjs — eth_getLogs over the node's /rpc, the same
#          fold, headOf/countOf, in one warm node.js process.
# Env: PHR_BIN (default: a Release build in build/compl-bench), N (300), RUNS (7).
set -eu
cd "$(dirname "$0")/.."
B=build/compl-bench
if [ -z "${PHR_BIN:-}" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j2 --target phr >/dev/null
fi
: "${PHR_BIN:=$B/src/cli/phr}"
: "${N:=300}"
: "${RUNS:=7}"
TMP=$(mktemp -d /tmp/phr-compl-bench-XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
mkdir -p "$TMP/node"
"$PHR_BIN" node --dev --datadir "$TMP/node" --listen 127.0.0.1:0 >"$TMP/out" 2>"$TMP/log" &
PID=$!
i=0
until grep -q "listening on" "$TMP/out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 600 ] && { echo "node did not start"; exit 1; }; sleep 0.1
done
URL=$(sed -n 's/^listening on //p' "$TMP/out" | head -1)
eval "$(python3 - "$TMP/node" <<'PY'
import json, sys
d = sys.argv[1]
t = json.load(open(d + "/dev/tokens.json"))
dep = json.load(open(d + "/deployment.json"))
print("PAT=%s PTOK=%s ATOK=%s AUDIT=%s" % (t["patient"]["address"], t["patient"]["token"],
      t["auditor"]["token"], dep["AuditTrail"]))
PY
)"
IDS=$(curl -sf -H "Authorization: Bearer $PTOK" "$URL/api/v1/patients/$PAT/records" |
      python3 -c 'import json,sys; print(" ".join(i["id"] for i in json.load(sys.stdin)["items"]))')
k=0
while [ $k -lt "$N" ]; do
  for id in $IDS; do
    curl -sf -o /dev/null -H "Authorization: Bearer $PTOK" "$URL/api/v1/records/$id/content?purpose=6"
    k=$((k + 1)); [ $k -ge "$N" ] && break
  done
done
phr_ms() {
  python3 - "$PHR_BIN" "$URL" "$ATOK" "$PAT" "$RUNS" <<'PY'
import subprocess, sys, time, json
b, url, tok, pat, runs = sys.argv[1:6]
ts = []
for _ in range(int(runs)):
    t0 = time.perf_counter()
    out = subprocess.run([b, "audit", "verify", "--patient", pat, "--node", url, "--token", tok, "--json"],
                         check=True, capture_output=True).stdout
    ts.append((time.perf_counter() - t0) * 1000)
    rep = json.loads(out)
    assert rep["ok"], rep
ts.sort()
print("%.1f %d" % (ts[len(ts) // 2], rep["patients"][0]["entries"]))
PY
}
set -- $(phr_ms); PHR=$1; ENTRIES=$2
set -- $(node bench/compliance_verify_peer.mjs "$URL/rpc" "$AUDIT" "$PAT" "$RUNS"); PEER=$1; PEER_ENTRIES=$2
echo "audit trail of one patient: $ENTRIES entries (peer saw $PEER_ENTRIES)"
echo "phr audit verify (CLI, HTTP, chain + index)   median ${PHR} ms"
echo "ethers fold (warm node.js, chain only)         median ${PEER} ms"
python3 -c "print('ratio phr/ethers: %.2f' % ($PHR / $PEER))"
