/* Shamir secret sharing: round trips at every t/n edge, any t of n shares,
 * fewer than t give nothing, field arithmetic against FIPS-197 products. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "phr/core.h"
#include "phr/crypto.h"

#define LEN 32
#define SL PHR_SHAMIR_SHARE_BYTES(LEN)

static uint8_t shares[255 * SL], pick[255 * SL];

/* Copies shares idx[0..k) into pick. */
static void gather(const unsigned *idx, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		memcpy(pick + i * SL, shares + idx[i] * SL, SL);
}

static void check_split(unsigned t, unsigned n)
{
	uint8_t secret[LEN], got[LEN];
	unsigned idx[255];

	randombytes_buf(secret, LEN);
	assert_int_equal(phr_shamir_split(shares, secret, LEN, t, n), PHR_OK);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(shares[i * SL], i + 1);
	/* the first t, the last t, and a random t-subset in random order */
	for (unsigned i = 0; i < t; i++)
		idx[i] = i;
	gather(idx, t);
	assert_int_equal(phr_shamir_combine(got, pick, SL, t), PHR_OK);
	assert_memory_equal(got, secret, LEN);
	for (unsigned i = 0; i < t; i++)
		idx[i] = n - 1 - i;
	gather(idx, t);
	assert_int_equal(phr_shamir_combine(got, pick, SL, t), PHR_OK);
	assert_memory_equal(got, secret, LEN);
	for (unsigned i = 0; i < n; i++)
		idx[i] = i;
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = randombytes_uniform(i + 1), tmp = idx[i];
		idx[i] = idx[j];
		idx[j] = tmp;
	}
	gather(idx, t);
	assert_int_equal(phr_shamir_combine(got, pick, SL, t), PHR_OK);
	assert_memory_equal(got, secret, LEN);
	/* all n shares (more than t) also work */
	gather(idx, n);
	assert_int_equal(phr_shamir_combine(got, pick, SL, n), PHR_OK);
	assert_memory_equal(got, secret, LEN);
	/* t - 1 shares (when that is at least 2) give some other value */
	if (t >= 3) {
		gather(idx, t - 1);
		assert_int_equal(phr_shamir_combine(got, pick, SL, t - 1), PHR_OK);
		assert_memory_not_equal(got, secret, LEN);
	}
}

static void test_edges(void **state)
{
	(void)state;
	static const unsigned tn[][2] = { { 2, 2 },	{ 2, 3 },     { 3, 3 },	    { 2, 255 }, { 3, 5 },
					  { 5, 9 },	{ 128, 255 }, { 254, 255 }, { 255, 255 }, { 16, 16 },
					  { 100, 101 } };
	for (size_t i = 0; i < PHR_ARRAY_LEN(tn); i++)
		check_split(tn[i][0], tn[i][1]);
}

/* Every 2-subset and 3-subset of a 3-of-6 split. */
static void test_all_subsets(void **state)
{
	(void)state;
	uint8_t secret[LEN], got[LEN];

	randombytes_buf(secret, LEN);
	assert_int_equal(phr_shamir_split(shares, secret, LEN, 3, 6), PHR_OK);
	for (unsigned a = 0; a < 6; a++)
		for (unsigned b = a + 1; b < 6; b++)
			for (unsigned c = b + 1; c < 6; c++) {
				unsigned idx[3] = { c, a, b };
				gather(idx, 3);
				assert_int_equal(phr_shamir_combine(got, pick, SL, 3), PHR_OK);
				assert_memory_equal(got, secret, LEN);
				gather(idx, 2);
				assert_int_equal(phr_shamir_combine(got, pick, SL, 2), PHR_OK);
				assert_memory_not_equal(got, secret, LEN);
			}
}

/* Shares of f(x) = s + 0x57 x at x = 0x83 and x = 0x13 carry the products
 * {57}.{83} = {c1} and {57}.{13} = {fe} of FIPS-197 section 4.2, so combining
 * them gives s only if the field multiplication is the AES one. */
static void test_fips197_field(void **state)
{
	(void)state;
	uint8_t sh[2 * 2], got;

	for (unsigned s = 0; s < 256; s++) {
		sh[0] = 0x83;
		sh[1] = (uint8_t)(s ^ 0xc1);
		sh[2] = 0x13;
		sh[3] = (uint8_t)(s ^ 0xfe);
		assert_int_equal(phr_shamir_combine(&got, sh, 2, 2), PHR_OK);
		assert_int_equal(got, s);
	}
}

static void test_invalid(void **state)
{
	(void)state;
	uint8_t secret[LEN] = { 1 }, got[LEN];

	assert_int_equal(phr_shamir_split(shares, secret, LEN, 1, 3), PHR_ERR_INVALID);
	assert_int_equal(phr_shamir_split(shares, secret, LEN, 4, 3), PHR_ERR_INVALID);
	assert_int_equal(phr_shamir_split(shares, secret, LEN, 2, 256), PHR_ERR_INVALID);
	assert_int_equal(phr_shamir_split(shares, secret, 0, 2, 3), PHR_ERR_INVALID);
	assert_int_equal(phr_shamir_split(shares, secret, LEN, 2, 3), PHR_OK);
	memcpy(pick, shares, SL);
	memcpy(pick + SL, shares, SL); /* the same share twice */
	assert_int_equal(phr_shamir_combine(got, pick, SL, 2), PHR_ERR_INVALID);
	memcpy(pick + SL, shares + SL, SL);
	pick[0] = 0; /* x = 0 would be the secret itself */
	assert_int_equal(phr_shamir_combine(got, pick, SL, 2), PHR_ERR_INVALID);
	assert_int_equal(phr_shamir_combine(got, shares, SL, 1), PHR_ERR_INVALID);
	assert_int_equal(phr_shamir_combine(got, shares, 1, 2), PHR_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_all_subsets),
		cmocka_unit_test(test_fips197_field),
		cmocka_unit_test(test_invalid),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
