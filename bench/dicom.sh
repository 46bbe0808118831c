#!/bin/sh
# DICOM benchmark in one command: a synthetic multi-frame MR of MB megabytes
# (default 100) and the pydicom CT_small.dcm, read by phr and by dcmtk side by side:
#   metadata  phr (library in-process, and `phr dicom info`: parse from a descriptor,
#             pixel data skipped) vs dcmtk's dcmdump -M (long values such as pixel data
#             not loaded)
#   full JSON `phr dicom dump --inline-max` (pixel data base64 like dcm2json) vs dcm2json
# Usage: bench/dicom.sh [MB]   (build dir: $PHR_BENCH_BUILD, default build/dicom-release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/dicom-release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_dicom phr >/dev/null
bench="$build/bench/bench_dicom"
phr="$build/src/cli/phr"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phr-bench-dicom.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mb=${1:-100}
"$bench" make "$tmp/multi.dcm" "$mb"
cp "$root/tests/vectors/dicom/pydicom/CT_small.dcm" "$tmp/ct.dcm"

# seconds per run of a shell command, best of 3 (wall clock)
best() {
	b=""
	for _ in 1 2 3; do
		t0=$(date +%s.%N); sh -c "$1" >/dev/null 2>&1; t1=$(date +%s.%N)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
ratio() { echo "scale=1; $1 / $2" | bc -l; }

echo "file       size(MB)  phr-lib(ms)  phr-info(ms)  dcmdump -M(ms)  ratio | phr-dump(ms)  dcm2json(ms)  ratio  out-MB"
for f in multi ct; do
	p="$tmp/$f.dcm"
	set -- $("$bench" parse "$p" 20)
	meta=$(echo "$1 * 1000" | bc -l); size=$2
	pi=$(echo "$(best "'$phr' dicom info '$p'") * 1000" | bc -l)
	dd=$(echo "$(best "dcmdump -M -q '$p'") * 1000" | bc -l)
	out=$("$phr" dicom dump --compact --inline-max 4000000000 "$p" | wc -c)
	pd=$(echo "$(best "'$phr' dicom dump --compact --inline-max 4000000000 '$p'") * 1000" | bc -l)
	dj=$(echo "$(best "dcm2json -fc '$p'") * 1000" | bc -l)
	printf "%-10s %8.1f  %11.3f  %12.1f  %14.1f  %5s | %12.1f  %12.1f  %5s  %6.1f\n" "$f" \
		"$(echo "$size / 1000000" | bc -l)" "$meta" "$pi" "$dd" "$(ratio "$dd" "$pi")" "$pd" "$dj" \
		"$(ratio "$dj" "$pd")" "$(echo "$out / 1000000" | bc -l)"
done
echo "(best of 3 wall-clock runs; ratio > 1: phr faster. phr-lib: parse+metadata in-process, mean"
echo " of 20; phr-info, dcmdump -M, phr dicom dump and dcm2json are whole processes; out-MB: JSON size)"
