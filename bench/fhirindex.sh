#!/bin/sh
# The FHIR index alone (bench/bench_fhir_index.c), two builds side by side in
# one run: each round runs A then B on a fresh directory (same N, creates,
# group, searches), and the medians of their CPU per resource / per search
# are printed with the ratio B/A.
# Env: A, B (bench_fhir_index executables; B defaults to a Release build in
#      build/fhirindex-rel, A is required: e.g. the same target built from the
#      commit before a change), N (10000), CREATES (8000), GROUP (16),
#      SEARCHES (2000), ROUNDS (3), BENCH_TMP (/tmp).
set -eu
cd "$(dirname "$0")/.."
B=${B:-build/fhirindex-rel/bench/bench_fhir_index}
if [ ! -x "$B" ]; then
  cmake -S . -B build/fhirindex-rel -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/fhirindex-rel -j2 --target bench_fhir_index >/dev/null
fi
: "${A:?set A to the bench_fhir_index to compare with}"
N=${N:-10000} CREATES=${CREATES:-8000} GROUP=${GROUP:-16} SEARCHES=${SEARCHES:-2000} ROUNDS=${ROUNDS:-3}
T=$(mktemp -d "${BENCH_TMP:-/tmp}/phr-fhirindex-XXXXXX")
trap 'rm -rf "$T"' EXIT
for r in $(seq "$ROUNDS"); do
  for w in A B; do
    eval exe=\$$w
    rm -rf "$T/d"; mkdir "$T/d"
    "$exe" "$T/d" "$N" "$CREATES" "$GROUP" "$SEARCHES" 2>/dev/null | sed "s/^/$w /" >> "$T/out"
  done
done
# "A import 10000 resources group 100 90.1 us CPU/resource ..." -> medians per side and phase
awk '
  $0 ~ /us CPU\// { for (i = 1; i <= NF; i++) if ($i == "us" && $(i + 1) ~ /^CPU/) v = $(i - 1);
                    k = $2; n[$1 " " k]++; x[$1 " " k, n[$1 " " k]] = v; ph[k] = 1 }
  function med(key,   m, i, j, t, a) { m = n[key]; for (i = 1; i <= m; i++) a[i] = x[key, i];
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
  END { printf "%-14s %12s %12s %8s   (median of %d rounds, us CPU per resource or search)\n", "phase", "A", "B", "B/A", '"$ROUNDS"';
        split("import create search search-count search-sort", order, " ");
        for (o = 1; o <= 5; o++) { k = order[o]; if (!(k in ph)) continue;
          a = med("A " k); b = med("B " k);
          printf "%-14s %12.1f %12.1f %8.3f\n", k, a, b, (a > 0 ? b / a : 0) } }' "$T/out"
