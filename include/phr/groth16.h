/*
 * phr Groth16 verification over bn254 (alt_bn128), natively in the node.
 *
 * The arithmetic is the EVM's own: the verifier runs the ecAdd (0x06), ecMul (0x07)
 * and ecPairing (0x08) precompiles through phr_precompile_run(), so a proof the C node
 * accepts is exactly a proof the on-chain verifier accepts (same point validation,
 * same subgroup checks, same pairing).
 *
 * Input formats are snarkjs's JSON files: the verification key (verification_key.json,
 * "protocol": "groth16", "curve": "bn128"), the proof (proof.json) and the public
 * signals (public.json: an array of decimal strings). Coordinates are decimal strings;
 * G2 coordinates are [real, imaginary] pairs (the EVM wants imaginary first: the
 * parsers swap them).
 *
 * All functions are pure (no global state) and thread-safe.
 */
#ifndef PHR_GROTH16_H
#define PHR_GROTH16_H

#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most public signals a verification key may declare. */
#define PHR_GROTH16_MAX_PUBLIC 16
/** Largest JSON text the parsers accept (a vkey with 16 inputs is ~5 KB). */
#define PHR_GROTH16_MAX_JSON 65536

/** A Groth16 verification key in EVM precompile encoding (big-endian field elements;
 *  G1 = x || y, G2 = x_imag || x_real || y_imag || y_real). */
struct phr_groth16_vkey {
	uint8_t alpha[64];
	uint8_t beta[128];
	uint8_t gamma[128];
	uint8_t delta[128];
	/** Number of public signals (IC has n_public + 1 points). */
	size_t n_public;
	uint8_t ic[PHR_GROTH16_MAX_PUBLIC + 1][64];
};

/** A Groth16 proof (A in G1, B in G2, C in G1), EVM precompile encoding. */
struct phr_groth16_proof {
	uint8_t a[64];
	uint8_t b[128];
	uint8_t c[64];
};

/**
 * Parses a snarkjs verification key (verification_key.json).
 *
 * Checks "protocol" is "groth16" and "curve" is "bn128", that every coordinate is a
 * canonical decimal below the base-field modulus, that projective z is 1 (snarkjs
 * always writes affine points), and that IC has nPublic + 1 entries. Curve membership is
 * checked when the key is used (the precompiles reject points off the curve).
 *
 * @param[out] vk   the key; untouched on failure.
 * @param[in]  json JSON text (need not be NUL-terminated); not retained.
 * @param[in]  len  its length, at most PHR_GROTH16_MAX_JSON.
 * @return PHR_OK; PHR_ERR_PARSE for malformed JSON or a missing/mistyped member;
 *         PHR_ERR_RANGE for a coordinate not below the modulus;
 *         PHR_ERR_UNSUPPORTED for another protocol/curve or nPublic over
 *         PHR_GROTH16_MAX_PUBLIC; PHR_ERR_TOO_LARGE for @p len over the limit;
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_groth16_vkey_parse(struct phr_groth16_vkey *vk, const char *json, size_t len);

/**
 * Parses a snarkjs proof (proof.json: pi_a, pi_b, pi_c, protocol, curve).
 *
 * Also accepts an object {"proof": {...}, "publicSignals": [...]} (what the phr ZK driver
 * writes) and then reads its "proof" member.
 *
 * @param[out] proof the proof; untouched on failure.
 * @param[in]  json  JSON text; not retained.
 * @param[in]  len   its length, at most PHR_GROTH16_MAX_JSON.
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_RANGE, PHR_ERR_UNSUPPORTED, PHR_ERR_TOO_LARGE,
 *         PHR_ERR_NOMEM (as for phr_groth16_vkey_parse).
 */
PHR_WUR int phr_groth16_proof_parse(struct phr_groth16_proof *proof, const char *json, size_t len);

/**
 * Parses public signals: a JSON array of decimal strings (public.json), or the
 * "publicSignals" member of an object as written by the phr ZK driver.
 *
 * Values are NOT reduced: a signal at or above the scalar-field order r parses (as its
 * 32-byte big-endian value) and phr_groth16_verify() rejects it, like the Solidity
 * verifier's field check.
 *
 * @param[out] inputs  @p cap 32-byte big-endian values; untouched on failure.
 * @param[in]  cap     capacity of @p inputs (entries).
 * @param[out] n       number of signals read.
 * @param[in]  json    JSON text; not retained.
 * @param[in]  len     its length, at most PHR_GROTH16_MAX_JSON.
 * @return PHR_OK; PHR_ERR_PARSE (not an array of decimal strings); PHR_ERR_RANGE (a value
 *         of 2^256 or more); PHR_ERR_TOO_LARGE (more than @p cap signals or @p len over
 *         the limit); PHR_ERR_NOMEM.
 */
PHR_WUR int phr_groth16_public_parse(uint8_t (*inputs)[32], size_t cap, size_t *n, const char *json,
				     size_t len);

/**
 * Verifies a Groth16 proof: checks every public input is below r, computes
 * vk_x = IC[0] + sum(input[i] * IC[i+1]) with ecMul/ecAdd, then the pairing product
 * e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) == 1 with ecPairing.
 *
 * @param[in] vk       verification key.
 * @param[in] proof    the proof.
 * @param[in] inputs   @p n public signals, 32-byte big-endian each.
 * @param[in] n        must equal vk->n_public.
 * @return PHR_OK when the proof is valid; PHR_ERR_SIGNATURE when it is well-formed but
 *         does not verify; PHR_ERR_INVALID when @p n differs from the key's count, a public
 *         input is not below r, or a point is not on the curve / in the subgroup;
 *         PHR_ERR_NOMEM; PHR_ERR_INTERNAL if a precompile fails unexpectedly.
 */
PHR_WUR int phr_groth16_verify(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
			       const uint8_t (*inputs)[32], size_t n);

/** Public signals of circuits/provider_credential.circom, in snarkjs's order (outputs
 *  first, then the public inputs as declared). */
enum phr_groth16_provider_signal {
	PHR_GROTH16_P_NULLIFIER = 0, /**< Poseidon(scope, secret) */
	PHR_GROTH16_P_ROOT,          /**< credential-tree root */
	PHR_GROTH16_P_ROLE,          /**< role proven */
	PHR_GROTH16_P_TIME,          /**< time the credential was unexpired at (unix seconds) */
	PHR_GROTH16_P_SCOPE,         /**< scope of the nullifier */
	PHR_GROTH16_P_MESSAGE,       /**< value the proof is bound to (the caller's address) */
	PHR_GROTH16_P_COUNT
};

/** What a relying party (the node) requires of a provider-credential proof, the native
 *  counterpart of ResearchAccess.useCredential. Every member is optional. */
struct phr_groth16_policy {
	/** Acceptable roots (e.g. the registry's current root and its unexpired,
	 *  unrevoked predecessors, read from the chain); NULL/0: any root. */
	const uint8_t (*roots)[32];
	size_t n_roots;
	/** Required role, scope and message (32-byte big-endian); NULL: not checked. */
	const uint8_t *role;
	const uint8_t *scope;
	const uint8_t *message;
	/** With max_age > 0: the proof's time must satisfy time <= now <= time + max_age. */
	uint64_t now;
	uint64_t max_age;
	/** Called once the proof verified: records the nullifier and returns PHR_OK, or
	 *  PHR_ERR_EXISTS if it was already spent, or another error. NULL: not checked. */
	int (*spend)(void *ctx, const uint8_t nullifier[32]);
	void *ctx;
};

/**
 * Checks a provider-credential proof against a policy, in the contract's order: root,
 * time, role/scope/message, the Groth16 proof, then the nullifier.
 *
 * @param[in] vk      the provider_credential verification key (6 public signals).
 * @param[in] proof   the proof.
 * @param[in] inputs  PHR_GROTH16_P_COUNT public signals.
 * @param[in] n       their number.
 * @param[in] policy  the requirements; not retained.
 * @return PHR_OK; PHR_ERR_NOT_FOUND for a root not in the list (wrong or revoked);
 *         PHR_ERR_EXPIRED for a time outside the window; PHR_ERR_FORBIDDEN for another
 *         role, scope or message; PHR_ERR_SIGNATURE / PHR_ERR_INVALID as
 *         phr_groth16_verify(); PHR_ERR_EXISTS for a spent nullifier (or what spend returns).
 */
PHR_WUR int phr_groth16_provider_check(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
				       const uint8_t (*inputs)[32], size_t n,
				       const struct phr_groth16_policy *policy);

/** Public signals of circuits/age_credential.circom, in snarkjs's order. */
enum phr_groth16_age_signal {
	PHR_GROTH16_A_NULLIFIER = 0, /**< Poseidon(scope, secret) */
	PHR_GROTH16_A_KEY_X,         /**< attester's Baby Jubjub key, x */
	PHR_GROTH16_A_KEY_Y,         /**< attester's Baby Jubjub key, y */
	PHR_GROTH16_A_TODAY,         /**< date the age holds at, YYYYMMDD */
	PHR_GROTH16_A_MIN_AGE,       /**< age proven, years */
	PHR_GROTH16_A_SCOPE,         /**< scope of the nullifier */
	PHR_GROTH16_A_MESSAGE,       /**< value the proof is bound to */
	PHR_GROTH16_A_COUNT
};

/** What a relying party requires of an age proof (ResearchAccess.useAgeProof natively).
 *  Every member is optional (NULL / 0: not checked). */
struct phr_groth16_age_policy {
	/** Accepted attester keys, x then y (64 bytes each). */
	const uint8_t (*attesters)[64];
	size_t n_attesters;
	/** Minimum age required: the proof's minAge must be at least this. */
	uint32_t min_age;
	/** Accepted dates (YYYYMMDD), e.g. today and yesterday in UTC. */
	const uint32_t *dates;
	size_t n_dates;
	const uint8_t *scope;
	const uint8_t *message;
	/** As in struct phr_groth16_policy. */
	int (*spend)(void *ctx, const uint8_t nullifier[32]);
	void *ctx;
};

/**
 * Checks an age proof against a policy: attester, date, minimum age, scope/message, the
 * Groth16 proof, then the nullifier.
 *
 * @param[in] vk      the age_credential verification key (7 public signals).
 * @param[in] proof   the proof.
 * @param[in] inputs  PHR_GROTH16_A_COUNT public signals.
 * @param[in] n       their number.
 * @param[in] policy  the requirements; not retained.
 * @return PHR_OK; PHR_ERR_NOT_FOUND for an attester not in the list; PHR_ERR_EXPIRED for a
 *         date not in the list; PHR_ERR_FORBIDDEN for a lower age, another scope or
 *         message; PHR_ERR_SIGNATURE / PHR_ERR_INVALID as phr_groth16_verify();
 *         PHR_ERR_EXISTS for a spent nullifier (or what spend returns).
 */
PHR_WUR int phr_groth16_age_check(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
				  const uint8_t (*inputs)[32], size_t n, const struct phr_groth16_age_policy *policy);

/** Public signals of circuits/trial_enrolment.circom, in snarkjs's order. */
enum phr_groth16_trial_signal {
	PHR_GROTH16_T_NULLIFIER = 0, /**< Poseidon(trialId, secret): one enrolment per patient per trial */
	PHR_GROTH16_T_ROOT,          /**< the trial's eligibility-tree root */
	PHR_GROTH16_T_TRIAL,         /**< trial id (TrialRegistry) */
	PHR_GROTH16_T_MESSAGE,       /**< value the proof is bound to (the caller's address) */
	PHR_GROTH16_T_COUNT
};

/** What a relying party requires of a trial-enrolment proof, the native counterpart of
 *  TrialRegistry.enrol. Every member is optional (NULL / 0: not checked). */
struct phr_groth16_trial_policy {
	/** Acceptable roots of the trial's tree (e.g. TrialRegistry.rootOf and its unexpired,
	 *  pre-removal predecessors read from the chain); NULL/0: any root. */
	const uint8_t (*roots)[32];
	size_t n_roots;
	/** Required trial id and message (32-byte big-endian). */
	const uint8_t *trial;
	const uint8_t *message;
	/** As in struct phr_groth16_policy (nullifiers are per trial: key the store by both). */
	int (*spend)(void *ctx, const uint8_t nullifier[32]);
	void *ctx;
};

/**
 * Checks a trial-enrolment proof against a policy, in the contract's order: root,
 * trial/message, the Groth16 proof, then the nullifier.
 *
 * @param[in] vk      the trial_enrolment verification key (4 public signals).
 * @param[in] proof   the proof.
 * @param[in] inputs  PHR_GROTH16_T_COUNT public signals.
 * @param[in] n       their number.
 * @param[in] policy  the requirements; not retained.
 * @return PHR_OK; PHR_ERR_INVALID for another signal count (or as phr_groth16_verify());
 *         PHR_ERR_NOT_FOUND for a root not in the list (wrong tree, or a participant was
 *         removed since: this is also how a patient outside the tree shows up);
 *         PHR_ERR_FORBIDDEN for another trial or message; PHR_ERR_SIGNATURE for a proof
 *         that does not verify; PHR_ERR_EXISTS for a spent nullifier (or what spend returns).
 */
PHR_WUR int phr_groth16_trial_check(const struct phr_groth16_vkey *vk, const struct phr_groth16_proof *proof,
				    const uint8_t (*inputs)[32], size_t n,
				    const struct phr_groth16_trial_policy *policy);

/**
 * The verification key of a committed circuit, built into the node (generated from
 * circuits/keys/<circuit>_vkey.json by circuits/gen_vkeys.mjs).
 *
 * @param[out] vk       the key; untouched on failure.
 * @param[in]  circuit  "provider_credential", "age_credential" or "trial_enrolment".
 * @return PHR_OK; PHR_ERR_NOT_FOUND for another name.
 */
PHR_WUR int phr_groth16_builtin_vkey(struct phr_groth16_vkey *vk, const char *circuit);

/**
 * Parses one signal value as the CLI and the API accept it: a decimal string (below
 * 2^256; not reduced) or 0x-hex of at most 32 bytes (an address is 20), NUL-terminated.
 *
 * @param[out] out  32-byte big-endian value; untouched on failure.
 * @param[in]  s    the text.
 * @return PHR_OK; PHR_ERR_PARSE (not decimal or hex, or empty); PHR_ERR_RANGE (2^256 or
 *         more, or hex over 32 bytes).
 */
PHR_WUR int phr_groth16_value_parse(uint8_t out[32], const char *s);

/**
 * Formats a 32-byte big-endian value as a decimal string (the form snarkjs and the
 * ZK driver use for signals).
 *
 * @param[out] out  buffer of at least 79 bytes (78 digits + NUL).
 * @param[in]  cap  its size.
 * @param[in]  v    the value.
 * @return PHR_OK or PHR_ERR_TOO_LARGE when @p cap is under 79.
 */
PHR_WUR int phr_groth16_dec_format(char *out, size_t cap, const uint8_t v[32]);

#ifdef __cplusplus
}
#endif

#endif
