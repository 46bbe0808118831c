#!/bin/sh
# FHIR validation benchmark in one command: phr_fhir_validate (in-process, issues
# collected, terminology checks included) against ajv 8 + the official R4 JSON schema
# (node, in-process), on the same 5,306 official examples held in memory, ROUNDS
# passes each (default 3; 10x as many for the small server set). Prints resources/s for
# both (CPU time of the process, the machine being shared) and the ratio phr/ajv
# (ajv's schema compile time excluded), for all
# examples and for the 18 resource types the FHIR server stores.
# Usage: bench/fhir_validate.sh [ROUNDS]   (build dir: $PHR_BENCH_BUILD, default build/fhirval-release)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHR_BENCH_BUILD:-$root/build/fhirval-release}
rounds=${1:-3}
dir="$root/node_modules/hl7.fhir.r4.examples"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_fhir_validate >/dev/null
phr_out=$("$build/bench/bench_fhir_validate" "$dir" "$rounds")
ajv_out=$(node "$root/bench/fhir_validate_ajv.mjs" "$dir" "$rounds")
echo "$ajv_out" | grep '^compile' | sed 's/^/ajv schema /'
printf '%-7s %9s %7s | %12s %12s | %s\n' set resources MB phr-res/s ajv-res/s phr/ajv
for set in all server; do
	p=$(echo "$phr_out" | grep "^$set ")
	a=$(echo "$ajv_out" | grep "^$set ")
	n=$(echo "$p" | cut -d' ' -f2); mb=$(echo "$p" | cut -d' ' -f3)
	pr=$(echo "$p" | cut -d' ' -f5); ar=$(echo "$a" | cut -d' ' -f5)
	printf '%-7s %9s %7s | %12s %12s | %s\n' "$set" "$n" "$mb" "$pr" "$ar" "$(echo "scale=2; $pr / $ar" | bc -l)"
done
