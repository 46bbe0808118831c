#!/bin/sh
# The embedded chain's CPU per sealed block and per minted record, and its memory per
# record (bench_chain_seal: an embedded node, MintLike.mint of BATCH records per
# transaction, one block each, synchronous=FULL). With BASE_BUILD=<another build dir>
# (e.g. a Release build of an older commit, with bench_chain_seal built) both run
# alternately in the same run, ROUNDS times, and the ratios new/base are printed.
# Env: BLOCKS (1000), BATCH (24), ROUNDS (2), BASE_BUILD.
set -eu
cd "$(dirname "$0")/.."
B=build/chain-bench
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target bench_chain_seal >/dev/null
: "${BLOCKS:=1000}" "${BATCH:=24}" "${ROUNDS:=2}"
# one line: seal ms, commit ms (the node's counters), us/record and KB/record (the bench)
one() {
  "$1/bench/bench_chain_seal" "$BLOCKS" "$BATCH" "$BLOCKS" 2>&1 | awk '
    /blocks sealed/ { for (i = 1; i <= NF; i++) { if ($i == "sealed,") s = $(i + 1); if ($i == "commits,") c = $(i + 1) } }
    /^ +[0-9]/ { us = $3; kb = $4 }
    END { printf "%s %s %s %s\n", s, c, us, kb }'
}
printf '%-6s %10s %10s %12s %12s\n' build "seal ms" "commit ms" "us/record" "anon KB/rec"
r=0
while [ $r -lt "$ROUNDS" ]; do
  r=$((r + 1))
  set -- $(one "$B"); printf '%-6s %10s %10s %12s %12s\n' new "$1" "$2" "$3" "$4"
  echo "$*" >> /tmp/chain-seal-new.$$
  if [ -n "${BASE_BUILD:-}" ]; then
    set -- $(one "$BASE_BUILD"); printf '%-6s %10s %10s %12s %12s\n' base "$1" "$2" "$3" "$4"
    echo "$*" >> /tmp/chain-seal-base.$$
  fi
done
if [ -n "${BASE_BUILD:-}" ]; then
  paste /tmp/chain-seal-new.$$ /tmp/chain-seal-base.$$ | awk '
    { s += $1; c += $2; u += $3; k += $4; S += $5; C += $6; U += $7; K += $8 }
    END { printf "ratio new/base: seal %.2f, commit %.2f, CPU per record %.2f, memory per record %.2f\n", s / S, c / C, u / U, k / K }'
fi
rm -f /tmp/chain-seal-new.$$ /tmp/chain-seal-base.$$
