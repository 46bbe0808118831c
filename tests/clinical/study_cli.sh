#!/usr/bin/env bash
# A research study through the CLI against a `phr node --dev` process: the provider
# sponsors it, two custodians open their sealed shares with their own keystores, the
# patient consents on chain and submits from its client, the sponsor closes, two of
# three custodians post partial decryptions, and the result is the plaintext figure.
set -euo pipefail
phr=${PHR_BIN:?}
dir=$(mktemp -d "${TMPDIR:-/tmp}/phr-study-cli.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/node.err" ] && tail -20 "$dir/node.err"; exit 1; }

"$phr" node --dev --no-seed --datadir "$dir/node" --listen 127.0.0.1:0 >"$dir/node.out" 2>"$dir/node.err" &
pid=$!
for _ in $(seq 1 600); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$dir/node.out" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the node exited"
  sleep 0.1
done
[ -n "$url" ] || fail "the node did not start"
tok="$dir/node/dev/tokens.json"
keys="$dir/node/dev/keys"
echo dev >"$dir/pw"
addr() { jq -r ".$1.address" "$tok"; }
api() { "$phr" study "$@" --node "$url" --token-file "$tok"; }

api create --as provider --name cli-study --bits 8 --threshold 2 \
  --custodian "$(addr provider)" --custodian "$(addr clinic)" --custodian "$(addr emergency)" --json >"$dir/create.json" \
  || fail "create"
[ "$(jq -r .name "$dir/create.json")" = cli-study ] || fail "create answered $(cat "$dir/create.json")"

# custodians: only their own keystore opens their share
api join --as clinic --study cli-study --keystore "$keys/clinic.json" --password-file "$dir/pw" --out "$dir/clinic.share" \
  || fail "join clinic"
api join --as emergency --study cli-study --keystore "$keys/emergency.json" --password-file "$dir/pw" --out "$dir/emergency.share" \
  || fail "join emergency"
[ "$(stat -c %a "$dir/clinic.share")" = 600 ] || fail "the share file is not private"
if api join --as patient --study cli-study --keystore "$keys/patient.json" --password-file "$dir/pw" --out "$dir/x.share" 2>/dev/null; then
  fail "a non-custodian joined"
fi

# the patient: refused before consent, counted after
if api submit --as patient --study cli-study --value 42 >/dev/null 2>&1; then fail "a submission counted without consent"; fi
api consent --as patient --study cli-study --days 30 >/dev/null || fail "consent"
api submit --as patient --study cli-study --value 42 --json >"$dir/submit.json" || fail "submit"
[ "$(jq -r .count "$dir/submit.json")" = 1 ] || fail "count after submit: $(cat "$dir/submit.json")"
if api submit --as patient --study cli-study --value 300 >/dev/null 2>&1; then fail "a value out of range was taken"; fi

api aggregate --as provider --study cli-study >"$dir/agg.json" || fail "aggregate"
[ "$(jq -r .count "$dir/agg.json")" = 1 ] || fail "aggregate: $(cat "$dir/agg.json")"
api close --as provider --study cli-study >/dev/null || fail "close"
api decrypt --as clinic --study cli-study --share "$dir/clinic.share" >/dev/null || fail "decrypt clinic"
if api result --as provider --study cli-study >/dev/null 2>&1; then fail "a result from one partial of two"; fi
api decrypt --as emergency --study cli-study --share "$dir/emergency.share" >/dev/null || fail "decrypt emergency"
api result --as provider --study cli-study --json >"$dir/result.json" || fail "result"
[ "$(jq -r .sum "$dir/result.json")" = 42 ] && [ "$(jq -r .count "$dir/result.json")" = 1 ] \
  || fail "result $(cat "$dir/result.json")"
api log --as provider --study cli-study --json >"$dir/log.json" || fail "log"
[ "$(jq '[.items[] | select(.step == "submit" and .outcome == "forbidden")] | length' "$dir/log.json")" -ge 1 ] \
  || fail "the refused submission is not in the log"
echo "ok: study through the CLI (sum $(jq -r .sum "$dir/result.json"), $(jq '.items | length' "$dir/log.json") log entries)"
