/**
 * @file study.h
 * @brief Research studies on a node (module `phr`): homomorphic aggregates
 *        (include/phr/he.h) with consent checked on chain (StudyRegistry) and
 *        an audit entry for every step.
 *
 * A study lives on its sponsor's node, which is the untrusted aggregator:
 *
 * 1. **create** — the sponsor (a verified provider hosted here) picks a name,
 *    the value range (bits), the custodians (registered addresses) and the
 *    threshold t. The node deals the threshold key (phr_he_study_create: the
 *    secret exists only during the call), seals custodian i's share to the
 *    X25519 key custodian i registered in PatientRegistry, stores the sealed
 *    shares, and registers the study on chain:
 *    StudyRegistry.createStudy(keccak256(name), keccak256(params)).
 * 2. **join** — each custodian fetches its sealed share, opens it with its own
 *    key and checks it against the public commitments (client side).
 * 3. **consent** — the patient's owner consents on chain until a date
 *    (StudyRegistry.consent), and may withdraw.
 * 4. **submit** — the patient's client submits Enc(v), Enc(v^2), Enc(1) with
 *    range, square and one proofs, bound to its address. The node verifies
 *    the proofs, asks the chain whether the patient consents *now*
 *    (StudyRegistry.hasConsent), refuses a second submission of the same
 *    patient, and adds the ciphertexts to the running aggregate — all in one
 *    database transaction.
 * 5. **close** — the sponsor stops submissions; the hash of the aggregate is
 *    put on chain (StudyRegistry.close).
 * 6. **partials** — each custodian posts its partial decryption of the closed
 *    aggregate with Chaum-Pedersen proofs; the node verifies them.
 * 7. **result** — with t valid partials the node combines them and decodes
 *    count, sum and sum of squares (BSGS); mean and variance follow. The
 *    sponsor's node publishes the result's hash on chain.
 *
 * Every step is written to the study's log (DIR/phr.db, who, when, what,
 * refusals included) and the chain steps are StudyRegistry events. No
 * individual value is ever decrypted; the node never holds the secret key.
 */
#ifndef PHR_STUDY_H
#define PHR_STUDY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest study name: 1..64 characters of [A-Za-z0-9._-]. */
#define PHR_STUDY_NAME_MAX 64

/** Whether @p name is a valid study name. */
bool phr_study_name_ok(const char *name);

/** The on-chain id of a study: keccak256(name). */
void phr_study_chain_id(uint8_t id[32], const char *name);

/**
 * Creates a study (step 1) with the hosted sponsor @p sponsor.
 * @param[out] params new JSON object: {name, sponsor, custodians, he (the
 *             public parameters of he.h), paramsHash}
 * @param[in]  custodians @p n registered addresses; custodian i holds share i+1
 * @return PHR_OK, PHR_ERR_INVALID (name, bits 1..16, 1 <= t <= n <= 32,
 *         duplicate custodian), PHR_ERR_EXISTS, PHR_ERR_NOT_FOUND (a custodian
 *         without a registered key), PHR_ERR_FORBIDDEN (sponsor not a verified
 *         provider), PHR_ERR_UNSUPPORTED (no StudyRegistry in the deployment),
 *         chain, store and DB errors.
 */
PHR_WUR int phr_node_study_create(struct phr_node *node, json_t **params, const struct phr_identity *sponsor,
				  const char *name, uint32_t bits, uint32_t t,
				  const uint8_t (*custodians)[20], size_t n);

/**
 * The public state of a study: {params, count, closed, aggregate, partials,
 * aggregateHash (once closed)}.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_node_study_get(struct phr_node *node, json_t **out, const char *name);

/**
 * The sealed share of custodian @p who (a crypto_box_seal of the share's JSON
 * to who's registered X25519 key; useless to anyone else).
 * @param[out] sealed appended
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no study, or @p who is not a custodian), store errors.
 */
PHR_WUR int phr_node_study_share(struct phr_node *node, struct phr_buf *sealed, const char *name,
				 const uint8_t who[20]);

/**
 * Consent (step 3) of the hosted patient @p patient until @p until, or its
 * withdrawal when @p until is 0. Signed by the patient's key.
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no study), PHR_ERR_INVALID (expiry),
 *         PHR_ERR_STATE (closed), chain errors.
 */
PHR_WUR int phr_node_study_consent(struct phr_node *node, const struct phr_identity *patient,
				   const char *name, uint64_t until);

/**
 * Takes a submission (step 4) sent by @p caller (it must be the submission's
 * patient, written as its checksummed address).
 * @param[out] count submissions counted so far (may be NULL)
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_PARSE (not a submission),
 *         PHR_ERR_INVALID (shape, or not the caller's), PHR_ERR_TAMPERED (a
 *         proof fails: e.g. a value out of range), PHR_ERR_FORBIDDEN (no
 *         consent on chain now), PHR_ERR_EXISTS (already submitted),
 *         PHR_ERR_STATE (closed), chain and DB errors.
 */
PHR_WUR int phr_node_study_submit(struct phr_node *node, uint64_t *count, const char *name,
				  const uint8_t caller[20], const json_t *submission);

/**
 * Closes a study (step 5); the hosted sponsor signs StudyRegistry.close with
 * the aggregate's hash.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_FORBIDDEN (not the sponsor),
 *         PHR_ERR_STATE (already closed), chain and DB errors.
 */
PHR_WUR int phr_node_study_close(struct phr_node *node, const struct phr_identity *sponsor, const char *name);

/**
 * Takes custodian @p caller's partial decryption (step 6) of the closed aggregate.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_STATE (not closed), PHR_ERR_PARSE,
 *         PHR_ERR_FORBIDDEN (@p caller is not custodian p.index),
 *         PHR_ERR_TAMPERED (the proof fails), PHR_ERR_EXISTS, DB errors.
 */
PHR_WUR int phr_node_study_partial(struct phr_node *node, const char *name, const uint8_t caller[20],
				   const json_t *partial);

/**
 * The result (step 7): {count, sum, sumsq, mean, variance, sampleVariance,
 * partialsUsed}; publishes its hash on chain when the sponsor is hosted here
 * (once).
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_STATE (not closed),
 *         PHR_ERR_FORBIDDEN (fewer than t valid partials), errors of phr_he_combine.
 */
PHR_WUR int phr_node_study_result(struct phr_node *node, json_t **out, const char *name);

/**
 * The study's log: array of {at, actor, step, outcome, detail}.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_node_study_log(struct phr_node *node, json_t **out, const char *name);

/**
 * Writes one entry to the study's log (what the API does for refusals it
 * answers itself). Best effort.
 */
void phr_node_study_log_add(struct phr_node *node, const char *name, const uint8_t actor[20],
			    const char *step, const char *outcome, const char *detail);

#ifdef __cplusplus
}
#endif

#endif
