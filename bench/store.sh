#!/bin/sh
# Store benchmark in one command: CID computation and full (encrypted) import of
# 1 MiB, 50 MiB and 1 GiB files, side by side with sha256sum (the limit) and the IPFS
# JavaScript importer (ipfs-unixfs-importer, kubo parameters, blocks discarded), with
# MB/s, ratios and peak memory.
# Usage: bench/store.sh [MiB...|none]   (default: 1 50 1024; build dir: $PHR_BENCH_BUILD,
#                                   default build/store-release; files in $TMPDIR)
# Then the store's part of a submitRecord (bench_store submit: a 4 KB record encrypted and
# imported with its pin, two key capsules with theirs) from SUBMIT_THREADS (16) threads for
# SUBMIT_SECS (3) s, plain and in one durability group, and with BASE_BENCH (the bench_store
# of an older build, e.g. the commit before a change; variants base and basegrp) when set:
# ROUNDS (3) rounds alternating
# in the same minute; ops/s and CPU ms per submission (the steady figure on a shared
# machine) and the ratios. SUBMIT_THREADS=0 skips it. The store directories are removed only
# at the end: deleting thousands of files makes the next run's file creations slow on ext4.
# OPEN_RECORDS=N (default 0: skipped): a store of N records (bench_store fill), then its
# open from the index file (pack.idx) against a scan of the whole pack (the file removed),
# ROUNDS rounds alternating: seconds and the ratio.
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
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
let last;
for await (const e of importer([{ content: fs.createReadStream(file, { highWaterMark: 1 << 20 }) }], blockstore, {
  cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }), reduceSingleLeafToSelf: true })) last = e;
const s = Number(process.hrtime.bigint() - t0) / 1e9;
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6;
const size = fs.statSync(file).size;
console.log(`js ${size} ${s.toFixed(3)} ${(size / 1e6 / s).toFixed(1)} ${last.cid} ${cpu.toFixed(4)}`);
JS

# runs a command under /usr/bin/time -v: wall seconds (ns clock), CPU seconds, peak RSS (KiB)
timed() {
	t0=$(date +%s.%N)
	/usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/time" || { cat "$tmp/time" >&2; exit 1; }
	t1=$(date +%s.%N)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.4f", s }' "$tmp/time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
}
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.0001; printf "%.1f", b / 1e6 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.001; printf "%.2f", a / b }'; }

echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "node $(node --version); ipfs-unixfs-importer $(node -p "require('$root/node_modules/ipfs-unixfs-importer/package.json').version")"
printf '%-8s %9s %9s %9s %9s %9s %9s %9s %7s %7s %7s %9s %9s\n' size sha256sum phr-cid js-cid phr-add phr-enc phr-cpu js-cpu cid/sum js/phr cpu-x rss-cid rss-enc
for mib in $sizes; do
	[ "$mib" = none ] && continue
	f="$tmp/f$mib"
	head -c "$((mib * 1048576))" /dev/urandom >"$f"
	bytes=$((mib * 1048576))
	cat "$f" >/dev/null # warm the page cache for everyone alike
	timed sha256sum "$f"; sum_mbs=$(mbs $bytes "$wall")
	timed "$bench" cid "$f"; set -- $(cat "$tmp/out")
	cid_mbs=$4; cid_rss=$5; cid=$6; cid_cpu_mbs=$(mbs $bytes "$7")
	timed sh -c "cd '$root' && exec node --input-type=module -e \"\$(cat '$tmp/js.mjs')\" '$f'"
	js_mbs=$(awk '{print $4}' "$tmp/out"); js_cid=$(awk '{print $5}' "$tmp/out"); js_cpu_mbs=$(mbs $bytes "$(awk '{print $6}' "$tmp/out")")
	set -- $("$bench" add "$f" "$tmp/store-add"); add_mbs=$4
	rm -rf "$tmp/store-add"
	set -- $("$bench" enc "$f" "$tmp/store-enc"); enc_mbs=$4; enc_rss=$5
	rm -rf "$tmp/store-enc"
	if [ "$cid" != "$js_cid" ]; then echo "CID MISMATCH: phr $cid js $js_cid" >&2; exit 1; fi
	printf '%-8s %9s %9s %9s %9s %9s %9s %9s %7s %7s %7s %9s %9s\n' "${mib}MiB" \
		"$sum_mbs" "$cid_mbs" "$js_mbs" "$add_mbs" "$enc_mbs" "$cid_cpu_mbs" "$js_cpu_mbs" \
		"$(ratio "$sum_mbs" "$cid_mbs")" "$(ratio "$cid_mbs" "$js_mbs")" \
		"$(ratio "$cid_cpu_mbs" "$js_cpu_mbs")" "${cid_rss}K" "${enc_rss}K"
	rm -f "$f"
done
echo "MB/s of wall time. cid/sum: sha256sum over phr CID speed (goal <= 1.5); js/phr: phr CID speed"
echo "over the JS importer's (goal >= 5); phr-cpu, js-cpu: MB per CPU-second of the import itself;"
echo "cpu-x: their ratio (robust on a loaded machine); phr-add: plain import; phr-enc: secretstream + import (both durable);"
echo "rss: peak resident KiB of the phr process"

: "${SUBMIT_THREADS:=16}" "${SUBMIT_SECS:=3}" "${ROUNDS:=3}"
if [ "$SUBMIT_THREADS" -gt 0 ]; then
	echo
	echo "submit: $SUBMIT_THREADS threads, $SUBMIT_SECS s per run, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-6s %-8s %9s %12s\n' round variant ops/s cpu-ms/op
	sub() { # round variant bench [group]
		v=$2 b=$3
		shift 3
		set -- $("$b" submit "$tmp/sub-$v-$r" "$SUBMIT_THREADS" "$SUBMIT_SECS" "$@")
		printf '%-6s %-8s %9s %12s\n' "$r" "$v" "$5" "$6"
		echo "$v $5 $6" >>"$tmp/sub.res"
	}
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		sub "$r" plain "$bench"
		sub "$r" group "$bench" group
		if [ -n "${BASE_BENCH:-}" ]; then
			sub "$r" base "$BASE_BENCH"
			sub "$r" basegrp "$BASE_BENCH" group
		fi
		r=$((r + 1))
	done
	avg() { awk -v v="$1" -v c="$2" '$1 == v { s += $c; n++ } END { printf "%.2f", n ? s / n : 0 }' "$tmp/sub.res"; }
	echo "mean ops/s: plain $(avg plain 2), group $(avg group 2)${BASE_BENCH:+, base $(avg base 2), basegrp $(avg basegrp 2)};" \
		"cpu-ms/op: plain $(avg plain 3), group $(avg group 3)${BASE_BENCH:+, base $(avg base 3), basegrp $(avg basegrp 3)}"
	echo "group/plain ops/s $(ratio "$(avg group 2)" "$(avg plain 2)"), cpu $(ratio "$(avg group 3)" "$(avg plain 3)")"
	if [ -n "${BASE_BENCH:-}" ]; then
		echo "plain/base ops/s $(ratio "$(avg plain 2)" "$(avg base 2)"), cpu $(ratio "$(avg plain 3)" "$(avg base 3)")"
		echo "group/basegrp ops/s $(ratio "$(avg group 2)" "$(avg basegrp 2)"), cpu $(ratio "$(avg group 3)" "$(avg basegrp 3)")"
	fi
fi

: "${OPEN_RECORDS:=0}"
[ "$OPEN_RECORDS" -gt 0 ] || exit 0
echo
"$bench" fill "$tmp/open" "$OPEN_RECORDS" | awk '{ printf "fill: %d records in %.1f s, pack %d bytes\n", $2, $3, $4 }'
printf '%-6s %10s %10s %8s\n' round index-s scan-s ratio
r=1
while [ "$r" -le "$ROUNDS" ]; do
	cp "$tmp/open/pack.idx" "$tmp/idx.keep"
	ix=$("$bench" open "$tmp/open" | awk '{print $2}')
	rm -f "$tmp/open/pack.idx"
	sc=$(PHR_STORE_INDEX_MIN=1000000000000 "$bench" open "$tmp/open" | awk '{print $2}')
	cp "$tmp/idx.keep" "$tmp/open/pack.idx"
	printf '%-6s %10s %10s %8s\n' "$r" "$ix" "$sc" "$(ratio "$sc" "$ix")"
	r=$((r + 1))
done
echo "open: seconds to open the store (page cache warm); ratio: the scan's time over the index file's"
