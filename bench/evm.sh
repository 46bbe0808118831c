#!/bin/sh
# EVM interpreter speed, phr vs anvil (revm), in one run: the loop bytecodes of
# bench/bench_evm.c run in-process by phr's interpreter, and the very same
# bytecode run by anvil through eth_call (as creation code, no "to").
# Prints seconds for each and the ratio anvil/phr (> 1: phr faster).
#
# Usage: bench/evm.sh [build-dir]   (default build/release; needs target bench_evm)
# Both figures are the best wall time of three runs; anvil's includes one
# JSON-RPC round trip on loopback (~1 ms).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
BENCH=$BUILD/bench/bench_evm
ANVIL=$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
[ -x "$BENCH" ] || { echo "missing $BENCH (cmake --build $BUILD --target bench_evm)" >&2; exit 2; }
[ -x "$ANVIL" ] || { echo "missing $ANVIL (npm ci)" >&2; exit 2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ANVIL" --host 127.0.0.1 --port "$PORT" --disable-block-gas-limit \
	--disable-code-size-limit --silent >/dev/null 2>&1 &
APID=$!
trap 'kill $APID 2>/dev/null' EXIT INT TERM
URL=http://127.0.0.1:$PORT
i=0
until curl -s -o /dev/null -X POST -H 'content-type: application/json' \
	--data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$URL"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "anvil did not start" >&2; exit 1; }; sleep 0.1
done

PHR_OUT=$("$BENCH")
printf '%-14s %10s %10s %8s\n' bench phr_s anvil_s anvil/phr
"$BENCH" --hex | while read -r name hex; do
	body=$(printf '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"%s","gas":"0xe8d4a51000"},"latest"]}' "$hex")
	# best of three calls, as bench_evm takes the best of three runs
	t_anvil=
	for run in 1 2 3; do
		t=$(curl -s -o /tmp/phr-bench-evm.$$ -w '%{time_total}' -X POST \
			-H 'content-type: application/json' --data "$body" "$URL")
		t_anvil=$(awk -v a="$t" -v b="${t_anvil:-$t}" 'BEGIN { print (a < b ? a : b) }')
	done
	if grep -q '"error"' /tmp/phr-bench-evm.$$; then
		echo "$name: anvil error: $(cat /tmp/phr-bench-evm.$$)" >&2
	fi
	rm -f /tmp/phr-bench-evm.$$
	t_phr=$(printf '%s\n' "$PHR_OUT" | awk -v n="$name" '$1 == n { print $2 }')
	awk -v n="$name" -v p="$t_phr" -v a="$t_anvil" \
		'BEGIN { printf "%-14s %10.3f %10.3f %8.2f\n", n, p, a, (p > 0 ? a / p : 0) }'
done
