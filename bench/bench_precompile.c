/*
 * Precompile micro-benchmark: times selected known-answer cases from
 * tests/vectors/precompiles/ per call and prints microseconds per call and the
 * gas rate (price / time, in Mgas/s), the figure that says whether a
 * precompile is priced fairly against the ~30-60 Mgas/s an EVM executes.
 * Usage (from the repo root): bench_precompile [seconds-per-case]  (default 0.5)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "phr/core.h"
#include "phr/precompile.h"

static const struct {
	const char *file;
	const char *name;
	uint8_t id;
} cases[] = {
	{"ecRecover.json", "ValidKey", 1},
	{"bn256Add.json", "chfast1", 6},
	{"bn256ScalarMul.json", "chfast1", 7},
	{"bn256Pairing.json", "jeff1", 8},
	{"bn256Pairing.json", "ten_point_match_1", 8},
	{"modexp_eip2565.json", "nagydani-1-pow0x10001", 5},
	{"modexp_eip2565.json", "nagydani-3-pow0x10001", 5},
	{"modexp_eip2565.json", "nagydani-4-pow0x10001", 5},
	{"blake2F.json", "vector 5", 9},
	{"pointEvaluation_eest.json", "correct_proof_02e696ada7d4631d", 10},
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int find_case(const char *file, const char *name, uint8_t **in, size_t *n)
{
	char path[512];
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(path, sizeof path, "%s/tests/vectors/precompiles/%s", root ? root : ".", file);
	json_t *arr = json_load_file(path, 0, NULL);
	if (!arr)
		return -1;
	size_t i;
	json_t *c;
	int rc = -1;
	json_array_foreach(arr, i, c)
	{
		const char *nm = json_string_value(json_object_get(c, "Name"));
		if (!nm || strcmp(nm, name) != 0)
			continue;
		const char *hex = json_string_value(json_object_get(c, "Input"));
		size_t len = strlen(hex);
		*in = malloc(len / 2 + 1);
		if (*in && phr_hex_decode(*in, len / 2 + 1, n, hex, len) == PHR_OK)
			rc = 0;
		break;
	}
	json_decref(arr);
	return rc;
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? strtod(argv[1], NULL) : 0.5;
	printf("%-28s %-22s %12s %10s %10s\n", "case", "precompile", "us/call", "gas", "Mgas/s");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		uint8_t addr[20] = {0}, *in = NULL;
		size_t n = 0;
		addr[19] = cases[k].id;
		if (find_case(cases[k].file, cases[k].name, &in, &n) != 0) {
			fprintf(stderr, "cannot load %s/%s (run from the repo root)\n", cases[k].file,
				cases[k].name);
			return 1;
		}
		struct phr_buf out;
		phr_buf_init(&out, 0);
		int64_t used = 0;
		long calls = 0;
		double t0 = now(), t;
		do {
			if (phr_precompile_run(addr, in, n, 100000000, &out, &used) != PHR_PRECOMPILE_OK) {
				fprintf(stderr, "%s failed\n", cases[k].name);
				return 1;
			}
			calls++;
			t = now() - t0;
		} while (t < budget);
		double us = t * 1e6 / (double)calls;
		printf("%-28s %-22s %12.1f %10lld %10.1f\n", cases[k].name, phr_precompile_name(addr), us,
		       (long long)used, (double)used / us);
		phr_buf_release(&out);
		free(in);
	}
	return 0;
}
