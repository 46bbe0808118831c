/**
 * @file emergency.h
 * @brief Break-glass that works while the patient is unconscious (issue 8
 *        part 1): an emergency summary encrypted under a fresh key, the key
 *        split t-of-n (Shamir) among escrow nodes, each share sealed to its
 *        holder, released — re-sealed to the requester — only while the
 *        requester holds an open, verified, unexpired break-glass session on
 *        chain (EmergencyAccess.isActive).
 *
 * Roles and wire formats (all JSON; addresses 0x checksummed or lower case;
 * binary as 0x hex; see docs/emergency.md):
 *
 * - Escrow holder: a node with an escrow key (DIR/escrow.key, secp256k1,
 *   0600; its X25519 key derived as for identities). It is hosted as the
 *   identity named PHR_ESCROW_IDENTITY and published by
 *   GET /api/v1/escrow (`{"address","boxPk"}`).
 *
 * - Manifest (text signed by the patient, EIP-191 personal_sign):
 *   `{"v":1,"patient","t","n","summaryCid","summaryBytes","createdAt",
 *     "holders":[{"url","address","boxPk","x"}...]}` — no PHI.
 *
 * - Sealed share: crypto_box_seal to the holder's X25519 key of
 *   PHR_ESCROW_SHARE_PLAIN bytes: 0x01 || patient(20) ||
 *   keccak256(summaryCid text)(32) || x(1) || y(32). The binding to the
 *   patient and the summary stops a share from being replayed under another
 *   patient's session.
 *
 * - Deposit (PUT /api/v1/escrow/{patient}): `{"deposit": TEXT, "signature"}`
 *   where TEXT is `{"v":1,"patient","holder","manifest": MANIFEST-TEXT,
 *   "manifestSignature","sealedShare","ciphertext","webhooks":[{"url",
 *   "secret"}]}` and both signatures are the patient owner's.
 *
 * - Release request (POST /api/v1/escrow/{patient}/release):
 *   `{"request": TEXT, "signature"}` with TEXT `{"v":1,"action":
 *   "escrow-release","patient","requester","holder","timestamp"}` signed by
 *   the requester. The answer: `{"patient","holder","x","sealedShare"
 *   (re-sealed to the requester's registered X25519 key),"manifest",
 *   "manifestSignature","ciphertext","expiresAt"}`.
 */
#ifndef PHR_EMERGENCY_H
#define PHR_EMERGENCY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/notify.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the hosted identity that holds a node's escrow key. */
#define PHR_ESCROW_IDENTITY "escrow-holder"
/** Plaintext of a sealed share. */
#define PHR_ESCROW_SHARE_PLAIN 86u
/** A sealed share: crypto_box_seal overhead (48) + plaintext. */
#define PHR_ESCROW_SEALED_BYTES (PHR_ESCROW_SHARE_PLAIN + 48u)
/** Largest emergency summary ciphertext. */
#define PHR_ESCROW_CIPHERTEXT_MAX ((size_t)64 << 10)
/** Most escrow holders of one patient. */
#define PHR_ESCROW_HOLDERS_MAX 16u
/** Largest request body (deposit or release). */
#define PHR_ESCROW_BODY_MAX ((size_t)160 << 10)
/** A release request is accepted this many seconds around the holder's clock. */
#define PHR_ESCROW_REQUEST_SKEW 300u

/** One escrow holder. */
struct phr_escrow_holder {
	char url[256];        /**< base URL of the holder's node */
	uint8_t address[20];  /**< the holder's escrow address */
	uint8_t box_pk[32];   /**< its X25519 key */
	unsigned x;           /**< Shamir x coordinate of its share (1..n) */
};

/** A parsed manifest. */
struct phr_escrow_manifest {
	uint8_t patient[20];
	unsigned t, n;
	char summary_cid[PHR_CID_STR_MAX];
	uint64_t summary_bytes;
	uint64_t created_at;
	struct phr_escrow_holder holders[PHR_ESCROW_HOLDERS_MAX];
};

/** A parsed and signature-checked deposit (phr_escrow_deposit_release). */
struct phr_escrow_deposit {
	uint8_t signer[20];               /**< recovered from both signatures (equal) */
	uint8_t holder[20];               /**< the holder it is addressed to */
	struct phr_escrow_manifest manifest;
	char *manifest_text;              /**< phr_malloc, NUL-terminated */
	uint8_t manifest_sig[65];
	uint8_t sealed[PHR_ESCROW_SEALED_BYTES];
	uint8_t *ciphertext;              /**< phr_malloc */
	size_t ciphertext_len;
	size_t n_webhooks;
	char webhook_url[2][PHR_NOTIFY_URL_MAX + 1];
	uint8_t webhook_secret[2][64];
	size_t webhook_secret_len[2];
};

/** A parsed and signature-checked release request. */
struct phr_escrow_release_req {
	uint8_t patient[20], requester[20], holder[20];
	uint64_t timestamp;
};

/**
 * Parses manifest text (strict: every field, 2 <= t <= n <= PHR_ESCROW_HOLDERS_MAX,
 * holders' x distinct in 1..255, http(s) URLs).
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_INVALID, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_escrow_manifest_parse(struct phr_escrow_manifest *m, const char *text, size_t len);

/**
 * Parses a deposit body and checks that the deposit and the manifest are
 * signed by the same key and name the same patient. Does not ask the chain
 * (phr_escrow_deposit does).
 * @param[out] d filled on success; release with phr_escrow_deposit_release
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_INVALID, PHR_ERR_SIGNATURE,
 *         PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_escrow_deposit_parse(struct phr_escrow_deposit *d, const char *body, size_t len);

/** Frees what a deposit holds and wipes the webhook secrets. NULL is a no-op. */
void phr_escrow_deposit_release(struct phr_escrow_deposit *d);

/**
 * Parses a release request body and checks its signature against the
 * requester it names.
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_INVALID, PHR_ERR_SIGNATURE, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_escrow_release_req_parse(struct phr_escrow_release_req *r, const char *body,
					 size_t len);

/**
 * Seals a share (x || y, 33 bytes) bound to @p patient and @p summary_cid to @p pk.
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_escrow_share_seal(uint8_t sealed[PHR_ESCROW_SEALED_BYTES], const uint8_t share[33],
				  const uint8_t patient[20], const char *summary_cid,
				  const uint8_t pk[32]);

/**
 * Opens a sealed share with an X25519 key pair and checks its binding.
 * @param[out] share x || y (secret; wipe after use)
 * @return PHR_OK, PHR_ERR_TAMPERED (not ours, modified), PHR_ERR_INVALID
 *         (bound to another patient or summary, bad version or x).
 */
PHR_WUR int phr_escrow_share_open(uint8_t share[33], const uint8_t sealed[PHR_ESCROW_SEALED_BYTES],
				  const uint8_t pk[32], const uint8_t sk[32],
				  const uint8_t patient[20], const char *summary_cid);

/* --- the patient's and the provider's client --------------------------------- */

/**
 * Prepares the deposits of an emergency summary: a fresh key encrypts
 * @p summary (phr_crypto_encrypt_buf), the key is split @p t of @p n, each
 * share sealed to its holder, the manifest and each deposit signed with
 * @p owner_sk (the key of the patient's owner: the patient's own key, or the
 * key that replaced it after a recovery).
 * @param[in]  patient  the patient id, or NULL for the address of @p owner_sk
 * @param[out] deposits new JSON array of {url, holder, body} (body: the PUT text)
 * @param[out] cid      the summary ciphertext's CID (raw codec), may be NULL
 * @param[in]  webhook_url, secret optional webhook every holder registers for
 *             the patient (NULL / 0 for none)
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_TOO_LARGE, PHR_ERR_CRYPTO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_emergency_prepare(json_t **deposits, char cid[PHR_CID_STR_MAX],
				  const uint8_t owner_sk[32], const uint8_t *patient,
				  const uint8_t *summary, size_t len,
				  unsigned t, const struct phr_escrow_holder *holders, size_t n,
				  const char *webhook_url, const uint8_t *secret, size_t secret_len,
				  uint64_t now);

/**
 * A release request body for @p holder signed by the requester.
 * @param[out] body phr_malloc'd NUL-terminated text
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_emergency_release_request(char **body, const uint8_t requester_sk[32],
					  const uint8_t patient[20], const uint8_t holder[20],
					  uint64_t now);

/**
 * Combines release answers: opens each re-sealed share with the requester's
 * X25519 key (derived from @p requester_sk), keeps those whose manifest is
 * signed by @p owner and that are bound to @p patient and the manifest's
 * summary, from holders the manifest lists; needs t distinct ones, recombines
 * the key, checks the ciphertext against the manifest's CID and decrypts.
 * @param[in]  owner   the patient's owner now (PatientRegistry.ownerOfPatient),
 *                     or NULL for @p patient itself
 * @param[out] summary appended (the plaintext; the caller wipes it)
 * @param[in]  answers JSON objects as the release route returns them
 * @return PHR_OK, PHR_ERR_STATE (fewer than t usable shares), PHR_ERR_SIGNATURE
 *         (manifest not signed by the owner), PHR_ERR_CORRUPT (ciphertext
 *         does not match the CID), PHR_ERR_TAMPERED (wrong key: a bad share),
 *         PHR_ERR_PARSE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_emergency_combine(struct phr_buf *summary, const uint8_t requester_sk[32],
				  const uint8_t patient[20], const uint8_t *owner,
				  json_t *const *answers, size_t n);

/* --- the escrow holder's node ------------------------------------------------- */

/**
 * The node's escrow identity: loads DIR/escrow.key or creates it (0600), and
 * hosts it as PHR_ESCROW_IDENTITY.
 * @param[out] id borrowed, valid while the node is open
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_CORRUPT (bad key file), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_escrow_holder_identity(struct phr_node *node, const struct phr_identity **id);

/**
 * Accepts a deposit for @p patient: parses it, checks it is addressed to this
 * holder, that the signer is the patient's owner on chain
 * (PatientRegistry.ownerOfPatient), that the sealed share opens with this
 * holder's key and is bound to the manifest; keeps it (replacing an older
 * manifest; an older or equal createdAt is refused), stores the ciphertext,
 * and registers the deposit's webhooks for the patient (notify.h).
 * @return PHR_OK, PHR_ERR_FORBIDDEN (signer is not the owner, or not for
 *         this holder), PHR_ERR_CONFLICT (not newer), parse errors, chain and
 *         DB errors.
 */
PHR_WUR int phr_escrow_deposit(struct phr_node *node, const uint8_t patient[20], const char *body,
			       size_t len);

/**
 * Releases this holder's share of @p patient to a requester: checks the
 * request (signature, holder, timestamp within PHR_ESCROW_REQUEST_SKEW of
 * the node's clock), then ON CHAIN EmergencyAccess.isActive(patient,
 * requester) (session open, unexpired, requester still a verified emergency
 * provider), opens the share and re-seals it to the requester's registered
 * X25519 key (PatientRegistry.patientInfo). Every attempt, released or
 * refused, is written to the node's escrow log; a release notifies the
 * patient ("emergency", phr_notify).
 * @param[out] out the answer (new reference)
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no escrow for the patient),
 *         PHR_ERR_FORBIDDEN (no active break-glass session), PHR_ERR_EXPIRED
 *         (stale request), PHR_ERR_UNAUTHENTICATED (bad signature),
 *         PHR_ERR_INVALID, chain and DB errors.
 */
PHR_WUR int phr_escrow_release(struct phr_node *node, json_t **out, const uint8_t patient[20],
			       const char *body, size_t len);

/**
 * What this holder keeps for @p patient: {manifest, manifestSignature,
 * storedAt, releases:[{time, requester, released, reason}]}.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_escrow_status(struct phr_node *node, json_t **out, const uint8_t patient[20]);

#ifdef __cplusplus
}
#endif

#endif
