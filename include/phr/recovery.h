/**
 * @file recovery.h
 * @brief Recovery of a patient's account (seed §9, issue 8 part 3): guardians
 *        rotate the owner address on chain (Recovery.sol: M of N votes, a
 *        time lock, cancellable by the current owner), and the patient's
 *        X25519 encryption secret, backed up as Shamir shares each sealed to
 *        a backup key holder, is recovered and its records' data keys are
 *        wrapped to the new key without re-uploading any record.
 *
 * The patient id (its first address) never changes; what changes is the
 * owner address (PatientRegistry.ownerOfPatient) and, after the re-wrap, the
 * registered encryption key (patientInfo.encryptionKey).
 *
 * Key shares (JSON, "phr-recovery-share/1"), one per holder:
 *   {"format":"phr-recovery-share/1","patient":"0x..","owner":"0x..",
 *    "pk":"0x<the backed-up X25519 public key>","index":1..n,"threshold":t,
 *    "shares":n,"to":"0x<address the share is sealed to>",
 *    "toKey":"0x<its X25519 public key>","sealed":"0x<crypto_box_seal of x||y>"}
 * "owner" is the owner address when the shares were made: a holder releases
 * its share (re-sealed to the patient's currently registered key) only to
 * the current owner and only when that owner differs from "owner", i.e.
 * after a rotation (docs/recovery.md, threat model).
 *
 * Notifications: every approval, cancellation, execution and share release
 * made through a node is queued with phr_notify (kind "recovery") for the
 * patient's owner(s) and its emergency contacts. Execution is audited on
 * chain by the contract (AuditAction Recover).
 *
 * Thread safety: the phr_node_recovery_* functions take the node's lock
 * (not while notifying); the share functions have no shared state.
 */
#ifndef PHR_RECOVERY_H
#define PHR_RECOVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most guardians per patient (Recovery.MAX_GUARDIANS). */
#define PHR_RECOVERY_MAX_GUARDIANS 10
/** Most key shares per backup. */
#define PHR_RECOVERY_MAX_SHARES 16
/** Largest share document accepted (bytes of JSON). */
#define PHR_RECOVERY_SHARE_MAX 4096
/** Format tag of a share document. */
#define PHR_RECOVERY_SHARE_FORMAT "phr-recovery-share/1"

/** The recovery state of a patient as read from the chain. */
struct phr_recovery_status {
	uint8_t owner[20];                                 /**< current owner (0: unregistered) */
	uint8_t enc_key[32];                               /**< registered X25519 key */
	uint8_t guardians[PHR_RECOVERY_MAX_GUARDIANS][20]; /**< guardians */
	size_t n_guardians;                                /**< how many */
	unsigned threshold;                                /**< votes needed (0: none set) */
	uint64_t round;                                    /**< current voting round */
	bool pending;                                      /**< a rotation is scheduled */
	uint8_t pending_owner[20];                         /**< its candidate */
	uint64_t ready_at;                                 /**< when it may execute */
	uint64_t votes;                                    /**< votes of the asked candidate this round */
};

/**
 * Reads guardians, threshold, round, the scheduled rotation, the owner and
 * the registered key of @p patient; with @p candidate also its votes.
 * @param[out] st        filled on success
 * @param[in]  candidate NULL, or a candidate whose votes to read
 * @return PHR_OK, chain errors, PHR_ERR_CORRUPT (undecodable answer).
 */
PHR_WUR int phr_recovery_status_read(struct phr_chain *chain, const struct phr_deployment *d,
				     struct phr_recovery_status *st, const uint8_t patient[20],
				     const uint8_t *candidate);

/** What a recovery transaction does. */
enum phr_recovery_op {
	PHR_RECOVERY_SET_GUARDIANS = 0, /**< setGuardians (owner) */
	PHR_RECOVERY_APPROVE,           /**< approveRecovery (a guardian) */
	PHR_RECOVERY_CANCEL,            /**< cancelRecovery (owner) */
	PHR_RECOVERY_EXECUTE,           /**< executeRecovery (anyone, after the time lock) */
	PHR_RECOVERY_UPDATE_KEY         /**< PatientRegistry.updateEncryptionKey (owner) */
};

/** Arguments of a recovery transaction (unused members are ignored). */
struct phr_recovery_args {
	uint8_t patient[20];                               /**< the patient id */
	uint8_t new_owner[20];                             /**< APPROVE: the candidate */
	uint8_t guardians[PHR_RECOVERY_MAX_GUARDIANS][20]; /**< SET_GUARDIANS */
	size_t n_guardians;                                /**< SET_GUARDIANS: 1..10 */
	unsigned threshold;                                /**< SET_GUARDIANS: 1..n_guardians */
	uint8_t enc_key[32];                               /**< UPDATE_KEY: new X25519 key */
};

/**
 * Signs @p op with @p seckey and sends it (what the CLI does from a keystore;
 * no notification: the node queues those when it acts itself).
 * @return PHR_OK, PHR_ERR_INVALID (bad arguments), PHR_ERR_FORBIDDEN (not the
 *         owner / not a guardian), PHR_ERR_CONFLICT (already voted, already
 *         scheduled, candidate taken), PHR_ERR_STATE (time-locked, nothing
 *         scheduled, lapsed), chain errors.
 */
PHR_WUR int phr_recovery_send(struct phr_chain *chain, const struct phr_deployment *d,
			      const uint8_t seckey[32], enum phr_recovery_op op,
			      const struct phr_recovery_args *args);

/**
 * phr_recovery_send signed by a hosted identity, then a "recovery"
 * notification (payload {event, patient, by, newOwner?, readyAt?}) to the
 * patient's owner before and after the operation and to its emergency
 * contacts.
 * @return as phr_recovery_send.
 */
PHR_WUR int phr_node_recovery_send(struct phr_node *node, const struct phr_identity *signer,
				   enum phr_recovery_op op, const struct phr_recovery_args *args);

/* --- key shares ------------------------------------------------------------- */

/** One backup key holder: address and X25519 public key. */
struct phr_recovery_holder {
	uint8_t address[20];
	uint8_t box_pk[32];
};

/**
 * Splits the X25519 secret @p box_sk into @p n shares, any @p t of which
 * recover it, each sealed to one holder.
 * @param[out] out     new JSON array of n share documents (json_decref)
 * @param[in]  patient the patient id; @p owner its current owner
 * @return PHR_OK, PHR_ERR_INVALID (not 2 <= t <= n <= PHR_RECOVERY_MAX_SHARES,
 *         or @p box_sk not matching @p box_pk), PHR_ERR_CRYPTO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_recovery_shares_make(json_t **out, const uint8_t patient[20],
				     const uint8_t owner[20], const uint8_t box_pk[32],
				     const uint8_t box_sk[32],
				     const struct phr_recovery_holder *holders, size_t n, unsigned t);

/** A parsed share document (the sealed share stays sealed). */
struct phr_recovery_share {
	uint8_t patient[20], owner[20], pk[32], to[20], to_key[32];
	unsigned index, threshold, shares;
	uint8_t sealed[48 + 33]; /**< crypto_box_seal of the 33-byte share (x || y) */
};

/**
 * Parses and checks a share document (outside input: strict, bounded).
 * @param[out] sh untouched on error
 * @return PHR_OK, PHR_ERR_PARSE (not JSON, missing or mistyped member),
 *         PHR_ERR_UNSUPPORTED (other format), PHR_ERR_INVALID (inconsistent
 *         index/threshold/shares), PHR_ERR_TOO_LARGE (over PHR_RECOVERY_SHARE_MAX).
 */
PHR_WUR int phr_recovery_share_parse(struct phr_recovery_share *sh, const char *json, size_t len);

/** @return a new JSON document of @p sh (NULL on NOMEM). */
json_t *phr_recovery_share_json(const struct phr_recovery_share *sh);

/**
 * Opens the share sealed to (@p my_pk, @p my_sk) and seals it again to
 * @p to_pk (address @p to): what a holder does to release its share.
 * @param[out] out the re-sealed share
 * @return PHR_OK, PHR_ERR_TAMPERED (not sealed to this key, or modified),
 *         PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_recovery_share_reseal(struct phr_recovery_share *out,
				      const struct phr_recovery_share *in, const uint8_t my_pk[32],
				      const uint8_t my_sk[32], const uint8_t to[20],
				      const uint8_t to_pk[32]);

/**
 * The holder's check and release, on the chain alone: @p requester must be
 * the current owner of the share's patient and differ from the share's
 * "owner" (a rotation took place); the share is re-sealed to the patient's
 * currently registered encryption key (never to a key the requester names).
 * @param[in] holder,holder_pk,holder_sk the holder's address and key pair
 * @return as phr_node_recovery_share_release (no notification, no denial log).
 */
PHR_WUR int phr_recovery_share_release(struct phr_chain *chain, const struct phr_deployment *d,
				       struct phr_recovery_share *out, const uint8_t holder[20],
				       const uint8_t holder_pk[32], const uint8_t holder_sk[32],
				       const struct phr_recovery_share *in,
				       const uint8_t requester[20]);

/**
 * The holder's side, hosted on @p node: checks on chain that @p requester is
 * the current owner of the share's patient and differs from the share's
 * "owner" (a rotation took place), then re-seals the share to the patient's
 * currently registered encryption key, and notifies ("recovery",
 * event "share-released").
 * @param[out] out the released share (sealed to the registered key)
 * @return PHR_OK, PHR_ERR_FORBIDDEN (requester is not the owner, or no
 *         rotation happened, or the share is not @p holder's), PHR_ERR_STATE
 *         (the registered key is still the backed-up one: the new owner must
 *         register its key first), errors of phr_recovery_share_reseal, chain errors.
 */
PHR_WUR int phr_node_recovery_share_release(struct phr_node *node, struct phr_recovery_share *out,
					    const struct phr_identity *holder,
					    const struct phr_recovery_share *in,
					    const uint8_t requester[20]);

/**
 * Combines @p k released shares sealed to (@p my_pk, @p my_sk) into the
 * backed-up X25519 secret, and checks that it matches the shares' "pk".
 * @param[out] box_sk 32 bytes (sodium_malloc memory recommended); untouched on error
 * @return PHR_OK, PHR_ERR_INVALID (fewer shares than the threshold, mixed
 *         backups, duplicate indices), PHR_ERR_TAMPERED (a share not sealed to
 *         this key), PHR_ERR_CRYPTO (the combined secret does not match "pk":
 *         wrong or forged shares).
 */
PHR_WUR int phr_recovery_shares_combine(uint8_t box_sk[32], const struct phr_recovery_share *shares,
					size_t k, const uint8_t my_pk[32], const uint8_t my_sk[32]);

/**
 * After a rotation: opens every live record's capsule of @p patient with the
 * recovered old secret @p old_sk, wraps each data key to @p owner's X25519
 * key (new capsules, indexed for the patient id and the owner's address; no
 * record is re-uploaded), then registers the owner's key on chain
 * (updateEncryptionKey) if it is not registered yet. A capsule of the patient
 * id that already opens with the owner's key (a record minted after the key
 * update) is only indexed for the owner; with @p old_sk NULL that is all it
 * does (run it again after new records arrive).
 * @param[in]  old_sk    the recovered secret (borrowed), or NULL
 * @param[out] rewrapped records re-wrapped or indexed (may be NULL)
 * @param[out] failed    live records whose capsule could not be opened (may be NULL)
 * @return PHR_OK, PHR_ERR_FORBIDDEN (@p owner is not the patient's owner),
 *         PHR_ERR_CRYPTO, store and chain errors.
 */
PHR_WUR int phr_node_recovery_rewrap(struct phr_node *node, size_t *rewrapped, size_t *failed,
				     const struct phr_identity *owner, const uint8_t patient[20],
				     const uint8_t *old_sk);

/**
 * A grant by a recovered owner (whose address is not the patient id):
 * PatientRegistry.grantAccess signed by @p owner, then the data keys of the
 * records in @p scope wrapped to the provider from the owner's capsules.
 * @return as phr_node_access_grant_for.
 */
PHR_WUR int phr_node_recovery_grant(struct phr_node *node, const struct phr_identity *owner,
				    const uint8_t patient[20], const uint8_t provider[20],
				    enum phr_level level, const uint8_t scope[32], uint64_t expiry);

#ifdef __cplusplus
}
#endif
#endif /* PHR_RECOVERY_H */
