/*
 * Concurrency of the node's chain writes (txq.c): nonces handed out per
 * sender (transactions in flight together), and the View
 * audit entries of concurrent reads by one reader are grouped into one
 * AuditTrail.logViews transaction (group commit: a read returns only when its
 * entry is on chain).
 */
#ifndef PHR_TXQ_H
#define PHR_TXQ_H

#include "phr_int.h"

/** Creates the node's queue state, with its own connection to @p db_path (DIR/phr.db). */
int phr_txq_i_open(struct phr_txq **q, const char *db_path);

/**
 * The connection of the lock-free paths (capsule index, denials, used audit
 * transactions): single statements that must not join a transaction another
 * part of the node holds open on the node's own connection (n->db).
 */
sqlite3 *phr_txq_i_db(struct phr_txq *q);
/** The statements of the per-request paths, prepared once on phr_txq_i_db's connection. */
enum phr_txq_sql {
	PHR_TXQ_SQL_CAPSULE_GET,  /* SELECT cid FROM capsules WHERE record = ?1 AND reader = ?2 */
	PHR_TXQ_SQL_DENY,         /* INSERT INTO denials(time, accessor, patient, record, reason) */
	PHR_TXQ_SQL_AUDIT_TX,     /* INSERT INTO audit_tx(hash) VALUES(?1) */
	PHR_TXQ_SQL_COUNT
};

/**
 * The cached statement @p which, for the calling thread alone until phr_txq_i_stmt_done
 * (one user at a time: the connection is shared). Prepared on first use.
 * @return the statement (bindings clear), or NULL (could not be prepared; nothing held).
 */
sqlite3_stmt *phr_txq_i_stmt(struct phr_txq *q, enum phr_txq_sql which);
/** Resets @p which, clears its bindings and lets the next thread have it. */
void phr_txq_i_stmt_done(struct phr_txq *q, enum phr_txq_sql which);

/**
 * The fields of recordOf(@p id) that do not change while the token lives (all of @p m but
 * superseded_by, which is zero, and the capsule fields), as phr_txq_i_meta_put kept them.
 * Whether the token still lives is not known from it: the caller has it checked in the
 * request (canAccess of the record, or AuditTrail.logViews of its View).
 * @return true when found.
 */
bool phr_txq_i_meta_get(struct phr_txq *q, struct phr_record_meta *m, const struct phr_u256 *id);
/** Keeps what recordOf said of the live token m->token_id (replacing another in its slot). */
void phr_txq_i_meta_put(struct phr_txq *q, const struct phr_record_meta *m);
/** Forgets token @p id (burnt, or refused by the chain). */
void phr_txq_i_meta_drop(struct phr_txq *q, const struct phr_u256 *id);
/**
 * Keeps what recordOf will say of the @p count records just minted by @p provider in block
 * @p number (@p m: token_id, patient, rtype, supersedes, data_hash and cid as minted; the
 * creation time is that block's timestamp, asked of the chain once): so the first read of a
 * record this node minted needs no recordOf call. Nothing is kept when the block cannot be
 * read (a read then asks recordOf, as for any record).
 */
void phr_txq_i_meta_minted(struct phr_node *n, uint64_t number, const uint8_t provider[20],
			   struct phr_record_meta *m, size_t count);

/** Frees it; no thread may be inside. NULL is a no-op. */
void phr_txq_i_close(struct phr_txq *q);

/**
 * The next nonce of @p sender: the larger of the chain's pending nonce and the
 * one after the last taken here, so that several transactions of one sender
 * can be in flight (the chain mines a later nonce once the gap is filled).
 */
int phr_txq_i_nonce_take(struct phr_txq *q, uint64_t *nonce, struct phr_chain *c,
			 const uint8_t sender[20]);
/** Forgets the nonces taken for @p sender (after a rejected transaction). */
void phr_txq_i_nonce_reset(struct phr_txq *q, const uint8_t sender[20]);

/**
 * A gas limit for a call of @p data to @p to, from the most gas a transaction of the same kind
 * (contract and 4-byte selector) used before, scaled up for longer calldata, plus a quarter
 * and 20,000; 0 when no such transaction was seen (or the guess is over 15 M gas). Only a
 * guess: the caller checks it with an eth_call at that gas before using it.
 */
uint64_t phr_txq_i_gas_guess(struct phr_txq *q, const uint8_t to[20], const uint8_t *data,
			     size_t len);
/** Records that a transaction of @p len bytes of @p data to @p to used @p used gas. */
void phr_txq_i_gas_learn(struct phr_txq *q, const uint8_t to[20], const uint8_t *data, size_t len,
			 uint64_t used);

/**
 * phr_node_i_tx without the eth_call that checks a gas guess (txq's guess from earlier
 * transactions of the same kind, when there is one): one EVM run less per transaction. A
 * transaction mined and reverted (a call refused since the reader's checks, or a guess short
 * of gas) is sent again on the checked path, which maps the contract's error (PHR_ERR_FORBIDDEN
 * ...) or estimates the gas; nothing is acknowledged before a successful receipt.
 * @return as phr_node_i_tx.
 */
int phr_node_i_tx_guessed(struct phr_node *n, struct phr_chain_receipt *r,
			  const struct phr_identity *who, const uint8_t to[20],
			  const struct phr_buf *calldata);

/**
 * eth_call of @p calldata to @p to from @p from with txq's gas guess for that kind of call
 * (phr_txq_i_gas_guess) as its gas: when it runs through, a transaction of the same call
 * sent by phr_node_i_tx_guessed right after gets at least that gas (guesses only grow) and
 * the execution this call had.
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no guess yet), or the chain's error (a revert, out of
 *         gas at the guess: the caller asks again without the guess to learn why).
 */
PHR_WUR int phr_node_i_call_guessed(struct phr_node *n, const uint8_t from[20], const uint8_t to[20],
				    const struct phr_buf *calldata);

/** phr_store_add_capsule (concurrent callers are fine: pins are, their syncs grouped). */
int phr_node_i_add_capsule(struct phr_node *n, struct phr_cid *cid, const uint8_t pk[32],
			   const uint8_t *key);

/* HealthRecordNFT.mintRecords: most records per call, bytes of an entry before its CID
 * (patient, dataHash, type, supersedes, CID length), longest CID. */
#define PHR_NODE_MINT_BATCH_MAX 32
#define PHR_NODE_MINT_HEAD 86
#define PHR_NODE_MINT_CID_MAX 128

/**
 * Appends one mintRecords entry to @p out (@p cap bytes, @p off used; advanced).
 * @return PHR_OK, PHR_ERR_INVALID (CID empty or over 128 bytes, type over 255) or
 *         PHR_ERR_TOO_LARGE (no room).
 */
int phr_node_i_mint_pack(uint8_t *out, size_t cap, size_t *off, const uint8_t patient[20],
			 const uint8_t hash[32], unsigned rtype, const struct phr_u256 *supersedes,
			 const char *cid);

/**
 * The token ids of the RecordMinted events of @p nft in @p r, in order, into @p ids.
 * @return PHR_OK when there are exactly @p want, else PHR_ERR_PARSE.
 */
int phr_node_i_minted_ids(struct phr_u256 *ids, size_t want, const struct phr_chain_receipt *r,
			  const uint8_t nft[20]);

/**
 * HealthRecordNFT.mintRecord(@p patient, @p hash, @p cid, @p rtype, @p supersedes) signed by
 * the hosted @p provider, grouped with the concurrent mints of that provider into one
 * mintRecords transaction; returns once the token is on chain, its id in @p token_id.
 * @return PHR_OK, or the error of this record's mint (a refused group is retried record by
 *         record, so another record's refusal is not this one's error).
 */
int phr_node_i_mint(struct phr_node *n, struct phr_u256 *token_id,
		    const struct phr_identity *provider, const uint8_t patient[20],
		    const uint8_t hash[32], const char *cid, unsigned rtype,
		    const struct phr_u256 *supersedes);

/**
 * Logs View of @p record of @p patient by the hosted @p reader with
 * @p purpose: grouped with the Views of concurrent reads by the same reader
 * in one AuditTrail.logViews transaction (logAccess when alone). Returns when
 * the entry is on chain, or with the error of its own entry.
 * @return PHR_OK, PHR_ERR_FORBIDDEN (the contract refused this entry), chain errors.
 */
int phr_node_i_log_view(struct phr_node *n, const struct phr_identity *reader,
			const uint8_t patient[20], const struct phr_u256 *record, unsigned purpose);

/**
 * Announces that a read by the hosted @p reader is on its way to
 * phr_node_i_log_view_announced (@p begin true), or that it ended before (false: its
 * access check failed). A leader of that reader's group waits for announced entries (at
 * most 2 ms, and only while some are announced) so that concurrent reads share one
 * transaction instead of trailing into the next. Every announcement is matched by exactly
 * one withdrawal or one phr_node_i_log_view_announced.
 */
void phr_node_i_view_announce(struct phr_node *n, const uint8_t reader[20], bool begin);
/** phr_node_i_log_view of an announced read (counts it as arrived). */
int phr_node_i_log_view_announced(struct phr_node *n, const struct phr_identity *reader,
				  const uint8_t patient[20], const struct phr_u256 *record,
				  unsigned purpose);
/** phr_node_i_view_announce of @p k reads at once. */
void phr_node_i_views_announce(struct phr_node *n, const uint8_t reader[20], bool begin, size_t k);

/** One View entry of phr_node_i_log_views_announced. */
struct phr_node_view {
	const uint8_t *patient;        /* 20 bytes */
	const struct phr_u256 *record;
	unsigned purpose;
	int result;                    /* out: as phr_node_i_log_view */
};

/**
 * phr_node_i_log_view_announced of @p k announced reads by the hosted @p reader at once:
 * their entries are queued together (in one group unless it fills up) and the caller
 * waits once, until every entry is on chain or has its own error in v[i].result.
 * @return PHR_OK (results in @p v) or PHR_ERR_NOMEM (nothing logged; the announcements
 *         are withdrawn).
 */
PHR_WUR int phr_node_i_log_views_announced(struct phr_node *n, const struct phr_identity *reader,
					   struct phr_node_view *v, size_t k);
/** The same for a submission by @p provider on its way to phr_node_i_mint_announced. */
void phr_node_i_mint_announce(struct phr_node *n, const uint8_t provider[20], bool begin);
/**
 * phr_node_i_mint of an announced submission, which also indexes its capsules for the patient
 * (@p cap_patient) and for the provider (@p cap_provider) once the token is on chain: the rows
 * of the whole group in one commit. @return as phr_node_i_mint, or PHR_ERR_DB (the rows could
 * not be written).
 */
int phr_node_i_mint_announced(struct phr_node *n, struct phr_u256 *token_id,
			      const struct phr_identity *provider, const uint8_t patient[20],
			      const uint8_t hash[32], const char *cid, unsigned rtype,
			      const struct phr_u256 *supersedes, const char *cap_patient,
			      const char *cap_provider);

#endif
