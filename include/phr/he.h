/*
 * Homomorphic aggregates for research studies: exponential ElGamal on
 * ristretto255 (libsodium) with t-of-n threshold decryption.
 *
 * A study has a public key H = xG whose secret x is Shamir-shared among n
 * custodians by a dealer (Feldman commitments let every custodian check its
 * share). A consenting patient submits Enc(v), Enc(v^2), Enc(1) with
 * Enc(m) = (rG, mG + rH), a range proof that v is in [0, 2^bits) (bit
 * ciphertexts with disjunctive Chaum-Pedersen OR-proofs), a proof that the v^2
 * ciphertext holds the square of v's plaintext, and a proof that the third
 * ciphertext holds 1; all Fiat-Shamir challenges are bound to the study id and
 * the patient id. The aggregator adds ciphertexts; t custodians publish partial
 * decryptions x_i A with Chaum-Pedersen proofs; any t valid ones are combined by
 * Lagrange interpolation and the totals decoded by baby-step giant-step.
 * See docs/privacy.md for the threat model and parameters.
 *
 * Points and scalars are 32-byte ristretto255 encodings; the identity is 32 zero
 * bytes. Thread safety: no global state besides libsodium's (sodium_init).
 */
#ifndef PHR_HE_H
#define PHR_HE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "phr/core.h"

#define PHR_HE_BYTES 32u
/** Limits: custodians, value bits, study / patient id length. */
#define PHR_HE_MAX_CUSTODIANS 32u
#define PHR_HE_MAX_BITS 16u
#define PHR_HE_ID_MAX 128u
/** Largest baby-step table BSGS builds (entries); bounds the decodable range. */
#define PHR_HE_BSGS_MAX_TABLE ((uint64_t)1 << 22)

/** A ciphertext (rG, mG + rH). */
struct phr_he_ct {
	uint8_t a[PHR_HE_BYTES];
	uint8_t b[PHR_HE_BYTES];
};

/** Public parameters of a study (what the dealer publishes). */
struct phr_he_study {
	char id[PHR_HE_ID_MAX + 1];
	uint32_t bits;                                   /**< v in [0, 2^bits) */
	uint32_t t, n;                                   /**< threshold, custodians */
	uint8_t pk[PHR_HE_BYTES];                        /**< H = xG */
	uint8_t commit[PHR_HE_MAX_CUSTODIANS][PHR_HE_BYTES]; /**< Feldman a_j G, j < t */
	uint8_t vk[PHR_HE_MAX_CUSTODIANS][PHR_HE_BYTES];     /**< custodian i+1: x_{i+1} G */
};

/** A custodian's secret share (keep in sodium_malloc memory). */
struct phr_he_share {
	uint32_t index;             /**< 1..n */
	uint8_t x[PHR_HE_BYTES];    /**< f(index) */
};

/** One bit of a range proof: its ciphertext and OR-proof (c0, c1, z0, z1). */
struct phr_he_bit {
	struct phr_he_ct ct;
	uint8_t c0[PHR_HE_BYTES], c1[PHR_HE_BYTES], z0[PHR_HE_BYTES], z1[PHR_HE_BYTES];
};

/** A patient's submission. */
struct phr_he_submission {
	char patient[PHR_HE_ID_MAX + 1];
	uint32_t bits;
	struct phr_he_ct v, v2, one;
	struct phr_he_bit bit[PHR_HE_MAX_BITS];
	/* v2 = v * ct(v) + (sG, sH): proof (c, zv, zr, zs) */
	uint8_t sq_c[PHR_HE_BYTES], sq_zv[PHR_HE_BYTES], sq_zr[PHR_HE_BYTES], sq_zs[PHR_HE_BYTES];
	/* one - (0, G) is (rG, rH): proof (c, z) */
	uint8_t one_c[PHR_HE_BYTES], one_z[PHR_HE_BYTES];
};

/** The running aggregate. */
struct phr_he_aggregate {
	uint64_t count;             /**< submissions added */
	struct phr_he_ct sum, sumsq, ones;
};

/** A custodian's partial decryption of an aggregate: x_i A for the three sums, with proofs. */
struct phr_he_partial {
	uint32_t index;
	uint8_t d[3][PHR_HE_BYTES];
	uint8_t c[3][PHR_HE_BYTES], z[3][PHR_HE_BYTES];
};

/** Decrypted totals and derived figures. */
struct phr_he_result {
	uint64_t count, sum, sumsq;
	double mean;              /**< sum / count */
	double variance;          /**< population: sumsq / count - mean^2 (computed exactly, then rounded) */
	double sample_variance;   /**< with count - 1 (0 when count < 2) */
};

/**
 * Dealer: creates a study and its n shares (t-of-n Shamir sharing of a fresh
 * secret key over the ristretto255 scalar field, Feldman commitments). The secret
 * key and polynomial live in sodium_malloc memory and are wiped before return.
 * @param[out] study   public parameters
 * @param[out] shares  n shares in sodium_malloc memory (free with phr_he_shares_free)
 * @param id           study id (1..PHR_HE_ID_MAX printable ASCII characters)
 * @param bits         value bits, 1..PHR_HE_MAX_BITS
 * @param t, n         1 <= t <= n <= PHR_HE_MAX_CUSTODIANS
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_he_study_create(struct phr_he_study *study, struct phr_he_share **shares, const char *id,
				uint32_t bits, uint32_t t, uint32_t n);

/** Wipes and frees shares from phr_he_study_create (NULL is fine). */
void phr_he_shares_free(struct phr_he_share *shares, uint32_t n);

/**
 * Checks a study's consistency: limits, valid points, pk = commit[0] and every
 * vk_i = sum_j commit[j] i^j. @return PHR_OK, PHR_ERR_INVALID.
 */
PHR_WUR int phr_he_study_check(const struct phr_he_study *study);

/**
 * Custodian's check of its share against the dealer's commitments:
 * x G = vk_index. @return PHR_OK, PHR_ERR_INVALID (wrong index), PHR_ERR_TAMPERED.
 */
PHR_WUR int phr_he_share_verify(const struct phr_he_study *study, const struct phr_he_share *share);

/**
 * Encrypts @p m under @p pk with fresh randomness. @param[out] r the randomness
 * (may be NULL; secret: wipe it). @return PHR_OK, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_he_encrypt(struct phr_he_ct *ct, uint8_t *r, const uint8_t pk[PHR_HE_BYTES], uint64_t m);

/** out = x + y (componentwise point addition). @return PHR_OK, PHR_ERR_CRYPTO (bad point). */
PHR_WUR int phr_he_ct_add(struct phr_he_ct *out, const struct phr_he_ct *x, const struct phr_he_ct *y);

/**
 * Patient: makes a submission for value @p v with all proofs.
 * @param[out] sub    the submission
 * @param study       the study (bits, pk, id)
 * @param patient     patient id (1..PHR_HE_ID_MAX printable ASCII), bound into every proof
 * @param v           the value; must be < 2^bits
 * @return PHR_OK, PHR_ERR_RANGE (v too large), PHR_ERR_INVALID, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_he_submission_make(struct phr_he_submission *sub, const struct phr_he_study *study,
				   const char *patient, uint64_t v);

/**
 * Aggregator: verifies a submission against the study: bit count, every bit's
 * OR-proof, Enc(v) = sum 2^j Enc(b_j), the square proof, the Enc(1) proof.
 * @return PHR_OK, PHR_ERR_INVALID (shape, patient id), PHR_ERR_TAMPERED (a proof
 *         fails).
 */
PHR_WUR int phr_he_submission_verify(const struct phr_he_study *study, const struct phr_he_submission *sub);

/** Starts an empty aggregate (identity ciphertexts, count 0). */
void phr_he_aggregate_init(struct phr_he_aggregate *agg);

/**
 * Adds a submission's three ciphertexts (the caller verified it and checked
 * consent and duplicates). @return PHR_OK, PHR_ERR_CRYPTO, PHR_ERR_RANGE (count).
 */
PHR_WUR int phr_he_aggregate_add(struct phr_he_aggregate *agg, const struct phr_he_submission *sub);

/**
 * Consent check called before a submission counts: returns PHR_OK when @p patient
 * consented to @p study (the node asks the chain's consent contract), else
 * PHR_ERR_FORBIDDEN or another error.
 */
typedef int (*phr_he_consent_fn)(void *ctx, const char *study, const char *patient);

/**
 * Aggregator's whole step for one submission: verify it, check consent through
 * @p consent, then add it. Duplicate detection (one submission per patient) is
 * left to the caller, which keeps the set of patients.
 * @param consent  the consent check (NULL: PHR_ERR_INVALID; pass a function that
 *                 returns PHR_OK only where consent is not required)
 * @return PHR_OK, an error of phr_he_submission_verify, the consent function's
 *         error (PHR_ERR_FORBIDDEN), or of phr_he_aggregate_add. The aggregate is
 *         unchanged on error.
 */
PHR_WUR int phr_he_aggregate_submit(struct phr_he_aggregate *agg, const struct phr_he_study *study,
				    const struct phr_he_submission *sub, phr_he_consent_fn consent, void *ctx);

/**
 * Custodian: partial decryption of an aggregate with Chaum-Pedersen proofs
 * (log_G vk_i = log_A d for each of the three ciphertexts; challenge bound to the
 * study id, the custodian index and the ciphertext).
 * @return PHR_OK, PHR_ERR_INVALID (share index), PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_he_partial_make(struct phr_he_partial *p, const struct phr_he_study *study,
				const struct phr_he_share *share, const struct phr_he_aggregate *agg);

/** Verifies a partial decryption. @return PHR_OK, PHR_ERR_INVALID (index), PHR_ERR_TAMPERED. */
PHR_WUR int phr_he_partial_verify(const struct phr_he_study *study, const struct phr_he_aggregate *agg,
				  const struct phr_he_partial *p);

/**
 * Combines partial decryptions: verifies each, needs t valid ones with distinct
 * indices (extra ones are ignored after the first t valid), interpolates x A,
 * decodes the totals by BSGS within their bounds (count <= agg->count, sum <=
 * count (2^bits - 1), sumsq <= count (2^bits - 1)^2) and checks count = agg->count.
 * @param[out] res   totals and mean / variance
 * @param[out] bad   number of partials rejected (may be NULL)
 * @return PHR_OK, PHR_ERR_FORBIDDEN (fewer than t valid partials),
 *         PHR_ERR_RANGE (a total outside its bound or beyond the BSGS table
 *         limit), PHR_ERR_CORRUPT (count disagrees), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_he_combine(struct phr_he_result *res, size_t *bad, const struct phr_he_study *study,
			   const struct phr_he_aggregate *agg, const struct phr_he_partial *partials, size_t np);

/**
 * Decodes M = mG for m in [0, bound] by baby-step giant-step.
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no m in range), PHR_ERR_RANGE (bound too
 *         large for PHR_HE_BSGS_MAX_TABLE), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_he_bsgs(uint64_t *m, const uint8_t point[PHR_HE_BYTES], uint64_t bound);

/* ---- JSON forms (hex strings); parsing validates every point and scalar ---- */

/** Study to / from JSON. @return PHR_OK, PHR_ERR_NOMEM / PHR_ERR_PARSE, PHR_ERR_INVALID. */
PHR_WUR int phr_he_study_to_json(json_t **out, const struct phr_he_study *s);
PHR_WUR int phr_he_study_from_json(struct phr_he_study *s, const json_t *j);
/** Share to / from JSON (the caller wipes the JSON text). */
PHR_WUR int phr_he_share_to_json(json_t **out, const struct phr_he_study *s, const struct phr_he_share *sh);
PHR_WUR int phr_he_share_from_json(struct phr_he_share *sh, const json_t *j);
/** Submission to / from JSON. */
PHR_WUR int phr_he_submission_to_json(json_t **out, const struct phr_he_submission *sub);
PHR_WUR int phr_he_submission_from_json(struct phr_he_submission *sub, const json_t *j);
/** Aggregate to / from JSON. */
PHR_WUR int phr_he_aggregate_to_json(json_t **out, const struct phr_he_aggregate *agg);
PHR_WUR int phr_he_aggregate_from_json(struct phr_he_aggregate *agg, const json_t *j);
/** Partial decryption to / from JSON. */
PHR_WUR int phr_he_partial_to_json(json_t **out, const struct phr_he_partial *p);
PHR_WUR int phr_he_partial_from_json(struct phr_he_partial *p, const json_t *j);

#endif /* PHR_HE_H */
