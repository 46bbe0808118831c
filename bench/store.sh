#!/bin/sh
# Store benchmark in one command: CID computation and full (encrypted) import of
# 1 MiB, 50 MiB and 1 GiB files, side by side with sha256sum (the limit) and the IPFS
# JavaScript importer (ipfs-unixfs-importer, kubo parameters, blocks discarded), with
# MB/s, ratios and peak memory.
# Usage: bench/store.sh [MiB...]   (default: 1 50 1024; build dir: $PHR_BENCH_BUILD,
#                                   default build/store-release; files in $TMPDIR)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/store-release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_store >/dev/null
bench="$build/bench/bench_store"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phr-bench-store.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
sizes=${*:-1 50 1024}

cat > "$tmp/js.mjs" <<'JS'
import fs from 'node:fs';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
const file = process.argv[process.argv.length - 1];
const blockstore = { async put(cid) { return cid; }, async get() { throw new Error('no'); }, async has() { return false; } };
const t0 = process.hrtime.bigint();
let last;
for await (const e of importer([{ content: fs.createReadStream(file, { highWaterMark: 1 << 20 }) }], blockstore, {
  cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }), reduceSingleLeafToSelf: true })) last = e;
const s = Number(process.hrtime.bigint() - t0) / 1e9;
const size = fs.statSync(file).size;
console.log(`js ${size} ${s.toFixed(3)} ${(size / 1e6 / s).toFixed(1)} ${last.cid}`);
JS

# seconds and peak RSS (KiB) of a command, from /usr/bin/time -v
timed() {
	/usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/time" || { cat "$tmp/time" >&2; exit 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
}
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.1f", b / 1e6 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.001; printf "%.2f", a / b }'; }

echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "node $(node --version); ipfs-unixfs-importer $(node -p "require('$root/node_modules/ipfs-unixfs-importer/package.json').version")"
printf '%-6s %-10s %9s %9s %9s %9s %9s %9s %8s %8s %9s %9s\n' size what sha256sum libsodium phr-cid js-cid phr-add phr-enc cid/sum js/phr rss-cid rss-enc
for mib in $sizes; do
	f="$tmp/f$mib"
	head -c "$((mib * 1048576))" /dev/urandom >"$f"
	bytes=$((mib * 1048576))
	cat "$f" >/dev/null # warm the page cache for everyone alike
	timed sha256sum "$f"; sum_s=$wall
	set -- $("$bench" sha "$f"); sod_mbs=$4
	set -- $("$bench" cid "$f"); cid_mbs=$4; cid_s=$3; cid_rss=$5
	cid=$6
	(cd "$root" && node --input-type=module -e "$(cat "$tmp/js.mjs")" "$f") >"$tmp/js"
	js_s=$(awk '{print $3}' "$tmp/js"); js_cid=$(awk '{print $5}' "$tmp/js")
	set -- $("$bench" add "$f" "$tmp/store-add"); add_mbs=$4
	rm -rf "$tmp/store-add"
	set -- $("$bench" enc "$f" "$tmp/store-enc"); enc_mbs=$4; enc_rss=$5
	rm -rf "$tmp/store-enc"
	if [ "$cid" != "$js_cid" ]; then echo "CID MISMATCH: phr $cid js $js_cid" >&2; exit 1; fi
	printf '%-6s %-10s %9s %9s %9s %9s %9s %9s %8s %8s %9s %9s\n' "${mib}MiB" "MB/s" \
		"$(mbs $bytes $sum_s)" "$sod_mbs" "$cid_mbs" "$(mbs $bytes $js_s)" "$add_mbs" "$enc_mbs" \
		"$(ratio "$(mbs $bytes $sum_s)" "$cid_mbs")" "$(ratio "$cid_mbs" "$(mbs $bytes $js_s)")" \
		"${cid_rss}K" "${enc_rss}K"
	rm -f "$f"
done
echo "cid/sum: sha256sum MB/s over phr CID MB/s (goal <= 1.5); js/phr: phr CID speed over the JS importer's (goal >= 5)"
echo "phr-add: plain import with fsync per block; phr-enc: secretstream encryption + import; rss: peak resident KiB"
