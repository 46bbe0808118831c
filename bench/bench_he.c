/*
 * Homomorphic-aggregate benchmark: time per step — encrypt, prove (a full
 * submission), verify, add, partial decryption, combine (verify t partials +
 * Lagrange), BSGS — for 8- and 16-bit values, plus a 10,000-patient aggregate.
 * Usage: bench_he
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <phr/he.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define STEP(label, reps, body)                                                                        \
	do {                                                                                           \
		double t0_ = now();                                                                    \
		for (int i_ = 0; i_ < (reps); i_++) {                                                  \
			body;                                                                          \
		}                                                                                      \
		printf("%-34s %10.1f us\n", label, (now() - t0_) / (reps)*1e6);                         \
	} while (0)

static int run(uint32_t bits)
{
	struct phr_he_study s;
	struct phr_he_share *sh = NULL;
	if (phr_he_study_create(&s, &sh, "bench", bits, 3, 5) != PHR_OK)
		return 1;
	printf("-- %u-bit values, 3-of-5 custodians\n", bits);
	struct phr_he_ct ct, acc;
	memset(&acc, 0, sizeof(acc));
	int bad = 0;
	STEP("encrypt (one ciphertext)", 2000, bad |= phr_he_encrypt(&ct, NULL, s.pk, 123));
	STEP("add (one ciphertext)", 20000, bad |= phr_he_ct_add(&acc, &acc, &ct));
	struct phr_he_submission sub;
	char label[64];
	snprintf(label, sizeof(label), "submission: encrypt + prove");
	STEP(label, 100, bad |= phr_he_submission_make(&sub, &s, "patient-1", 100));
	STEP("submission: verify", 100, bad |= phr_he_submission_verify(&s, &sub));
	printf("%-34s %10u bytes (binary), %u proofs\n", "submission size",
	       (unsigned)(3 * 64 + bits * (64 + 128) + 4 * 32 + 2 * 32), bits + 2);
	struct phr_he_aggregate agg;
	phr_he_aggregate_init(&agg);
	STEP("aggregate add (one submission)", 2000, bad |= phr_he_aggregate_add(&agg, &sub));
	/* the decoded range grows with count (2^bits)^2: keep BSGS tables modest */
	int keep = bits <= 8 ? 1000 : 10;
	phr_he_aggregate_init(&agg);
	for (int i = 0; i < keep; i++)
		bad |= phr_he_aggregate_add(&agg, &sub);
	struct phr_he_partial p[3];
	STEP("partial decryption (3 proofs)", 100, bad |= phr_he_partial_make(&p[i_ % 3], &s, &sh[i_ % 3], &agg));
	for (int i = 0; i < 3; i++)
		bad |= phr_he_partial_make(&p[i], &s, &sh[i], &agg);
	STEP("partial verify", 100, bad |= phr_he_partial_verify(&s, &agg, &p[0]));
	struct phr_he_result res;
	snprintf(label, sizeof(label), "combine + BSGS (%llu subs, m=%.0f)", (unsigned long long)agg.count,
		 1.0 + __builtin_sqrt((double)agg.count * ((1u << bits) - 1) * ((1u << bits) - 1)));
	STEP(label, 1, bad |= phr_he_combine(&res, NULL, &s, &agg, p, 3));
	if (bad || res.sum != 100 * agg.count || res.sumsq != 10000 * agg.count)
		return 1;
	phr_he_shares_free(sh, 5);
	return 0;
}

int main(void)
{
	if (run(8) || run(16))
		return 1;
	/* a 10,000-patient study with 8-bit values: encrypt+add, then decrypt */
	struct phr_he_study s;
	struct phr_he_share *sh = NULL;
	if (phr_he_study_create(&s, &sh, "bench-10k", 8, 3, 5) != PHR_OK)
		return 1;
	struct phr_he_aggregate agg;
	phr_he_aggregate_init(&agg);
	uint64_t sum = 0;
	double t0 = now();
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t v = (i * 2654435761u) & 255;
		struct phr_he_submission sub;
		if (phr_he_encrypt(&sub.v, NULL, s.pk, v) || phr_he_encrypt(&sub.v2, NULL, s.pk, v * v) ||
		    phr_he_encrypt(&sub.one, NULL, s.pk, 1) || phr_he_aggregate_add(&agg, &sub))
			return 1;
		sum += v;
	}
	double t1 = now();
	struct phr_he_partial p[3];
	for (int i = 0; i < 3; i++)
		if (phr_he_partial_make(&p[i], &s, &sh[i], &agg))
			return 1;
	double t2 = now();
	struct phr_he_result res;
	if (phr_he_combine(&res, NULL, &s, &agg, p, 3) || res.sum != sum)
		return 1;
	double t3 = now();
	printf("-- 10,000 patients, 8-bit: encrypt x3 + add %.2f s, 3 partials %.3f s, combine + BSGS %.2f s "
	       "(sum %llu, mean %.3f, variance %.3f)\n",
	       t1 - t0, t2 - t1, t3 - t2, (unsigned long long)res.sum, res.mean, res.variance);
	phr_he_shares_free(sh, 5);
	return 0;
}
