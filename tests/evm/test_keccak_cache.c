/*
 * The KECCAK256 cache (src/evm/keccak_cache.c): the hash handed out is the one
 * phr_keccak256 gives, whether it came from the cache or not — for every length
 * around the cached limit, for inputs that differ in one byte or only in length
 * (trailing zeros), after evictions, from many threads at once — and the
 * KECCAK256 opcode gives the published hashes through it, the second time from
 * the cache.
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
#include "phr/crypto.h"

#include "../../src/evm/evm_int.h"
#include "evm/test_host.h"

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(&x);
}

static void assert_hash_right(const uint8_t *in, size_t len)
{
	uint8_t want[32], got[32];
	phr_keccak256(want, in, len);
	evm_keccak256_cached(got, in, len);
	assert_memory_equal(got, want, 32);
}

static int setup(void **state)
{
	(void)state;
	evm_keccak_cache_clear();
	return 0;
}

static void test_lengths_and_hits(void **state)
{
	(void)state;
	uint8_t buf[100];
	fill(buf, sizeof(buf), 1);
	for (int round = 0; round < 2; round++)
		for (size_t len = 0; len <= sizeof(buf); len++)
			assert_hash_right(buf, len);
	uint64_t hits, misses;
	evm_keccak_cache_stats(&hits, &misses);
	/* lengths 0..64 are cached: all miss once; the second round hits all but evicted ones */
	assert_int_equal(hits + misses, 2 * (EVM_KC_MAX_INPUT + 1));
	assert_true(hits >= EVM_KC_MAX_INPUT - 8);
	assert_true(misses >= EVM_KC_MAX_INPUT + 1);
}

/* Inputs the padding makes alike: "", "\0", "\0\0"... and x, x || 0: all different hashes. */
static void test_trailing_zeros_differ(void **state)
{
	(void)state;
	uint8_t z[EVM_KC_MAX_INPUT] = { 0 }, a[EVM_KC_MAX_INPUT] = { 0 };
	a[0] = 7;
	for (int round = 0; round < 3; round++) {
		for (size_t len = 0; len <= EVM_KC_MAX_INPUT; len++) {
			assert_hash_right(z, len);
			if (len)
				assert_hash_right(a, len);
		}
	}
	/* the empty input has the published hash */
	uint8_t h[32];
	evm_keccak256_cached(h, (const uint8_t *)"", 0);
	uint8_t want[32];
	assert_int_equal(phr_hex_decode_exact(want, sizeof(want), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"), PHR_OK);
	assert_memory_equal(h, want, 32);
}

/* Mapping slots that differ in one byte, many more than the cache holds (evictions). */
static void test_one_byte_apart_and_evictions(void **state)
{
	(void)state;
	uint8_t in[64];
	fill(in, sizeof(in), 2);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 6000; i++) {
			in[(i * 7) % 64] ^= (uint8_t)(1u << (i % 8));
			assert_hash_right(in, 64);
			in[(i * 7) % 64] ^= (uint8_t)(1u << (i % 8));
			assert_hash_right(in, 64);
		}
	}
}

struct worker {
	uint64_t seed;
	int bad;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	uint64_t x = w->seed;
	uint8_t in[EVM_KC_MAX_INPUT + 8], want[32], got[32];
	for (int i = 0; i < 5000; i++) {
		/* a small shared set of inputs, so threads hit and replace the same slots */
		uint64_t r = rnd(&x);
		size_t len = (size_t)(r % (sizeof(in) + 1));
		fill(in, sizeof(in), r % 300);
		phr_keccak256(want, in, len);
		evm_keccak256_cached(got, in, len);
		if (memcmp(got, want, 32) != 0)
			w->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .seed = (uint64_t)i + 11, .bad = 0 };
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	uint64_t hits, misses;
	evm_keccak_cache_stats(&hits, &misses);
	assert_true(hits > 0);
}

/* KECCAK256 of memory[0..32) twice and of memory[0..4) once, results stored in slots 0..2:
 * the hashes of 32 zero bytes and of 4 zero bytes, the second time from the cache. */
static void test_opcode_through_cache(void **state)
{
	(void)state;
	/* PUSH1 32 PUSH0 SHA3 PUSH0 SSTORE | PUSH1 32 PUSH0 SHA3 PUSH1 1 SSTORE |
	 * PUSH1 4 PUSH0 SHA3 PUSH1 2 SSTORE | STOP */
	static const uint8_t code[] = { 0x60, 0x20, 0x5f, 0x20, 0x5f, 0x55, 0x60, 0x20, 0x5f, 0x20,
					0x60, 0x01, 0x55, 0x60, 0x04, 0x5f, 0x20, 0x60, 0x02, 0x55,
					0x00 };
	static struct test_host host;
	th_init(&host);
	struct phr_evm_message m;
	memset(&m, 0, sizeof(m));
	m.gas = 1000000;
	m.recipient = th_addr(0xaa);
	m.sender = th_addr(0xcc);
	struct phr_evm_result r;
	phr_evm_execute(&th_host_table, &host, &m, code, sizeof(code), &r);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	phr_evm_result_release(&r);
	uint8_t w32[32], w4[32];
	assert_int_equal(phr_hex_decode_exact(w32, 32, "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563"), PHR_OK);
	assert_int_equal(phr_hex_decode_exact(w4, 32, "e8e77626586f73b955364c7b4bbf0bb7f7685ebd40e852b164633a4acbd3244c"), PHR_OK);
	struct phr_u256 key, v;
	uint8_t be[32];
	for (unsigned k = 0; k < 3; k++) {
		key = (struct phr_u256){ { k, 0, 0, 0 } };
		th_get_storage(&host, &v, &m.recipient, &key);
		phr_u256_to_be(be, &v);
		assert_memory_equal(be, k < 2 ? w32 : w4, 32);
	}
	uint64_t hits, misses;
	evm_keccak_cache_stats(&hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lengths_and_hits, setup),
		cmocka_unit_test_setup(test_trailing_zeros_differ, setup),
		cmocka_unit_test_setup(test_one_byte_apart_and_evictions, setup),
		cmocka_unit_test_setup(test_threads, setup),
		cmocka_unit_test_setup(test_opcode_through_cache, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
