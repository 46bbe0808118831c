#!/bin/sh
# ZK credential benchmarks in one command, phr beside its peers:
#   - Groth16 verification: phr's native C verifier (EVM precompile arithmetic, Release
#     build) against snarkjs in node, same proofs, with the ratio;
#   - proving with snarkjs in node (in-process; the browser time is printed by
#     tests/browser/zk_browser.mjs);
#   - gas on `phr chain --dev` against anvil: the raw snarkjs verifier (with its
#     eth_estimateGas pitfall), the end-to-end ResearchAccess flow and the TrialRegistry
#     enrolment flow (bench/zk_trial_gas.mjs).
# Usage: bench/zk.sh   (build dir: $PHR_BENCH_BUILD, default build/zk-release; phr from
#        there unless PHR_BIN names one: only gas is measured on the chain)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/zk-release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ -n "${PHR_BIN:-}" ]; then
	cmake --build "$build" -j2 --target bench_zk >/dev/null
else
	cmake --build "$build" -j2 --target bench_zk phr >/dev/null
	PHR_BIN=$build/src/cli/phr
fi
export PHR_BIN PHR_SOURCE_DIR="$root"
cd "$root"
echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/bench_zk" "$root" 50 > "$tmp/c.jsonl"
node bench/zk_peer.mjs 20 3 > "$tmp/js.jsonl"
for c in phr anvil; do
	node bench/zk_gas.mjs --chain $c >> "$tmp/gas.jsonl"
	node tests/interop/zk_chain.mjs --chain $c | grep '^{"gas"' >> "$tmp/flow.jsonl"
	node bench/zk_trial_gas.mjs --chain $c >> "$tmp/flow.jsonl"
done
node - "$tmp" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const lines = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').map(JSON.parse);
const c = lines('c.jsonl'), js = lines('js.jsonl'), gas = lines('gas.jsonl'), flow = lines('flow.jsonl');
console.log('== Groth16 verification (ms per proof)');
for (const x of c) {
  const y = js.find((j) => j.circuit === x.circuit);
  console.log(`${x.circuit.padEnd(20)} phr C ${x.verifyMs.toFixed(2)}  snarkjs ${y.snarkjsVerifyMs.toFixed(2)}  ratio snarkjs/phr ${(y.snarkjsVerifyMs / x.verifyMs).toFixed(2)}x  (vkey parse ${x.vkeyParseUs} us, proof parse ${x.proofParseUs} us)`);
}
console.log('== proving with snarkjs in node (ms, witness + proof)');
for (const y of js) console.log(`${y.circuit.padEnd(20)} ${y.snarkjsProveMs}`);
console.log('== gas (phr chain --dev vs anvil; totals differ by the random calldata bytes of proofs and identities, execution gas excludes them)');
const g = (k) => gas.find((x) => x.chain === k);
console.log(`raw verifier tx gas       phr ${g('phr').rawVerifierTxGas}  anvil ${g('anvil').rawVerifierTxGas}  ratio ${(g('phr').rawVerifierTxGas / g('anvil').rawVerifierTxGas).toFixed(3)}`);
console.log(`raw verifier estimateGas  phr ${g('phr').rawVerifierEstimate} (verifies at it: ${g('phr').rawVerifierResultAtEstimate})  anvil ${g('anvil').rawVerifierEstimate} (verifies at it: ${g('anvil').rawVerifierResultAtEstimate})`);
for (const k of ['addCredential', 'useCredential', 'useAgeProof', 'createTrial', 'addParticipant', 'enrol']) {
  const p = flow.find((x) => x.gas === k && x.chain === 'phr'), a = flow.find((x) => x.gas === k && x.chain === 'anvil');
  const est = p.estimate ? `  (estimateGas phr ${p.estimate}, anvil ${a.estimate})` : '';
  console.log(`${k.padEnd(25)} phr ${p.value}  anvil ${a.value}  execution only: phr ${p.exec}  anvil ${a.exec}  ratio ${(p.exec / a.exec).toFixed(3)}${est}`);
}
JS
