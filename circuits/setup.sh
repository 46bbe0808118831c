#!/bin/sh
# Reproducible Groth16 setup for the phr ZK circuits (development parameters).
#
# Every random value comes from a public beacon string recorded below, so anyone who
# runs this script gets byte-identical outputs -- and anyone can recompute the toxic
# waste and forge proofs. That is fine for tests and CI, never for production: see
# docs/privacy.md "Zero-knowledge credentials" for what a real ceremony must add.
#
# Inputs:  circuits/*.circom, node_modules/circomlib (2.0.5), circom2 0.2.23, snarkjs 0.7.6
# Outputs (committed): circuits/keys/<c>.wasm, <c>.zkey, <c>_vkey.json, and
#          contracts/src/<C>Verifier.sol (snarkjs's exported verifier, renamed).
# The prepared powers of tau (~9 MB) is cached in $PHR_ZK_CACHE (default
# build/zk-setup); it takes a few minutes to prepare at 2^13.
#
# Usage: circuits/setup.sh [NAME...]  (run from anywhere; works in the repo root); with
#                                     names, only those circuits are rebuilt (the others'
#                                     outputs are kept; setup of one never affects another)
#        circuits/setup.sh --check    only recompile the circuits (seconds) and check that
#                                     the committed .wasm files, hence the circuits the
#                                     committed keys were made for, are current (exit 1 if not)
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--check" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	status=0
	for name in provider_credential age_credential trial_enrolment; do
		node_modules/.bin/circom2 "circuits/$name.circom" --O2 --wasm \
			-l node_modules/circomlib/circuits -l circuits -o "$tmp" >/dev/null
		want=$(grep " circuits/keys/$name.wasm\$" circuits/keys/SHA256SUMS | cut -c1-64)
		got=$(sha256sum "$tmp/${name}_js/$name.wasm" | cut -c1-64)
		have=$(sha256sum "circuits/keys/$name.wasm" | cut -c1-64)
		if [ "$got" = "$want" ] && [ "$have" = "$want" ]; then
			echo "ok - $name: circuit, committed wasm and SHA256SUMS agree"
		else
			echo "FAIL - $name: circuits/$name.circom changed since circuits/setup.sh ran (rerun it)"
			status=1
		fi
	done
	exit $status
fi

POWER=13
# Beacons: SHA-256 of the ASCII strings in the comments (fixed, public, recorded).
# sha256("phr zk dev ceremony: powers of tau, 2^13")
PTAU_BEACON=$(printf '%s' 'phr zk dev ceremony: powers of tau, 2^13' | sha256sum | cut -c1-64)
# sha256("phr zk dev ceremony: phase 2, <circuit>")
BEACON_ITER=10

SNARKJS=node_modules/.bin/snarkjs
CIRCOM=node_modules/.bin/circom2
CACHE=${PHR_ZK_CACHE:-build/zk-setup}
OUT=circuits/keys
mkdir -p "$CACHE" "$OUT"

PTAU="$CACHE/pot${POWER}_final.ptau"
if [ ! -f "$PTAU" ]; then
	"$SNARKJS" powersoftau new bn128 "$POWER" "$CACHE/pot_0.ptau"
	"$SNARKJS" powersoftau beacon "$CACHE/pot_0.ptau" "$CACHE/pot_1.ptau" \
		"$PTAU_BEACON" "$BEACON_ITER" -n="phr dev beacon"
	"$SNARKJS" powersoftau prepare phase2 "$CACHE/pot_1.ptau" "$PTAU.tmp"
	mv "$PTAU.tmp" "$PTAU"
	rm -f "$CACHE/pot_0.ptau" "$CACHE/pot_1.ptau"
fi

build_circuit() {
	name=$1
	contract=$2
	"$CIRCOM" "circuits/$name.circom" --O2 --r1cs --wasm \
		-l node_modules/circomlib/circuits -l circuits -o "$CACHE"
	cp "$CACHE/${name}_js/$name.wasm" "$OUT/$name.wasm"
	"$SNARKJS" groth16 setup "$CACHE/$name.r1cs" "$PTAU" "$CACHE/${name}_0.zkey"
	beacon=$(printf '%s' "phr zk dev ceremony: phase 2, $name" | sha256sum | cut -c1-64)
	"$SNARKJS" zkey beacon "$CACHE/${name}_0.zkey" "$OUT/$name.zkey" \
		"$beacon" "$BEACON_ITER" -n="phr dev beacon $name"
	"$SNARKJS" zkey export verificationkey "$OUT/$name.zkey" "$OUT/${name}_vkey.json"
	"$SNARKJS" zkey export solidityverifier "$OUT/$name.zkey" "$CACHE/${name}_verifier.sol"
	sed -e "s/contract Groth16Verifier/contract ${contract}Verifier/" \
		-e "s/^pragma solidity .*/pragma solidity ^0.8.24;/" \
		"$CACHE/${name}_verifier.sol" > "contracts/src/${contract}Verifier.sol"
	rm -f "$CACHE/${name}_0.zkey"
}

contract_of() {
	case $1 in
	provider_credential) echo ProviderCredential ;;
	age_credential) echo AgeCredential ;;
	trial_enrolment) echo TrialEnrolment ;;
	*) echo "setup.sh: unknown circuit $1" >&2; exit 2 ;;
	esac
}

[ $# -gt 0 ] || set -- provider_credential age_credential trial_enrolment
for name in "$@"; do
	build_circuit "$name" "$(contract_of "$name")"
done
sha256sum "$OUT"/*.wasm "$OUT"/*.zkey "$OUT"/*_vkey.json > "$OUT/SHA256SUMS"
