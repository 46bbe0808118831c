/*
 * Homomorphic aggregates: exactness over 10,000 simulated patients, proofs
 * accepted for honest submissions and rejected for out-of-range or tampered
 * ones, threshold decryption (bad partials, fewer than t custodians), BSGS
 * bounds and the JSON forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "phr/he.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* deterministic simulated lab values in [0, 2^bits) */
static uint64_t lab_value(uint64_t i, uint32_t bits)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull + 12345;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return x & (((uint64_t)1 << bits) - 1);
}

static void make_partials(struct phr_he_partial *p, const struct phr_he_study *s,
			  const struct phr_he_share *sh, const struct phr_he_aggregate *agg, const uint32_t *which,
			  size_t k)
{
	for (size_t i = 0; i < k; i++)
		assert_int_equal(phr_he_partial_make(&p[i], s, &sh[which[i] - 1], agg), PHR_OK);
}

static void test_generator(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	/* Enc(1) with r: b - a*x must be G; check through the public API: BSGS of 1G */
	uint8_t one[32] = { 1 }, g[32];
	assert_int_equal(crypto_scalarmult_ristretto255_base(g, one), 0);
	uint64_t m = 0;
	assert_int_equal(phr_he_bsgs(&m, g, 10), PHR_OK);
	assert_int_equal(m, 1);
	uint8_t zero[32] = { 0 };
	assert_int_equal(phr_he_bsgs(&m, zero, 10), PHR_OK);
	assert_int_equal(m, 0);
	uint8_t s[32] = { 0 }, p[32];
	s[0] = 0x39, s[1] = 0x30; /* 12345 */
	assert_int_equal(crypto_scalarmult_ristretto255_base(p, s), 0);
	assert_int_equal(phr_he_bsgs(&m, p, 12345), PHR_OK);
	assert_int_equal(m, 12345);
	assert_int_equal(phr_he_bsgs(&m, p, 12344), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_he_bsgs(&m, p, (uint64_t)1 << 50), PHR_ERR_RANGE);
}

/* 10,000 patients: decrypted totals equal the plaintext totals exactly */
static void test_ten_thousand(void **state)
{
	(void)state;
	const uint32_t bits = 8, n = 10000;
	struct phr_he_study s;
	struct phr_he_share *sh = NULL;
	assert_int_equal(phr_he_study_create(&s, &sh, "study-10k", bits, 3, 5), PHR_OK);
	struct phr_he_aggregate agg;
	phr_he_aggregate_init(&agg);
	uint64_t sum = 0, sumsq = 0;
	double t0 = now();
	/* bulk: ciphertexts made directly (proof work is checked on a sample below) */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = lab_value(i, bits);
		struct phr_he_submission sub;
		assert_int_equal(phr_he_encrypt(&sub.v, NULL, s.pk, v), PHR_OK);
		assert_int_equal(phr_he_encrypt(&sub.v2, NULL, s.pk, v * v), PHR_OK);
		assert_int_equal(phr_he_encrypt(&sub.one, NULL, s.pk, 1), PHR_OK);
		assert_int_equal(phr_he_aggregate_add(&agg, &sub), PHR_OK);
		sum += v;
		sumsq += v * v;
	}
	double t1 = now();
	/* a sample through the full protocol: make, verify, add */
	for (uint32_t i = n; i < n + 20; i++) {
		uint64_t v = lab_value(i, bits);
		char pid[32];
		snprintf(pid, sizeof(pid), "patient-%u", i);
		struct phr_he_submission sub;
		assert_int_equal(phr_he_submission_make(&sub, &s, pid, v), PHR_OK);
		assert_int_equal(phr_he_submission_verify(&s, &sub), PHR_OK);
		assert_int_equal(phr_he_aggregate_add(&agg, &sub), PHR_OK);
		sum += v;
		sumsq += v * v;
	}
	double t2 = now();
	struct phr_he_partial p[3];
	const uint32_t which[3] = { 5, 2, 4 };
	make_partials(p, &s, sh, &agg, which, 3);
	struct phr_he_result res;
	size_t bad = 9;
	assert_int_equal(phr_he_combine(&res, &bad, &s, &agg, p, 3), PHR_OK);
	double t3 = now();
	assert_int_equal(bad, 0);
	assert_int_equal(res.count, n + 20);
	assert_int_equal(res.sum, sum);
	assert_int_equal(res.sumsq, sumsq);
	double mean = (double)sum / (n + 20);
	double var = (double)sumsq / (n + 20) - mean * mean;
	assert_true(res.mean == mean);
	assert_true(res.variance > var - 1e-6 && res.variance < var + 1e-6);
	print_message("%u patients: count %llu sum %llu sumsq %llu mean %.4f variance %.4f "
		      "(encrypt+add %.2f s, 20 full submissions %.2f s, decrypt+BSGS %.2f s)\n",
		      n + 20, (unsigned long long)res.count, (unsigned long long)res.sum,
		      (unsigned long long)res.sumsq, res.mean, res.variance, t1 - t0, t2 - t1, t3 - t2);
	phr_he_shares_free(sh, 5);
}

static void setup_small(struct phr_he_study *s, struct phr_he_share **sh, struct phr_he_aggregate *agg,
			uint64_t *sum)
{
	assert_int_equal(phr_he_study_create(s, sh, "study-small", 6, 2, 3), PHR_OK);
	phr_he_aggregate_init(agg);
	*sum = 0;
	static const uint64_t vals[] = { 0, 63, 17, 42, 1 };
	for (size_t i = 0; i < 5; i++) {
		char pid[16];
		snprintf(pid, sizeof(pid), "p%zu", i);
		struct phr_he_submission sub;
		assert_int_equal(phr_he_submission_make(&sub, s, pid, vals[i]), PHR_OK);
		assert_int_equal(phr_he_submission_verify(s, &sub), PHR_OK);
		assert_int_equal(phr_he_aggregate_add(agg, &sub), PHR_OK);
		*sum += vals[i];
	}
}

static void test_rejections(void **state)
{
	(void)state;
	struct phr_he_study s;
	struct phr_he_share *sh;
	struct phr_he_aggregate agg;
	uint64_t sum;
	setup_small(&s, &sh, &agg, &sum);
	struct phr_he_submission sub, bad;
	/* out of range: the client refuses, and a forged bit fails verification */
	assert_int_equal(phr_he_submission_make(&sub, &s, "px", 64), PHR_ERR_RANGE);
	assert_int_equal(phr_he_submission_make(&sub, &s, "px", 5), PHR_OK);
	bad = sub;
	assert_int_equal(phr_he_encrypt(&bad.bit[5].ct, NULL, s.pk, 1), PHR_OK); /* claims 5 + 32 */
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_TAMPERED);
	bad = sub;
	assert_int_equal(phr_he_encrypt(&bad.bit[0].ct, NULL, s.pk, 2), PHR_OK); /* a "bit" of 2 */
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_TAMPERED);
	bad = sub;
	assert_int_equal(phr_he_encrypt(&bad.v, NULL, s.pk, 5), PHR_OK); /* v not the bits' sum */
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_TAMPERED);
	bad = sub;
	assert_int_equal(phr_he_encrypt(&bad.v2, NULL, s.pk, 26), PHR_OK); /* v^2 + 1 */
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_TAMPERED);
	bad = sub;
	assert_int_equal(phr_he_encrypt(&bad.one, NULL, s.pk, 2), PHR_OK);
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_TAMPERED);
	bad = sub;
	memcpy(bad.patient, "py", 3); /* replayed under another patient */
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_TAMPERED);
	bad = sub;
	bad.bits = 5;
	assert_int_equal(phr_he_submission_verify(&s, &bad), PHR_ERR_INVALID);
	/* threshold decryption */
	struct phr_he_partial p[3];
	const uint32_t all[3] = { 1, 2, 3 };
	make_partials(p, &s, sh, &agg, all, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(phr_he_partial_verify(&s, &agg, &p[i]), PHR_OK);
	struct phr_he_result res;
	size_t nbad;
	/* fewer than t */
	assert_int_equal(phr_he_combine(&res, &nbad, &s, &agg, p, 1), PHR_ERR_FORBIDDEN);
	/* the same custodian twice does not count twice */
	struct phr_he_partial twice[2] = { p[0], p[0] };
	assert_int_equal(phr_he_combine(&res, &nbad, &s, &agg, twice, 2), PHR_ERR_FORBIDDEN);
	assert_int_equal(nbad, 1);
	/* a wrong partial decryption: d altered, proof no longer holds */
	struct phr_he_partial wrong[3] = { p[0], p[1], p[2] };
	uint8_t g[32] = { 1 }, gg[32];
	assert_int_equal(crypto_scalarmult_ristretto255_base(gg, g), 0);
	assert_int_equal(crypto_core_ristretto255_add(wrong[0].d[0], wrong[0].d[0], gg), 0);
	assert_int_equal(phr_he_partial_verify(&s, &agg, &wrong[0]), PHR_ERR_TAMPERED);
	assert_int_equal(phr_he_combine(&res, &nbad, &s, &agg, wrong, 2), PHR_ERR_FORBIDDEN);
	/* with a third honest custodian the bad one is skipped */
	assert_int_equal(phr_he_combine(&res, &nbad, &s, &agg, wrong, 3), PHR_OK);
	assert_int_equal(nbad, 1);
	assert_int_equal(res.sum, sum);
	/* a partial made with another custodian's share under its own index */
	struct phr_he_share stolen = sh[1];
	stolen.index = 1;
	struct phr_he_partial forged;
	assert_int_equal(phr_he_partial_make(&forged, &s, &stolen, &agg), PHR_OK);
	assert_int_equal(phr_he_partial_verify(&s, &agg, &forged), PHR_ERR_TAMPERED);
	/* a partial for another aggregate */
	struct phr_he_aggregate other = agg;
	assert_int_equal(phr_he_aggregate_add(&other, &sub), PHR_OK);
	assert_int_equal(phr_he_partial_verify(&s, &other, &p[0]), PHR_ERR_TAMPERED);
	/* a count that disagrees with the aggregate's */
	struct phr_he_aggregate lying = agg;
	lying.count++;
	struct phr_he_partial lp[2];
	make_partials(lp, &s, sh, &lying, all, 2);
	assert_int_equal(phr_he_combine(&res, &nbad, &s, &lying, lp, 2), PHR_ERR_CORRUPT);
	/* shares and study consistency */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(phr_he_share_verify(&s, &sh[i]), PHR_OK);
	struct phr_he_share wrongshare = sh[0];
	wrongshare.x[0] ^= 1;
	assert_int_equal(phr_he_share_verify(&s, &wrongshare), PHR_ERR_TAMPERED);
	struct phr_he_study ts = s;
	assert_int_equal(phr_he_study_check(&ts), PHR_OK);
	memcpy(ts.vk[1], ts.vk[0], 32);
	assert_int_equal(phr_he_study_check(&ts), PHR_ERR_INVALID);
	struct phr_he_share *x;
	assert_int_equal(phr_he_study_create(&ts, &x, "s", 8, 4, 3), PHR_ERR_INVALID);
	assert_int_equal(phr_he_study_create(&ts, &x, "s", 17, 1, 1), PHR_ERR_INVALID);
	assert_int_equal(phr_he_study_create(&ts, &x, "has space", 8, 1, 1), PHR_ERR_INVALID);
	phr_he_shares_free(sh, 3);
}

/* a consent list standing in for the chain's consent contract */
static int consent_list(void *ctx, const char *study, const char *patient)
{
	const char *const *ok = ctx;
	if (strcmp(study, "study-small") != 0)
		return PHR_ERR_FORBIDDEN;
	for (; *ok; ok++)
		if (strcmp(*ok, patient) == 0)
			return PHR_OK;
	return PHR_ERR_FORBIDDEN;
}

static void test_consent(void **state)
{
	(void)state;
	struct phr_he_study s;
	struct phr_he_share *sh;
	struct phr_he_aggregate agg;
	uint64_t sum;
	setup_small(&s, &sh, &agg, &sum);
	static const char *const consented[] = { "alice", NULL };
	struct phr_he_submission a, b;
	assert_int_equal(phr_he_submission_make(&a, &s, "alice", 10), PHR_OK);
	assert_int_equal(phr_he_submission_make(&b, &s, "bob", 20), PHR_OK);
	struct phr_he_aggregate before = agg;
	assert_int_equal(phr_he_aggregate_submit(&agg, &s, &b, consent_list, (void *)consented), PHR_ERR_FORBIDDEN);
	assert_memory_equal(&agg, &before, sizeof(agg));
	assert_int_equal(phr_he_aggregate_submit(&agg, &s, &a, NULL, NULL), PHR_ERR_INVALID);
	assert_int_equal(phr_he_aggregate_submit(&agg, &s, &a, consent_list, (void *)consented), PHR_OK);
	struct phr_he_submission forged = a;
	memcpy(forged.patient, "alicf", 6);
	assert_int_equal(phr_he_aggregate_submit(&agg, &s, &forged, consent_list, (void *)consented),
			 PHR_ERR_TAMPERED);
	struct phr_he_partial p[2];
	const uint32_t w[2] = { 3, 1 };
	make_partials(p, &s, sh, &agg, w, 2);
	struct phr_he_result res;
	assert_int_equal(phr_he_combine(&res, NULL, &s, &agg, p, 2), PHR_OK);
	assert_int_equal(res.count, 6);
	assert_int_equal(res.sum, sum + 10);
	phr_he_shares_free(sh, 3);
}

/* JSON round trips, and every 1-of-1 .. t-of-n subset decrypts the same */
static void test_json_and_subsets(void **state)
{
	(void)state;
	struct phr_he_study s, s2;
	struct phr_he_share *sh;
	struct phr_he_aggregate agg, agg2;
	uint64_t sum;
	setup_small(&s, &sh, &agg, &sum);
	json_t *j;
	assert_int_equal(phr_he_study_to_json(&j, &s), PHR_OK);
	assert_int_equal(phr_he_study_from_json(&s2, j), PHR_OK);
	assert_memory_equal(&s, &s2, sizeof(s));
	json_decref(j);
	struct phr_he_share sh2;
	assert_int_equal(phr_he_share_to_json(&j, &s, &sh[2]), PHR_OK);
	assert_int_equal(phr_he_share_from_json(&sh2, j), PHR_OK);
	assert_memory_equal(&sh[2], &sh2, sizeof(sh2));
	json_decref(j);
	struct phr_he_submission sub, sub2;
	assert_int_equal(phr_he_submission_make(&sub, &s, "pj", 33), PHR_OK);
	assert_int_equal(phr_he_submission_to_json(&j, &sub), PHR_OK);
	assert_int_equal(phr_he_submission_from_json(&sub2, j), PHR_OK);
	assert_memory_equal(&sub, &sub2, sizeof(sub));
	assert_int_equal(phr_he_submission_verify(&s, &sub2), PHR_OK);
	/* a non-canonical scalar is refused by the parser */
	json_t *sq = json_object_get(j, "square");
	assert_int_equal(json_object_set_new(sq, "c", json_string("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")), 0);
	assert_int_equal(phr_he_submission_from_json(&sub2, j), PHR_ERR_INVALID);
	json_decref(j);
	assert_int_equal(phr_he_aggregate_to_json(&j, &agg), PHR_OK);
	assert_int_equal(phr_he_aggregate_from_json(&agg2, j), PHR_OK);
	assert_memory_equal(&agg, &agg2, sizeof(agg));
	json_decref(j);
	struct phr_he_partial p[3], pp;
	const uint32_t all[3] = { 1, 2, 3 };
	make_partials(p, &s, sh, &agg, all, 3);
	assert_int_equal(phr_he_partial_to_json(&j, &p[1]), PHR_OK);
	assert_int_equal(phr_he_partial_from_json(&pp, j), PHR_OK);
	assert_memory_equal(&pp, &p[1], sizeof(pp));
	json_decref(j);
	const uint32_t pairs[3][2] = { { 0, 1 }, { 0, 2 }, { 1, 2 } };
	for (int i = 0; i < 3; i++) {
		struct phr_he_partial two[2] = { p[pairs[i][0]], p[pairs[i][1]] };
		struct phr_he_result res;
		assert_int_equal(phr_he_combine(&res, NULL, &s, &agg, two, 2), PHR_OK);
		assert_int_equal(res.sum, sum);
		assert_int_equal(res.count, 5);
		assert_int_equal(res.sumsq, 0 + 63 * 63 + 17 * 17 + 42 * 42 + 1);
	}
	phr_he_shares_free(sh, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generator),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_consent),
		cmocka_unit_test(test_json_and_subsets),
		cmocka_unit_test(test_ten_thousand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
