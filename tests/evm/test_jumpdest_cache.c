/*
 * The JUMPDEST bitmap cache (src/evm/jumpdest.c): the bitmap handed out for a
 * code is the one a fresh scan gives, whether it came from the cache or not,
 * also for codes that share length and sampled bytes, after evictions, and
 * from many threads at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/core.h"

#include "../../src/evm/evm_int.h"

#define CODE_LEN 4096

/* Pseudo-random code (xorshift), with JUMPDESTs and PUSHes among other bytes. */
static void make_code(uint8_t *code, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned r = (unsigned)(x % 8);
		code[i] = r == 0 ? OP_JUMPDEST : r == 1 ? (uint8_t)(OP_PUSH1 + x / 8 % 32) : (uint8_t)(x >> 24);
	}
}

static void assert_bitmap_right(const uint8_t *code, size_t len)
{
	uint8_t *want = malloc(len / 8 + 1);
	assert_non_null(want);
	evm_jumpdest_scan(want, code, len);
	uint8_t *got = evm_jumpdests_get(code, len);
	assert_non_null(got);
	assert_memory_equal(got, want, len / 8 + 1);
	phr_free(got);
	free(want);
}

static int setup(void **state)
{
	(void)state;
	evm_jumpdest_cache_clear();
	return 0;
}

static void test_scan_skips_push_data(void **state)
{
	(void)state;
	/* JUMPDEST, PUSH2 5b 5b, JUMPDEST, PUSH32 with a 5b inside, JUMPDEST */
	uint8_t code[40] = { OP_JUMPDEST, OP_PUSH2, OP_JUMPDEST, OP_JUMPDEST, OP_JUMPDEST, OP_PUSH32 };
	code[10] = OP_JUMPDEST;
	code[38] = OP_JUMPDEST;
	uint8_t bm[40 / 8 + 1];
	evm_jumpdest_scan(bm, code, sizeof(code));
	for (size_t i = 0; i < sizeof(code); i++) {
		bool set = bm[i / 8] & (1u << (i % 8));
		assert_int_equal(set, i == 0 || i == 4 || i == 38);
	}
}

static void test_hit_is_counted_and_right(void **state)
{
	(void)state;
	uint8_t *code = malloc(CODE_LEN);
	assert_non_null(code);
	make_code(code, CODE_LEN, 1);
	assert_bitmap_right(code, CODE_LEN);
	assert_bitmap_right(code, CODE_LEN);
	assert_bitmap_right(code, CODE_LEN);
	uint64_t hits, misses;
	evm_jumpdest_cache_stats(&hits, &misses);
	assert_int_equal(misses, 1);
	assert_int_equal(hits, 2);
	free(code);
}

/* Same length and same sampled words: only the full comparison tells them apart. */
static void test_near_identical_codes(void **state)
{
	(void)state;
	uint8_t *a = malloc(CODE_LEN), *b = malloc(CODE_LEN);
	assert_non_null(a);
	assert_non_null(b);
	make_code(a, CODE_LEN, 2);
	memcpy(b, a, CODE_LEN);
	/* byte 101 is not on a sample: a JUMPDEST in one, a PUSH1 hiding byte 102 in the other */
	a[101] = OP_JUMPDEST;
	a[102] = OP_JUMPDEST;
	b[101] = OP_PUSH1;
	b[102] = OP_JUMPDEST;
	for (int round = 0; round < 3; round++) {
		assert_bitmap_right(a, CODE_LEN);
		assert_bitmap_right(b, CODE_LEN);
	}
	uint8_t *ba = evm_jumpdests_get(a, CODE_LEN), *bb = evm_jumpdests_get(b, CODE_LEN);
	assert_non_null(ba);
	assert_non_null(bb);
	assert_memory_not_equal(ba, bb, CODE_LEN / 8 + 1);
	phr_free(ba);
	phr_free(bb);
	free(a);
	free(b);
}

/* More codes than slots, several lengths (short ones are not cached), twice over. */
static void test_eviction(void **state)
{
	(void)state;
	uint8_t *code = malloc(70000);
	assert_non_null(code);
	static const size_t lens[] = { 1, 33, 255, 256, 1000, 24576, 65536, 65537 };
	for (int round = 0; round < 2; round++)
		for (uint64_t s = 0; s < 300; s++) {
			size_t len = lens[s % (sizeof(lens) / sizeof(lens[0]))];
			make_code(code, len, s);
			assert_bitmap_right(code, len);
		}
	free(code);
}

#define THREADS 4
#define CODES 8

static uint8_t *shared_codes[CODES];

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint8_t want[CODES][CODE_LEN / 8 + 1];
	for (int c = 0; c < CODES; c++)
		evm_jumpdest_scan(want[c], shared_codes[c], CODE_LEN);
	for (int i = 0; i < 400; i++) {
		int c = (int)((id + (uintptr_t)i) % CODES);
		uint8_t *got = evm_jumpdests_get(shared_codes[c], CODE_LEN);
		if (!got || memcmp(got, want[c], sizeof(want[c])) != 0) {
			phr_free(got);
			return (void *)1;
		}
		phr_free(got);
		if (i % 50 == 0 && id == 0)
			evm_jumpdest_cache_clear(); /* entries vanish while others read */
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	for (int c = 0; c < CODES; c++) {
		shared_codes[c] = malloc(CODE_LEN);
		assert_non_null(shared_codes[c]);
		make_code(shared_codes[c], CODE_LEN, 100 + (uint64_t)c);
	}
	pthread_t t[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		void *ret = (void *)1;
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	for (int c = 0; c < CODES; c++)
		free(shared_codes[c]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_scan_skips_push_data, setup),
		cmocka_unit_test_setup(test_hit_is_counted_and_right, setup),
		cmocka_unit_test_setup(test_near_identical_codes, setup),
		cmocka_unit_test_setup(test_eviction, setup),
		cmocka_unit_test_setup(test_threads, setup),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	evm_jumpdest_cache_clear();
	return rc;
}
