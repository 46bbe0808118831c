/**
 * @file backup.h
 * @brief Cold-storage backups of a patient's records (issue 8 part 4): a
 *        bundle is one CARv1 file holding the patient's encrypted records
 *        and key capsules plus a manifest signed by the patient's owner;
 *        verification proves a bundle restores completely without writing;
 *        restore puts it into a fresh node's store and capsule index; a
 *        verification job checks the node's pinned blocks and the latest
 *        bundle on a schedule.
 *
 * Bundle layout ("phr-backup/1", docs/recovery.md):
 *  - a CARv1 whose single root is the envelope block (raw codec, sha2-256):
 *    the JSON {"manifest":{...},"signature":"0x<65 bytes>"} where the
 *    signature is EIP-191 personal_sign by manifest.signer over the compact,
 *    key-sorted serialisation of manifest;
 *  - manifest: {"format":"phr-backup/1","patient","signer","chainId",
 *    "registry","nft","createdAt","records":[{"id","type","provider","cid",
 *    "dataHash","capsules":[{"reader","cid"}]}]};
 *  - then every block of every record's ciphertext DAG and every capsule
 *    block, each once. Nothing else: a block that no record needs is an error.
 *
 * Nothing in a bundle is plaintext: ciphertext, capsules sealed to readers'
 * X25519 keys, addresses, CIDs and salted hashes (as on chain).
 */
#ifndef PHR_BACKUP_H
#define PHR_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Format tag of the manifest. */
#define PHR_BACKUP_FORMAT "phr-backup/1"
/** Largest bundle read (bytes). */
#define PHR_BACKUP_MAX ((uint64_t)4 << 30)
/** Most records, and capsules per record, in one manifest. */
#define PHR_BACKUP_MAX_RECORDS 100000u
#define PHR_BACKUP_MAX_CAPSULES 64u
/** Largest envelope block (manifest + signature). */
#define PHR_BACKUP_ENVELOPE_MAX ((size_t)64 << 20)

/** What a create, verify or restore found. */
struct phr_backup_report {
	uint8_t patient[20];     /**< manifest.patient */
	uint8_t signer[20];      /**< manifest.signer (the signature's recovered address) */
	uint64_t chain_id;       /**< manifest.chainId */
	uint64_t created_at;     /**< manifest.createdAt */
	size_t records;          /**< records in the manifest */
	size_t capsules;         /**< capsules in the manifest */
	size_t blocks;           /**< blocks in the CAR (without the envelope) */
	uint64_t bytes;          /**< bytes of those blocks */
	size_t opened;           /**< verify with a key: records decrypted and hash-checked */
	size_t restored;         /**< restore: records re-indexed (live on chain) */
	size_t skipped;          /**< restore: records no longer live on chain (burnt) */
	char problem[160];       /**< on failure, what was wrong (never secret) */
};

/**
 * Writes a bundle of every live record of @p patient that this node holds
 * (ciphertext DAGs and every indexed capsule) to @p fd, signed by @p signer,
 * who must be the patient's current owner.
 * @param[out] rep counts (may be NULL)
 * @return PHR_OK, PHR_ERR_FORBIDDEN (signer is not the owner), PHR_ERR_NOT_FOUND
 *         (a record's blocks or its patient capsule are missing here), PHR_ERR_IO,
 *         store and chain errors.
 */
PHR_WUR int phr_node_backup_create(struct phr_node *node, struct phr_backup_report *rep,
				   const struct phr_identity *signer, const uint8_t patient[20],
				   int fd);

/** A parsed bundle (opaque). */
struct phr_backup;

/**
 * Parses a bundle held in memory: the CAR (every block checked against its
 * CID), the envelope and the manifest. Outside input: strict and bounded.
 * @param[out] b new handle (phr_backup_free); borrows nothing from @p data
 * @param[out] rep if non-NULL, problem set on failure
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TRUNCATED, PHR_ERR_CORRUPT (a block
 *         not matching its CID, duplicate blocks), PHR_ERR_UNSUPPORTED (other
 *         format), PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_backup_parse(struct phr_backup **b, struct phr_backup_report *rep,
			     const uint8_t *data, size_t len);

/** Frees a parsed bundle (NULL is a no-op). */
void phr_backup_free(struct phr_backup *b);

/**
 * Proves that a parsed bundle restores completely, writing nothing: the
 * manifest signature recovers manifest.signer; every record's DAG is
 * complete in the bundle; every capsule is an 80-byte block; no block is
 * left over. With @p box_sk (the X25519 key pair of a reader, normally the
 * patient), also opens that reader's capsule of every record, decrypts the
 * ciphertext and checks keccak256(salt || plaintext) against dataHash.
 * @param[in] box_pk,box_sk NULL, or the key pair (secret borrowed, not kept)
 * @param[in] reader        the address whose capsules to open (with a key)
 * @return PHR_OK, PHR_ERR_SIGNATURE, PHR_ERR_NOT_FOUND (a block or capsule
 *         missing), PHR_ERR_CORRUPT (extra or malformed blocks, hash mismatch),
 *         PHR_ERR_TAMPERED (a capsule or ciphertext that does not open).
 */
PHR_WUR int phr_backup_verify(struct phr_backup *b, struct phr_backup_report *rep,
			      const uint8_t *reader, const uint8_t *box_pk, const uint8_t *box_sk);

/**
 * Reads a bundle file (at most PHR_BACKUP_MAX bytes), parses and verifies it.
 * @return as phr_backup_parse and phr_backup_verify, PHR_ERR_NOT_FOUND, PHR_ERR_IO.
 */
PHR_WUR int phr_backup_verify_file(struct phr_backup_report *rep, const char *path,
				   const uint8_t *reader, const uint8_t *box_pk,
				   const uint8_t *box_sk);

/**
 * Restores a bundle file into @p node: verifies it (without a key), checks
 * that it is for this node's deployment (chain id, registry, nft) and signed
 * by the patient id or the patient's current owner (the capsule index comes
 * from the manifest), stores
 * every block (verified again), pins every record and capsule, and indexes
 * the capsules of every record still live on chain whose on-chain CID is the
 * manifest's.
 * @return as phr_backup_verify_file, PHR_ERR_CONFLICT (other deployment, or
 *         a record whose on-chain CID differs), PHR_ERR_FORBIDDEN (other signer),
 *         store and chain errors.
 */
PHR_WUR int phr_node_backup_restore(struct phr_node *node, struct phr_backup_report *rep,
				    const char *path);

/* --- verification job -------------------------------------------------------- */

/** Result of the latest verification pass. */
struct phr_backup_job_status {
	uint64_t runs;           /**< passes done */
	uint64_t last_run;       /**< unix time of the last pass (0: never) */
	uint64_t blocks_checked; /**< blocks read and hashed in the last pass */
	uint64_t failures;       /**< corrupt blocks + broken pins + failed bundle in the last pass */
	bool backup_checked;     /**< a latest bundle was found and verified */
	bool backup_ok;          /**< it verified */
	char backup_path[512];   /**< the bundle checked ("" when none) */
	char problem[160];       /**< the last problem found */
};

/**
 * Remembers @p path as the node's latest bundle (DIR/backups/latest, a
 * one-line file), the one the verification job checks.
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_INVALID (path too long).
 */
PHR_WUR int phr_node_backup_set_latest(struct phr_node *node, const char *path);

/**
 * One verification pass: every block of the store against its CID and every
 * pinned DAG for completeness (phr_store_verify), and the latest bundle with
 * phr_backup_verify_file (no key). The result is kept for
 * phr_node_backup_job_status.
 * @param[out] st the result (may be NULL)
 * @return PHR_OK when all is sound, PHR_ERR_CORRUPT when something failed, PHR_ERR_IO.
 */
PHR_WUR int phr_node_backup_check(struct phr_node *node, struct phr_backup_job_status *st);

/**
 * Starts a thread running phr_node_backup_check every @p interval seconds
 * (the first pass at once). One job per node; call phr_node_backup_job_stop
 * before phr_node_close.
 * @return PHR_OK, PHR_ERR_INVALID (interval 0), PHR_ERR_EXISTS (running),
 *         PHR_ERR_NOMEM, PHR_ERR_INTERNAL (thread).
 */
PHR_WUR int phr_node_backup_job_start(struct phr_node *node, unsigned interval);

/** Stops and joins the job of @p node (no-op when none). */
void phr_node_backup_job_stop(struct phr_node *node);

/** The result of the latest pass (zeros before the first). */
void phr_node_backup_job_status(struct phr_node *node, struct phr_backup_job_status *st);

/**
 * Appends the job's Prometheus gauges (phr_backup_verify_last_run_seconds,
 * phr_backup_verify_blocks_checked, phr_backup_verify_failures,
 * phr_backup_verify_bundle_ok) to @p out, for /metrics.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_node_backup_metrics(struct phr_node *node, struct phr_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* PHR_BACKUP_H */
