/*
 * Internals shared by the files of the phr domain module.
 */
#ifndef PHR_PHR_INT_H
#define PHR_PHR_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "phr/chain.h"
#include "phr/phr.h"

#define PHR_NODE_MAX_IDS 64
#define PHR_NODE_MAX_PEERS 16

struct phr_index;
struct phr_txq;

struct phr_node {
	pthread_mutex_t lock;
	struct phr_chain *chain;
	struct phr_store *store;
	struct phr_deployment dep;
	sqlite3 *db;
	struct phr_identity *ids[PHR_NODE_MAX_IDS];
	size_t n_ids;
	char datadir[512];
	char *peers[PHR_NODE_MAX_PEERS];
	size_t n_peers;
	struct phr_index *index; /* chain index (indexer.c, index_int.h) */
	bool index_off;          /* lists read eth_getLogs instead */
	struct phr_txq *txq;     /* sender and pin locks, View batching (txq.c, txq.h) */
	/* notifications (outbox.c) */
	bool notify_schema;                 /* tables created */
	unsigned notify_backoff, notify_backoff_max; /* retry delays, seconds */
	bool notify_running;                /* delivery thread started */
	pthread_t notify_thread;
	atomic_int notify_stop, notify_kick;
};

/** Maps a phr custom error name (revert) to a phr_err. */
int phr_node_i_revert_err(const uint8_t *data, size_t n);

/**
 * Signs and sends a legacy EIP-155 transaction from @p sk to @p to (NULL: a
 * creation), waits for its receipt and checks its status. A call that would
 * revert is refused before sending (eth_call), with the custom error mapped.
 * @param[out] r receipt (may be NULL); release with phr_chain_receipt_release
 */
int phr_node_i_send(struct phr_chain *c, uint64_t chain_id, struct phr_chain_receipt *r,
		    const uint8_t sk[32], const uint8_t *to, const uint8_t *data, size_t len);

/** eth_call from @p from (may be NULL) to @p to; output in @p out (reset first). */
int phr_node_i_call(struct phr_node *n, struct phr_buf *out, const uint8_t *from,
		    const uint8_t to[20], const struct phr_buf *calldata);

/**
 * Fields of block @p number (eth_getBlockByNumber): its hash into @p hash and its timestamp
 * into @p timestamp (each may be NULL).
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no such block), PHR_ERR_PARSE, chain errors.
 */
int phr_node_i_block_fields(struct phr_chain *c, uint64_t number, uint8_t hash[32], uint64_t *timestamp);

/** phr_node_i_send for a hosted identity. */
int phr_node_i_tx(struct phr_node *n, struct phr_chain_receipt *r, const struct phr_identity *who,
		  const uint8_t to[20], const struct phr_buf *calldata);

/** eth_getLogs on one contract with topic0 and optional topic1/topic2 (NULL: any). */
int phr_node_i_logs(struct phr_node *n, struct phr_chain_log **logs, size_t *count,
		    const uint8_t addr[20], const uint8_t topic0[32], const uint8_t *topic1,
		    const uint8_t *topic2);

/**
 * The record envelope salt || @p data (a fresh 32-byte salt) in an anonymous memory
 * file at offset 0, and keccak256(salt || data) in @p hash (records.c). Close it with
 * phr_node_i_envelope_close, which wipes the plaintext copy. @return PHR_OK, PHR_ERR_IO.
 */
int phr_node_i_envelope(int *fd, uint8_t hash[32], const uint8_t *data, size_t len);
void phr_node_i_envelope_close(int fd);

/** Address as a 32-byte topic. */
void phr_node_i_addr_topic(uint8_t topic[32], const uint8_t addr[20]);

/** JSON helpers: checksummed address, decimal u256, 0x hex. NULL on NOMEM. */
json_t *phr_node_i_jaddr(const uint8_t addr[20]);
json_t *phr_node_i_ju256(const struct phr_u256 *v);
json_t *phr_node_i_jhex(const uint8_t *p, size_t n);

/** Capsule index. */
int phr_node_i_capsule_put(struct phr_node *n, const struct phr_u256 *record,
			   const uint8_t reader[20], const char *cid);
int phr_node_i_capsule_get(struct phr_node *n, char cid[PHR_CID_STR_MAX],
			   const struct phr_u256 *record, const uint8_t reader[20]);

/** A row of the capsule index. */
struct phr_node_capsule_row {
	const struct phr_u256 *record;
	const uint8_t *reader; /* 20 bytes */
	const char *cid;
};
#define PHR_NODE_CAPSULE_ROWS_MAX 64
/**
 * Indexes @p count capsules (at most PHR_NODE_CAPSULE_ROWS_MAX) in one statement: one commit
 * for all of them. @return PHR_OK, PHR_ERR_TOO_LARGE, PHR_ERR_DB (none indexed).
 */
int phr_node_i_capsule_put_rows(struct phr_node *n, const struct phr_node_capsule_row *rows,
				size_t count);
/** Wraps the data key of @p record (opened with the patient's capsule) to @p reader_pk. */
int phr_node_i_share_record(struct phr_node *n, const struct phr_identity *patient,
			    const struct phr_u256 *record, const uint8_t reader[20],
			    const uint8_t reader_pk[32]);
/** A local denial entry. */
void phr_node_i_deny(struct phr_node *n, const uint8_t accessor[20], const uint8_t patient[20],
		     const struct phr_u256 *record, const char *reason);
/** Registered X25519 key of @p who (patientInfo). */
int phr_node_i_enc_key(struct phr_node *n, uint8_t pk[32], const uint8_t who[20]);

/** Finds the capsule of @p record for @p reader at a peer, fetches it, indexes it. */
int phr_node_i_peer_capsule(struct phr_node *n, char cid[PHR_CID_STR_MAX],
			    const struct phr_u256 *record, const uint8_t reader[20]);
/** Makes sure the DAG under @p root is in the store, fetching it from a peer if not. */
int phr_node_i_ensure_blocks(struct phr_node *n, const struct phr_cid *root);

struct phr_contracts_audit_trail_audit_logged_event;
/** One step of the AuditTrail hash chain (access.c): @p out = head(seq+1) from @p head and @p ev. */
void phr_node_i_audit_link(uint8_t out[32], const uint8_t head[32],
			   const struct phr_contracts_audit_trail_audit_logged_event *ev);
/** AuditTrail.headOf and countOf of @p patient (access.c). @return PHR_OK or chain errors. */
int phr_node_i_audit_head(struct phr_node *n, uint8_t head[32], uint64_t *count,
			  const uint8_t patient[20]);

#endif
