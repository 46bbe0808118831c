#!/bin/sh
# Regenerates txs.json: signed transactions built by Foundry's cast (mktx) with the
# first key of the "test ... junk" mnemonic, and their hashes (cast keccak), for
# tests/api/test_relay_check.c. Run from the repository root after npm ci.
set -e
CAST=node_modules/@foundry-rs/cast-linux-amd64/bin/cast
K=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
R=0x1111111111111111111111111111111111111111
E=0x2222222222222222222222222222222222222222
V=0x6666666666666666666666666666666666666666
A=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
B=0x70997970C51812dc3A010C7b50d0aE429C79C8C8
Z=0x0000000000000000000000000000000000000000000000000000000000000000
LEG="--chain 31337 --gas-limit 100000 --gas-price 1000000000 --legacy"
DYN="--chain 31337 --gas-limit 100000 --priority-gas-price 1 --gas-price 1000000000"
out=tests/vectors/relay/txs.json
first=1
one() { # name expect needsTotp totpIfEnrolled to-hex mktx-args...
	name=$1 expect=$2 totp=$3 enr=$4; shift 4
	raw=$($CAST mktx --private-key $K --nonce 0 "$@")
	hash=$($CAST keccak "$raw")
	[ $first = 1 ] && printf '[\n' > $out || printf ',\n' >> $out
	first=0
	printf '  {"name": "%s", "raw": "%s", "hash": "%s", "expect": "%s", "needsTotp": %s, "totpIfEnrolled": %s}' \
		"$name" "$raw" "$hash" "$expect" "$totp" "$enr" >> $out
}
one legacy_revoke ok false false $LEG $R "revokeAccess(address,address,bytes32)" $A $B $Z
one eip1559_grant_admin ok true false $DYN $R "grantAccess(address,address,uint8,bytes32,uint64)" $A $B 3 $Z 99999999999
one eip1559_grant_read ok false false $DYN $R "grantAccess(address,address,uint8,bytes32,uint64)" $A $B 1 $Z 99999999999
one rotate_owner ok true false $LEG $R "rotateOwner(address,address)" $A $B
one emergency_open ok true false $LEG $E "openEmergencyAccess(address,uint8,bytes32)" $A 1 $Z
one recovery_cancel ok false true $LEG $V "cancelRecovery(address)" $A
one approve_request ok false false $LEG $R "approveRequest(uint256)" 7
one wrong_chain invalid false false --chain 1 --gas-limit 100000 --gas-price 1000000000 --legacy $R "approveRequest(uint256)" 7
one elsewhere forbidden false false $LEG 0x7777777777777777777777777777777777777777 "approveRequest(uint256)" 7
one with_value invalid false false $LEG --value 1 $R "approveRequest(uint256)" 7
one too_much_gas invalid false false --chain 31337 --gas-price 1 --legacy --gas-limit 30000001 $R "approveRequest(uint256)" 7
printf '\n]\n' >> $out
