/**
 * @file phr.h
 * @brief The phr domain (module `phr`): deployment of the contracts,
 *        identities, and the two flows of seed §6 over a chain and a store.
 *
 * A `struct phr_node` ties together one chain handle (chain.h, embedded or
 * remote), one store (store.h), the addresses of the deployed contracts and
 * a small local database (DIR/phr.db: key-capsule index and the node's own
 * log of denied attempts). Identities are key holders hosted by this node:
 * each has a secp256k1 account key (it signs the transactions) and an X25519
 * key pair derived from it (it opens key capsules).
 *
 * Every access decision is the chain's (PatientRegistry.canAccess) at the
 * moment of the request: on the embedded chain the node asks accessUntil and
 * compares it with the time a call runs at (blockTimestamp), so the chain's
 * call memo can keep the answer until a grant, session, provider or record
 * changes (docs/node.md); nothing else is cached.
 *
 * Thread safety: every phr_node_* call takes the node's lock, so a node may
 * be shared by the threads of an HTTP server (calls are serialised).
 */
#ifndef PHR_PHR_H
#define PHR_PHR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/chain.h"
#include "phr/core.h"
#include "phr/store.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Access levels (PhrTypes.sol AccessLevel). */
enum phr_level { PHR_LEVEL_NONE = 0, PHR_LEVEL_READ = 1, PHR_LEVEL_WRITE = 2, PHR_LEVEL_ADMIN = 3 };

/** Audit actions (PhrTypes.sol AuditAction). */
enum phr_audit_action {
	PHR_AUDIT_VIEW = 0, PHR_AUDIT_CREATE, PHR_AUDIT_UPDATE, PHR_AUDIT_SHARE,
	PHR_AUDIT_EMERGENCY, PHR_AUDIT_REVOKE, PHR_AUDIT_ERASE, PHR_AUDIT_RECOVER
};

/** Largest record type code (PhrTypes.sol RecordType: General .. EmergencySummary). */
#define PHR_RECORD_TYPE_MAX 9u
/** Largest purpose code (PhrTypes.sol Purpose: Unspecified .. Legal). */
#define PHR_PURPOSE_MAX 7u
/** Provider role bits of ProviderRegistry. */
#define PHR_ROLE_PROVIDER 1u
#define PHR_ROLE_EMERGENCY 2u
/** Largest record accepted by phr_node_record_submit. */
#define PHR_RECORD_MAX ((size_t)64 << 20)

/** Addresses of a deployment (DIR/deployment.json). */
struct phr_deployment {
	uint64_t chain_id;
	uint8_t governance[20]; /**< governance of ProviderRegistry (a key on dev chains) */
	uint8_t providers[20];  /**< ProviderRegistry */
	uint8_t registry[20];   /**< PatientRegistry */
	uint8_t audit[20];      /**< AuditTrail */
	uint8_t nft[20];        /**< HealthRecordNFT */
	uint8_t emergency[20];  /**< EmergencyAccess */
	uint8_t recovery[20];   /**< Recovery */
	uint8_t studies[20];    /**< StudyRegistry (zero in deployments made before it existed) */
	uint8_t credentials[20]; /**< CredentialRegistry (ZK credentials; zero in older deployments) */
	uint8_t zk_provider_verifier[20]; /**< ProviderCredentialVerifier (likewise) */
	uint8_t zk_age_verifier[20]; /**< AgeCredentialVerifier (likewise) */
	uint8_t research[20];    /**< ResearchAccess (likewise) */
	uint8_t erasure[20];     /**< ErasureRegistry (likewise; include/phr/compliance.h) */
	uint8_t zk_trial_verifier[20]; /**< TrialEnrolmentVerifier (ZK trial enrolment; likewise) */
	uint8_t trials[20];      /**< TrialRegistry (likewise; include/phr/groth16.h) */
};

/**
 * Deploys and wires the contracts (ProviderRegistry, PatientRegistry,
 * AuditTrail, HealthRecordNFT, EmergencyAccess, Recovery) from the artifacts
 * in @p artifacts_dir, in the order of docs/contracts.md. The deployer's
 * address becomes the governance of ProviderRegistry.
 * @param[out] d           filled on success
 * @param[in]  chain       the chain (borrowed)
 * @param[in]  deployer_sk funded secp256k1 key (borrowed, not retained)
 * @param[in]  artifacts_dir directory holding <Name>.json artifacts
 * @return PHR_OK, PHR_ERR_NOT_FOUND (artifact), PHR_ERR_PARSE, PHR_ERR_REVERTED,
 *         chain transport errors, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_deployment_deploy(struct phr_deployment *d, struct phr_chain *chain,
				  const uint8_t deployer_sk[32], const char *artifacts_dir);

/** Writes @p d as JSON to @p path (atomic). @return PHR_OK, PHR_ERR_IO, PHR_ERR_NOMEM. */
PHR_WUR int phr_deployment_save(const struct phr_deployment *d, const char *path);

/**
 * Reads a deployment file.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_PARSE (missing or bad field), PHR_ERR_IO.
 */
PHR_WUR int phr_deployment_load(struct phr_deployment *d, const char *path);

/** Reads a deployment from its JSON object (as phr_deployment_json writes it). @return PHR_OK or PHR_ERR_PARSE. */
PHR_WUR int phr_deployment_from_json(struct phr_deployment *d, const json_t *j);

/** @return a new JSON object of @p d (NULL on NOMEM). */
json_t *phr_deployment_json(const struct phr_deployment *d);

/** An identity hosted by a node (opaque secrets, public fields readable). */
struct phr_identity {
	char name[32];          /**< local label, e.g. "patient" */
	uint8_t address[20];    /**< account address */
	uint8_t box_pk[32];     /**< X25519 public key (derived from the account key) */
	uint8_t *seckey;        /**< 32 bytes, sodium_malloc */
	uint8_t *box_sk;        /**< 32 bytes, sodium_malloc */
};

/**
 * Creates an identity from an account key. The X25519 key pair is derived:
 * seed = keccak256("phr/x25519/v1" || seckey).
 * @param[out] id new identity (phr_identity_free)
 * @return PHR_OK, PHR_ERR_INVALID (bad key or name over 31 bytes), PHR_ERR_NOMEM, PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_identity_new(struct phr_identity **id, const char *name, const uint8_t seckey[32]);

/**
 * Loads an identity from a Web3 v3 keystore file.
 * @return as phr_identity_new, PHR_ERR_NOT_FOUND, PHR_ERR_PASSWORD, PHR_ERR_PARSE.
 */
PHR_WUR int phr_identity_load(struct phr_identity **id, const char *name, const char *keystore_path,
			      const char *password);

/** Wipes and frees. NULL is a no-op. */
void phr_identity_free(struct phr_identity *id);

/** The domain context of one node (opaque). */
struct phr_node;

/**
 * Opens the domain over @p chain and @p store (both borrowed; they must
 * outlive the node) with the local database in @p datadir/phr.db and the
 * chain index in @p datadir/index.db (resumed from its cursor; nothing is
 * read from the chain here).
 * @return PHR_OK, PHR_ERR_DB, PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_node_open(struct phr_node **node, struct phr_chain *chain, struct phr_store *store,
			  const struct phr_deployment *d, const char *datadir);

/** Closes the node and frees the identities it holds. NULL is a no-op. */
void phr_node_close(struct phr_node *node);

/** @return the deployment the node uses (valid while the node is open). */
const struct phr_deployment *phr_node_deployment(const struct phr_node *node);

/** @return the chain handle (borrowed). */
struct phr_chain *phr_node_chain(struct phr_node *node);
/** @return the store (borrowed). */
struct phr_store *phr_node_store(struct phr_node *node);

/**
 * Adds a peer node (its base URL, e.g. "http://127.0.0.1:8080"). When a
 * record's ciphertext or a key capsule is not in the local store, the node
 * asks its peers: the capsule's CID from GET /api/v1/records/{id}/capsules/{reader},
 * the blocks through their trustless gateways (verified against their CIDs).
 * Peers also come from DIR/peers (one URL per line, read at each lookup).
 * @return PHR_OK, PHR_ERR_INVALID (not http(s)://), PHR_ERR_NOMEM (too many peers).
 */
PHR_WUR int phr_node_add_peer(struct phr_node *node, const char *url);

/**
 * The CID of the key capsule of @p record for @p reader in this node's
 * index (no lock taken; safe to call from any thread).
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_DB.
 */
PHR_WUR int phr_node_capsule_lookup(struct phr_node *node, char cid[PHR_CID_STR_MAX],
				    const struct phr_u256 *record, const uint8_t reader[20]);

/**
 * Stores a key capsule made by the patient's (or the minting provider's) own
 * client — the data key of @p record sealed to @p reader's X25519 key, 80
 * bytes — and indexes it. Only the record's patient or the provider that
 * minted it may add capsules; the node cannot check what a capsule holds,
 * only the reader can open it.
 * @param[out] cid the capsule's CID (text)
 * @return PHR_OK, PHR_ERR_FORBIDDEN (@p uploader is neither),
 *         PHR_ERR_NOT_FOUND (no live record), store and chain errors.
 */
PHR_WUR int phr_node_capsule_add(struct phr_node *node, char cid[PHR_CID_STR_MAX],
				 const uint8_t uploader[20], const struct phr_u256 *record,
				 const uint8_t reader[20], const uint8_t capsule[80]);

/**
 * Hands an identity to the node (the node frees it).
 * @return PHR_OK, PHR_ERR_EXISTS (same address or name), PHR_ERR_NOMEM (id freed).
 */
PHR_WUR int phr_node_add_identity(struct phr_node *node, struct phr_identity *id);

/** @return the hosted identity with this address, or NULL. Valid while the node is open. */
const struct phr_identity *phr_node_identity(struct phr_node *node, const uint8_t address[20]);
/** @return the hosted identity with this name, or NULL. */
const struct phr_identity *phr_node_identity_by_name(struct phr_node *node, const char *name);

/**
 * Advances chain time by @p seconds and mines a block (evm_increaseTime +
 * evm_mine; works on the embedded chain and on anvil). For tests and --dev.
 */
PHR_WUR int phr_node_advance_time(struct phr_node *node, uint64_t seconds);

/** The chain's latest block timestamp. */
PHR_WUR int phr_node_chain_time(struct phr_node *node, uint64_t *t);

/* --- registries ---------------------------------------------------------- */

/**
 * PatientRegistry.register with the identity's X25519 public key (every
 * identity registers: the registry is the directory of encryption keys).
 * @return PHR_OK, PHR_ERR_EXISTS (already registered), chain errors.
 */
PHR_WUR int phr_node_register(struct phr_node *node, const struct phr_identity *who);

/** ProviderRegistry.setAuthority(authority, true), sent by the governance key @p gov. */
PHR_WUR int phr_node_appoint_authority(struct phr_node *node, const struct phr_identity *gov,
				       const uint8_t authority[20]);

/**
 * ProviderRegistry.verifyProvider sent by the credentialing authority @p auth.
 * @param roles PHR_ROLE_PROVIDER and/or PHR_ROLE_EMERGENCY
 */
PHR_WUR int phr_node_verify_provider(struct phr_node *node, const struct phr_identity *auth,
				     const uint8_t provider[20], unsigned roles,
				     uint64_t licence_expiry);

/** Roles of an address as seen on chain (bit set of enum phr_role_bits). */
enum phr_role_bits {
	PHR_R_PATIENT = 1u << 0,   /**< registered in PatientRegistry as its own patient */
	PHR_R_PROVIDER = 1u << 1,  /**< verified provider */
	PHR_R_EMERGENCY = 1u << 2, /**< verified emergency provider */
	PHR_R_AUTHORITY = 1u << 3, /**< credentialing authority */
	PHR_R_GOVERNANCE = 1u << 4 /**< governance of ProviderRegistry (operator) */
};

/** Reads the roles of @p addr from the registries. */
PHR_WUR int phr_node_roles(struct phr_node *node, unsigned *roles, const uint8_t addr[20]);

/* --- records (seed §6.1) -------------------------------------------------- */

/** What phr_node_record_submit produced. */
struct phr_record_receipt {
	struct phr_u256 token_id;
	char cid[PHR_CID_STR_MAX];   /**< CID of the ciphertext */
	uint8_t data_hash[32];       /**< keccak256(salt || plaintext), on chain */
};

/**
 * Provider-to-patient flow: fresh data key; the envelope (32-byte salt ||
 * plaintext) encrypted into the store; key capsules for the patient's
 * registered X25519 key and for the provider's own; the record token minted
 * to the patient with the CID and keccak256(salt || plaintext) (the chain
 * logs Create, or Update when @p supersedes is non-zero).
 * @param[in] provider   hosted identity that signs (must hold Write)
 * @param[in] patient    patient id
 * @param[in] rtype      record type 0..PHR_RECORD_TYPE_MAX
 * @param[in] supersedes token amended, or NULL / zero for a new record
 * @return PHR_OK, PHR_ERR_FORBIDDEN (no Write / not verified), PHR_ERR_NOT_FOUND
 *         (patient not registered), PHR_ERR_INVALID, PHR_ERR_TOO_LARGE, store
 *         and chain errors.
 */
PHR_WUR int phr_node_record_submit(struct phr_node *node, struct phr_record_receipt *out,
				   const struct phr_identity *provider, const uint8_t patient[20],
				   unsigned rtype, const struct phr_u256 *supersedes,
				   const uint8_t *data, size_t len);

/** Largest record phr_node_record_submit_fd takes (a DICOM study, a long document). */
#define PHR_RECORD_STREAM_MAX ((uint64_t)4 << 30)

/**
 * phr_node_record_submit reading the plaintext from @p fd (to its end) instead
 * of memory: streamed through an anonymous memory file into the encrypted
 * store, for records up to PHR_RECORD_STREAM_MAX (large DICOM files). The
 * caller's fd is read, not closed.
 * @return as phr_node_record_submit; PHR_ERR_IO (read error).
 */
PHR_WUR int phr_node_record_submit_fd(struct phr_node *node, struct phr_record_receipt *out,
				      const struct phr_identity *provider, const uint8_t patient[20],
				      unsigned rtype, const struct phr_u256 *supersedes, int fd);

/**
 * The access decision: PatientRegistry.canAccess(accessor, patient-of-record,
 * record, level) at the time a call runs at (on the embedded chain from
 * accessUntil and blockTimestamp, which give the same answer).
 * @param[out] patient the record's patient (may be NULL)
 * @return PHR_OK (see *@p allowed), PHR_ERR_NOT_FOUND (no live record), chain errors.
 */
PHR_WUR int phr_node_can_access(struct phr_node *node, bool *allowed, uint8_t patient[20],
				const uint8_t accessor[20], const struct phr_u256 *record,
				enum phr_level level);

/**
 * canAccess(accessor, patient, 0, level): access to the patient as a whole
 * (grants on all records, the owner, an open emergency session for Read).
 */
PHR_WUR int phr_node_can_access_patient(struct phr_node *node, bool *allowed,
					const uint8_t accessor[20], const uint8_t patient[20],
					enum phr_level level);

/** A record as returned to a reader: metadata, ciphertext CID and the reader's capsule. */
struct phr_record_meta {
	struct phr_u256 token_id;
	uint8_t patient[20];
	uint8_t provider[20];
	unsigned rtype;
	uint64_t created_at;
	struct phr_u256 supersedes, superseded_by;
	uint8_t data_hash[32];
	char cid[PHR_CID_STR_MAX];
	bool has_capsule;
	char capsule_cid[PHR_CID_STR_MAX]; /**< the reader's key capsule */
};

/**
 * The on-chain fields of a live record token (HealthRecordNFT.recordOf), no
 * access check and no audit (they are public). has_capsule is false.
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no live token), chain errors.
 */
PHR_WUR int phr_node_record_meta(struct phr_node *node, struct phr_record_meta *meta,
				 const struct phr_u256 *record);

/**
 * getRecord: checks canAccess(reader, …, Read) on chain; on a denial writes
 * the attempt to the node's local audit log and returns PHR_ERR_FORBIDDEN.
 * When allowed, finds (or, when the patient is hosted here, creates) the
 * reader's key capsule and logs View on chain (AuditTrail.logAccess, signed
 * by the reader) with @p purpose.
 * @return PHR_OK, PHR_ERR_FORBIDDEN, PHR_ERR_NOT_FOUND, chain errors.
 */
PHR_WUR int phr_node_record_open(struct phr_node *node, struct phr_record_meta *meta,
				 const struct phr_identity *reader, const struct phr_u256 *record,
				 unsigned purpose);

/**
 * getRecord for a reader whose keys this node does not hold: the reader has
 * logged View itself (AuditTrail.logAccess, signed in its own keystore) in
 * transaction @p audit_tx. The node checks that the transaction succeeded,
 * was sent by @p reader, carries an AuditLogged(patient, record, reader, View)
 * log, lies within the last 256 blocks and was not used before; then
 * canAccess(reader, …, Read) as always, and finds the reader's capsule
 * (local, peers, or made by a hosted patient).
 * @return as phr_node_record_open; PHR_ERR_UNAUTHENTICATED (the transaction
 *         does not prove the View), PHR_ERR_CONFLICT (already used).
 */
PHR_WUR int phr_node_record_open_audited(struct phr_node *node, struct phr_record_meta *meta,
					 const uint8_t reader[20], const struct phr_u256 *record,
					 const uint8_t audit_tx[32]);

/**
 * Signs (legacy EIP-155) and sends a call to @p to, waits for the receipt and
 * checks its status; a call that would revert is refused first (eth_call) with
 * the contract's custom error mapped to a phr_err. What the CLI uses to act
 * from the caller's own keystore.
 * @param[out] r receipt (may be NULL; release with phr_chain_receipt_release)
 */
PHR_WUR int phr_node_tx_send(struct phr_chain *chain, uint64_t chain_id,
			     struct phr_chain_receipt *r, const uint8_t seckey[32],
			     const uint8_t to[20], const uint8_t *data, size_t len);

/** The X25519 key pair of an account key (the derivation of phr_identity_new). */
PHR_WUR int phr_identity_box_keys(uint8_t pk[32], uint8_t sk[32], const uint8_t seckey[32]);

/**
 * phr_node_record_open, then opens the reader's capsule, decrypts the
 * ciphertext and checks keccak256(salt || plaintext) against the chain.
 * @param[out] plaintext appended; on error it may hold nothing useful (reset)
 * @return as phr_node_record_open, PHR_ERR_TAMPERED, PHR_ERR_CORRUPT (hash mismatch).
 */
PHR_WUR int phr_node_record_read(struct phr_node *node, struct phr_buf *plaintext,
				 struct phr_record_meta *meta, const struct phr_identity *reader,
				 const struct phr_u256 *record, unsigned purpose);

/** One record of phr_node_records_read. */
struct phr_record_read {
	const struct phr_u256 *record; /**< the token (the caller's, kept until the call returns) */
	unsigned purpose;              /**< purpose of use of its View */
	struct phr_buf *plaintext;     /**< appended to (the caller's buffer, initialised) */
	/**
	 * NULL, or a patient for whom the caller found during this same request that the reader
	 * may read every record (canAccess(reader, patient, 0, Read) true, e.g. a search's
	 * access filter): the access decision of this record when the chain says it is that
	 * patient's (no further call). Never a decision kept from an earlier request.
	 */
	const uint8_t *granted;
	int result;                    /**< out: as phr_node_record_read of this record alone */
};

/**
 * phr_node_record_read of @p count records by one hosted @p reader, together:
 * each record's access is checked (items[i].granted when the record is
 * that patient's; else one canAccess(reader, patient, 0, Read) per patient of
 * several records stands for the per-record calls when it is true; otherwise
 * each record is asked), the Views of all the allowed ones
 * are queued at once in the reader's group commit and the caller waits once
 * until every View is on chain (AuditTrail.logViews checks each entry again);
 * only then is anything decrypted. A record's failure is its own: denied,
 * missing or refused records get their error in items[i].result (and in the
 * denials log) while the others are read. The fields of recordOf that never
 * change are kept from earlier reads (whether the token still lives is
 * checked in the request: by canAccess of the record, or by logViews): a
 * token burnt since it was last read here is PHR_ERR_FORBIDDEN once (its
 * View refused on chain), then PHR_ERR_NOT_FOUND.
 * @param items the records; each result set; a plaintext holds the record
 *        only when its result is PHR_OK (wipe it when done)
 * @return PHR_OK (per-record results in @p items) or PHR_ERR_NOMEM (nothing
 *         read; results of records not read are set).
 */
PHR_WUR int phr_node_records_read(struct phr_node *node, struct phr_record_read *items, size_t count,
				  const struct phr_identity *reader);

/**
 * Records of a patient (RecordMinted logs, live or burnt), as a JSON array of
 * objects {id, patient, provider, type, cid, dataHash, supersedes, block}.
 */
PHR_WUR int phr_node_records_list(struct phr_node *node, json_t **out, const uint8_t patient[20]);

/* --- access (seed §6.2) --------------------------------------------------- */

/** Scope helpers (docs/contracts.md): all records, one category, one record. */
void phr_scope_all(uint8_t scope[32]);
void phr_scope_category(uint8_t scope[32], unsigned rtype);
void phr_scope_record(uint8_t scope[32], const struct phr_u256 *token_id);

/**
 * Patient grants @p level on @p scope to @p provider until @p expiry (unix
 * time), then wraps the data keys of every live record in the scope to the
 * provider's registered X25519 key (capsules in the store, indexed locally).
 * @return PHR_OK, PHR_ERR_FORBIDDEN (not verified / not owner), PHR_ERR_INVALID, chain errors.
 */
PHR_WUR int phr_node_access_grant(struct phr_node *node, const struct phr_identity *patient,
				  const uint8_t provider[20], enum phr_level level,
				  const uint8_t scope[32], uint64_t expiry);

/**
 * As phr_node_access_grant, but for @p patient_id, signed by @p signer: the
 * patient's owner, or an Admin delegate (a verified provider with an active
 * Admin grant on all records, which may grant Read or Write only). Keys are
 * wrapped only when the signer is the patient itself.
 */
PHR_WUR int phr_node_access_grant_for(struct phr_node *node, const struct phr_identity *signer,
				      const uint8_t patient_id[20], const uint8_t provider[20],
				      enum phr_level level, const uint8_t scope[32], uint64_t expiry);

/** PatientRegistry.revokeAccess by the patient. */
PHR_WUR int phr_node_access_revoke(struct phr_node *node, const struct phr_identity *patient,
				   const uint8_t provider[20], const uint8_t scope[32]);

/** Provider's PatientRegistry.requestAccess. @param[out] id the request id */
PHR_WUR int phr_node_access_request(struct phr_node *node, struct phr_u256 *id,
				    const struct phr_identity *provider, const uint8_t patient[20],
				    unsigned purpose, uint64_t duration, enum phr_level level,
				    const uint8_t scope[32]);

/** Patient answers request @p id (approve also wraps keys as phr_node_access_grant). */
PHR_WUR int phr_node_access_answer(struct phr_node *node, const struct phr_identity *patient,
				   const struct phr_u256 *id, bool approve);

/**
 * Grants of a patient: JSON array of {provider, scope, level, expiry, grantor,
 * active} (current state from grantOf for every pair seen in AccessGranted logs).
 */
PHR_WUR int phr_node_grants_list(struct phr_node *node, json_t **out, const uint8_t patient[20]);

/** Requests addressed to a patient: JSON array of {id, provider, level, scope, purpose, duration, status, expiresAt}. */
PHR_WUR int phr_node_requests_list(struct phr_node *node, json_t **out, const uint8_t patient[20]);

/* --- emergency (seed §8) --------------------------------------------------- */

/**
 * Break-glass: EmergencyAccess.openEmergencyAccess(patient, reason_code,
 * keccak256(reason)) signed by a verified emergency provider. The session
 * gives Read on all the patient's records for 24 hours (canAccess), notifies
 * the patient's owner and contacts (events) and is audited (Emergency). The
 * reason text itself stays off chain (only its hash). Key capsules for the
 * records are made by the patient's node when it hosts the patient.
 * @param[out] expires_at end of the session (unix time)
 * @return PHR_OK, PHR_ERR_FORBIDDEN (not a verified emergency provider),
 *         PHR_ERR_CONFLICT (a session is open), PHR_ERR_NOT_FOUND, PHR_ERR_INVALID.
 */
PHR_WUR int phr_node_emergency_open(struct phr_node *node, uint64_t *expires_at,
				    const struct phr_identity *provider, const uint8_t patient[20],
				    unsigned reason_code, const char *reason);

/** Closes a session (the patient's owner or the provider). */
PHR_WUR int phr_node_emergency_close(struct phr_node *node, const struct phr_identity *signer,
				     const uint8_t patient[20], const uint8_t provider[20]);

/* --- audit ---------------------------------------------------------------- */

/**
 * The audit trail of a patient (AuditLogged logs, checked against the on-chain
 * hash-chain head), optionally only the entries of @p record (NULL: all).
 * JSON array of {seq, recordId, accessor, action, purpose, time, head, block}.
 * Reads again (up to 4 times) when another writer appends between the logs and
 * the head; PHR_ERR_STATE when it keeps changing.
 * @return PHR_OK, PHR_ERR_CORRUPT (the logs do not fold to headOf or countOf), PHR_ERR_STATE, chain errors.
 */
PHR_WUR int phr_node_audit_list(struct phr_node *node, json_t **out, const uint8_t patient[20],
				const struct phr_u256 *record);

/**
 * Denied attempts this node refused (local log, never on chain): JSON array
 * of {time, accessor, patient, recordId, reason}. @p patient NULL: all.
 */
PHR_WUR int phr_node_denials_list(struct phr_node *node, json_t **out, const uint8_t *patient);

/** @return the static name of an action ("View", ...) or "?" */
const char *phr_audit_action_name(unsigned action);

/* --- chain index ------------------------------------------------------------ */

/*
 * The node's lists (records of a patient, grants, requests, audit trail) are
 * answered from an index of the deployed contracts' logs in DIR/index.db
 * (SQLite, WAL) instead of eth_getLogs per request. The index keeps a cursor
 * (last block number and hash); before answering a list the node catches the
 * index up to the chain head, so a caller sees its own confirmed writes.
 * When the cursor's hash is no longer the chain's hash at that height
 * (another chain, a reorg), the index is rebuilt from block 0.
 */

/** Where the index stands. */
struct phr_index_status {
	uint64_t block;    /**< last block indexed (0 with @c empty) */
	uint8_t hash[32];  /**< its hash */
	bool empty;        /**< nothing indexed yet */
	uint64_t logs;     /**< log entries held */
	uint64_t fetched;  /**< logs copied from the chain since the node was opened */
	uint64_t rebuilds; /**< wipes since the node was opened (hash mismatch or reindex) */
	bool healthy;      /**< the last catch-up reached the chain */
};

/**
 * Catches the index up to the chain head (what every list does first).
 * @return PHR_OK, chain transport errors (PHR_ERR_NETWORK... : the index is
 *         left as it was and /healthz reports the node unhealthy), PHR_ERR_DB.
 */
PHR_WUR int phr_node_index_sync(struct phr_node *node);

/**
 * Rebuilds the index from the chain from scratch (`phr node reindex`): wipes
 * it, then catches up from block 0.
 * @return as phr_node_index_sync.
 */
PHR_WUR int phr_node_reindex(struct phr_node *node);

/** Fills @p st with the cursor and counters (no chain access). */
void phr_node_index_status(struct phr_node *node, struct phr_index_status *st);

/**
 * Turns the index off (lists read eth_getLogs on every request, as before the
 * indexer: the reference the tests and benchmarks compare with) or back on.
 */
void phr_node_index_enable(struct phr_node *node, bool on);

/* --- development setup ---------------------------------------------------- */

/** The demo identities of `phr node --dev`, keys from the dev mnemonic
 *  ("test test ... junk") at these account indices. */
#define PHR_DEV_IDENTITIES                                                                     \
	X(operator, 0) X(authority, 1) X(provider, 2) X(patient, 3) X(emergency, 4)            \
	X(auditor, 5) X(clinic, 6)

/** Password of the demo keystores written by phr_dev_setup. */
#define PHR_DEV_PASSWORD "dev"

/**
 * Development setup, idempotent: hosts the demo identities (PHR_DEV_IDENTITIES)
 * on @p node, writes their keystores to @p keys_dir (when non-NULL and
 * missing), appoints the authority, verifies the provider, the clinic and
 * the emergency provider (licences valid one year), registers everybody's
 * X25519 key, and with @p seed, when the patient has no records yet, seeds
 * the demo: the patient grants the provider Write (30 days); the provider
 * submits a vaccination, a lab result and an imaging file; the patient grants
 * the emergency provider Read (1 day), who reads the lab result.
 * @return PHR_OK or the first error.
 */
PHR_WUR int phr_dev_setup(struct phr_node *node, const char *keys_dir, bool seed);

#ifdef __cplusplus
}
#endif
#endif /* PHR_PHR_H */
