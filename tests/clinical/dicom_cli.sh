#!/usr/bin/env bash
# phr dicom upload against a `phr node --dev` process: a dcmtk-made file goes to the node
# as the demo provider for the demo patient; the answer names the encrypted record and the
# ImagingStudy the FHIR server keeps; a truncated file and a caller without a grant fail.
set -euo pipefail
phr=${PHR_BIN:?}
command -v dump2dcm >/dev/null || { echo "dump2dcm (dcmtk) is missing"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/phr-dicom-cli.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/node.err" ] && tail -20 "$dir/node.err"; exit 1; }

"$phr" node --dev --datadir "$dir/node" --listen 127.0.0.1:0 >"$dir/node.out" 2>"$dir/node.err" &
pid=$!
for _ in $(seq 1 600); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$dir/node.out" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the node exited"
  sleep 0.1
done
[ -n "$url" ] || fail "the node did not start"
tok="$dir/node/dev/tokens.json"
patient=$(jq -r .patient.address "$tok")

head -c 300000 /dev/zero | tr '\0' 'x' >"$dir/pix.raw"
cat >"$dir/f.dump" <<DUMP
(0008,0016) UI =MRImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.8.498.901]
(0008,0060) CS [MR]
(0008,0020) DA [20260202]
(0010,0020) LO [PID9]
(0020,000d) UI [1.2.826.0.1.3680043.8.498.902]
(0020,000e) UI [1.2.826.0.1.3680043.8.498.903]
(7fe0,0010) OB =$dir/pix.raw
DUMP
dump2dcm +te "$dir/f.dump" "$dir/f.dcm" || fail "dump2dcm"

"$phr" dicom upload --node "$url" --token-file "$tok" --as provider --patient "$patient" \
  --patient-ref Patient/demo "$dir/f.dcm" >"$dir/up.json" || fail "upload"
[ "$(jq -r .dicom.study_uid "$dir/up.json")" = 1.2.826.0.1.3680043.8.498.902 ] || fail "answer $(cat "$dir/up.json")"
[ "$(jq -r .imagingStudy.subject.reference "$dir/up.json")" = Patient/demo ] || fail "subject"
jq -e '.record.id and .record.cid and .fhir.location' "$dir/up.json" >/dev/null || fail "record or FHIR location missing"

head -c 2000 "$dir/f.dcm" >"$dir/short.dcm"
if "$phr" dicom upload --node "$url" --token-file "$tok" --as provider --patient "$patient" "$dir/short.dcm" 2>"$dir/short.err"; then
  fail "a truncated file was taken"
fi
grep -q "at byte" "$dir/short.err" || fail "no offset in the error: $(cat "$dir/short.err")"
if "$phr" dicom upload --node "$url" --token-file "$tok" --as clinic --patient "$patient" "$dir/f.dcm" 2>/dev/null; then
  fail "a provider without a grant uploaded"
fi
echo "ok: phr dicom upload (record $(jq -r .record.id "$dir/up.json"), $(jq -r .fhir.location "$dir/up.json"))"
