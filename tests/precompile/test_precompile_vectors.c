/*
 * Known-answer tests from tests/vectors/precompiles/ (go-ethereum's precompile
 * test data, see the README there): for each case, run with exactly the
 * expected gas (must succeed with that output and cost) and with one gas less
 * (must run out of gas); the fail-*.json cases must fail and consume all gas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "phr/core.h"
#include "phr/precompile.h"

static uint8_t *hex_alloc(const char *hex, size_t *n)
{
	size_t len = strlen(hex);
	uint8_t *b = malloc(len / 2 + 1);
	assert_non_null(b);
	assert_int_equal(phr_hex_decode(b, len / 2 + 1, n, hex, len), PHR_OK);
	return b;
}

static json_t *load(const char *name)
{
	char path[512];
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(path, sizeof path, "%s/tests/vectors/precompiles/%s", root ? root : ".", name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	assert_true(json_is_array(j));
	assert_true(json_array_size(j) > 0);
	return j;
}

/* Runs every case of @p file against precompile @p id; returns the number run. */
static size_t run_file(const char *file, uint8_t id)
{
	uint8_t addr[20] = {0};
	addr[19] = id;
	json_t *arr = load(file);
	size_t i, passed = 0;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "Name"));
		size_t in_len, exp_len;
		uint8_t *in = hex_alloc(json_string_value(json_object_get(c, "Input")), &in_len);
		json_t *expected = json_object_get(c, "Expected");
		struct phr_buf out;
		int64_t used;
		phr_buf_init(&out, 0);
		if (expected) {
			int64_t gas = json_integer_value(json_object_get(c, "Gas"));
			uint8_t *want = hex_alloc(json_string_value(expected), &exp_len);
			assert_int_equal(phr_precompile_gas(addr, in, in_len), gas);
			int st = phr_precompile_run(addr, in, in_len, gas, &out, &used);
			if (st != PHR_PRECOMPILE_OK || used != gas || out.len != exp_len ||
			    (exp_len && memcmp(out.data, want, exp_len) != 0))
				fail_msg("%s / %s: status %d, gas %lld (want %lld), len %zu (want %zu)",
					 file, name, st, (long long)used, (long long)gas, out.len,
					 exp_len);
			if (gas > 0) {
				st = phr_precompile_run(addr, in, in_len, gas - 1, &out, &used);
				if (st != PHR_PRECOMPILE_OUT_OF_GAS || used != gas - 1 || out.len != 0)
					fail_msg("%s / %s: gas-1 gave status %d", file, name, st);
			}
			free(want);
		} else {
			int64_t limit = 100000000;
			int st = phr_precompile_run(addr, in, in_len, limit, &out, &used);
			if (st != PHR_PRECOMPILE_FAILURE || used != limit || out.len != 0)
				fail_msg("%s / %s: expected failure, got status %d", file, name, st);
		}
		phr_buf_release(&out);
		free(in);
		passed++;
	}
	printf("%s: %zu/%zu passed\n", file, passed, json_array_size(arr));
	json_decref(arr);
	return passed;
}

#define VECTOR_TEST(fn, file, id)                                                                   \
	static void fn(void **state)                                                               \
	{                                                                                          \
		(void)state;                                                                       \
		assert_true(run_file(file, id) > 0);                                               \
	}

VECTOR_TEST(test_ecrecover, "ecRecover.json", 1)
VECTOR_TEST(test_blake2f, "blake2F.json", 9)
VECTOR_TEST(test_blake2f_fail, "fail-blake2f.json", 9)
VECTOR_TEST(test_bn256_add, "bn256Add.json", 6)
VECTOR_TEST(test_bn256_mul, "bn256ScalarMul.json", 7)
VECTOR_TEST(test_bn256_pairing, "bn256Pairing.json", 8)
VECTOR_TEST(test_modexp_eip2565, "modexp_eip2565.json", 5)
VECTOR_TEST(test_modexp_python, "modexp_python.json", 5)
VECTOR_TEST(test_point_evaluation, "pointEvaluation_eest.json", 10)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecrecover),
		cmocka_unit_test(test_blake2f),
		cmocka_unit_test(test_blake2f_fail),
		cmocka_unit_test(test_bn256_add),
		cmocka_unit_test(test_bn256_mul),
		cmocka_unit_test(test_bn256_pairing),
		cmocka_unit_test(test_modexp_eip2565),
		cmocka_unit_test(test_modexp_python),
		cmocka_unit_test(test_point_evaluation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
