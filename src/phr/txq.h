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

/** phr_store_add_capsule (concurrent callers are fine: pins are, their syncs grouped). */
int phr_node_i_add_capsule(struct phr_node *n, struct phr_cid *cid, const uint8_t pk[32],
			   const uint8_t *key);

/**
 * Logs View of @p record of @p patient by the hosted @p reader with
 * @p purpose: grouped with the Views of concurrent reads by the same reader
 * in one AuditTrail.logViews transaction (logAccess when alone). Returns when
 * the entry is on chain, or with the error of its own entry.
 * @return PHR_OK, PHR_ERR_FORBIDDEN (the contract refused this entry), chain errors.
 */
int phr_node_i_log_view(struct phr_node *n, const struct phr_identity *reader,
			const uint8_t patient[20], const struct phr_u256 *record, unsigned purpose);

/** phr_node_i_capsule_put of one or (with @p reader2 non-NULL) two capsules in one commit. */
int phr_node_i_capsule_put2(struct phr_node *n, const struct phr_u256 *record,
			    const uint8_t reader[20], const char *cid, const uint8_t *reader2,
			    const char *cid2);

#endif
