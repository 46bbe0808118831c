/*
 * Internals of the chain module shared by db.c, node*.c, txpool.c, rpc_eth.c.
 */
#ifndef PHR_CHAIN_INT_H
#define PHR_CHAIN_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "phr/chain.h"
#include "phr/state.h"
#include "phr/tx.h"

/* ---- SQLite layer (db.c) ---- */

enum db_stmt {
	DB_META_GET,
	DB_META_PUT,
	DB_ACCOUNT_GET,
	DB_ACCOUNT_PUT,
	DB_ACCOUNT_DEL,
	DB_ACCOUNT_ALL,
	DB_STORAGE_GET,
	DB_STORAGE_PUT,
	DB_STORAGE_DEL,
	DB_STORAGE_DEL_ALL,
	DB_STORAGE_OF,
	DB_CODE_GET,
	DB_CODE_PUT,
	DB_BLOCK_PUT,
	DB_BLOCK_BY_NUMBER,
	DB_BLOCK_BY_HASH,
	DB_TX_PUT,
	DB_TX_GET,
	DB_TX_OF_BLOCK,
	DB_RECEIPT_GET_OLD,
	DB_RECEIPT_GET,
	DB_LOG_PUT,
	DB_LOGS_OF_TX,
	DB_UNDO_PUT,
	DB_SLOG_PUT,
	DB_SLOG_ALL,
	DB_SLOG_CLEAR,
	DB_STMT_COUNT
};

/* A storage slot written by a block but not yet into the storage table. */
struct db_pslot {
	uint8_t addr[20];
	uint8_t slot[32];
	uint8_t val[32]; /* zero: deleted */
	bool used;
};

struct chain_db {
	sqlite3 *db;
	sqlite3_stmt *st[DB_STMT_COUNT];
	/* undo log for evm_revert: on while snapshots exist */
	bool undo;
	uint64_t undo_block, undo_seq; /* undo_block: the block being written */
	/* storage writes behind (see db_write_changes): the slots of the blocks
	 * logged in table slog since the last flush, by (address, slot) */
	struct db_pslot *pend;
	size_t pend_cap, pend_used;
	size_t flush_slots; /* flush past this many (PHR_CHAIN_FLUSH_SLOTS: tests) */
};

/** An account as stored. */
struct db_account {
	uint64_t nonce;
	struct phr_u256 balance;
	uint8_t code_hash[32];
	uint8_t storage_root[32];
};

/* CPU time of the calling thread, ns */
uint64_t chain_thread_ns(void);

int db_open(struct chain_db *db, const char *path);
void db_close(struct chain_db *db);
int db_exec(struct chain_db *db, const char *sql);
int db_begin(struct chain_db *db);
int db_commit(struct chain_db *db);
void db_rollback(struct chain_db *db);

int db_meta_get(struct chain_db *db, struct phr_buf *out, const char *key);
int db_meta_get_u64(struct chain_db *db, uint64_t *v, const char *key);
int db_meta_put(struct chain_db *db, const char *key, const void *val, size_t n);
int db_meta_put_u64(struct chain_db *db, const char *key, uint64_t v);

int db_account_get(struct chain_db *db, struct db_account *a, const uint8_t addr[20]);
int db_account_put(struct chain_db *db, const uint8_t addr[20], const struct db_account *a);
int db_account_del(struct chain_db *db, const uint8_t addr[20]);
int db_storage_get(struct chain_db *db, uint8_t val[32], const uint8_t addr[20],
		   const uint8_t slot[32]);
/* a zero value deletes the slot */
int db_storage_put(struct chain_db *db, const uint8_t addr[20], const uint8_t slot[32],
		   const uint8_t val[32]);
int db_storage_del_all(struct chain_db *db, const uint8_t addr[20]);
int db_code_get(struct chain_db *db, struct phr_buf *out, const uint8_t hash[32]);
int db_code_put(struct chain_db *db, const uint8_t hash[32], const uint8_t *code, size_t n);

int db_block_put(struct chain_db *db, uint64_t number, const uint8_t hash[32],
		 const uint8_t *header, size_t n);
/* header RLP of a block into out (appended), its hash into hash (may be NULL) */
int db_block_by_number(struct chain_db *db, struct phr_buf *out, uint8_t *hash, uint64_t number);
int db_block_number_of(struct chain_db *db, uint64_t *number, const uint8_t hash[32]);

/* a mined transaction with its receipt's own fields (@p r; its logs go in
 * with db_logs_put) */
int db_tx_put(struct chain_db *db, const uint8_t hash[32], uint64_t block, uint64_t idx,
	      const uint8_t *raw, size_t n, const uint8_t sender[20],
	      const struct phr_chain_receipt *r);
int db_tx_get(struct chain_db *db, struct phr_buf *raw, uint64_t *block, uint64_t *idx,
	      uint8_t sender[20], const uint8_t hash[32]);

/* hashes of the transactions of a block in order (new array, phr_free) */
int db_block_tx_hashes(struct chain_db *db, uint8_t (**hashes)[32], size_t *count, uint64_t number);
/* the logs of a receipt */
int db_logs_put(struct chain_db *db, const struct phr_chain_receipt *r);
int db_receipt_get(struct chain_db *db, struct phr_chain_receipt *r, const uint8_t hash[32]);

/* the state backend on this database (load on miss, enumerate for the root) */
void db_state_backend(struct phr_state_backend *be, struct chain_db *db);
/* evm_revert: undoes the state changes of blocks after @p block and deletes
 * those blocks (inside the caller's transaction) */
int db_undo_to(struct chain_db *db, uint64_t block);
/* writes a change set of phr_state_commit (inside the caller's transaction);
 * with db->undo set, records what it overwrites under db->undo_block */
int db_write_changes(struct chain_db *db, const struct phr_state_changes *c);
/* writes the slots behind into the storage table (inside the caller's
 * transaction) and empties the log */
int db_storage_flush(struct chain_db *db);
/* re-reads the slots behind from the log (after a rolled-back flush) */
int db_pending_reload(struct chain_db *db);
int db_log_from_row(struct phr_chain_log *l, sqlite3_stmt *s);
int db_logs_push(struct phr_chain_log **logs, size_t *count, size_t *cap,
		 const struct phr_chain_log *l);

/* ---- the eth_call memo (callmemo.c; every call under the node's lock) ---- */

struct phr_st_readset;
struct chain_memo;

/** The key of a memoized call (all borrowed). */
struct memo_key {
	const uint8_t *from; /* 20 bytes */
	const uint8_t *to;   /* 20 bytes */
	struct phr_u256 value;
	uint64_t gas;
	const uint8_t *data;
	size_t data_len;
};

/* a node's memo: 32768 entries (a call and its read set each, 328 bytes of
 * table), their call data, outputs and read sets under 24 MiB in all; an
 * access check reads ~2 calls per record, so a working set of ~10,000
 * records fits */
#define CHAIN_MEMO_ENTRIES 32768
#define CHAIN_MEMO_BUDGET (24u << 20)

int chain_memo_open(struct chain_memo **m, size_t entries, size_t budget);
/* heap bytes the entries hold (at most the budget) */
size_t chain_memo_bytes(const struct chain_memo *m);
void chain_memo_close(struct chain_memo *m);
/* drops every entry (the state was replaced or may be unsound) */
void chain_memo_clear(struct chain_memo *m);
/* the state's on_commit hook: @p addr changed */
void chain_memo_bump(void *m, const uint8_t addr[20]);
void chain_memo_enable(struct chain_memo *m, bool on);
bool chain_memo_on(const struct chain_memo *m);
void chain_memo_stats(const struct chain_memo *m, uint64_t *hits, uint64_t *misses);
/* PHR_OK: a valid entry for @p k under block values @p now (*status and the
 * output appended to @p out; *made_at, if not NULL, the head block the
 * entry's execution ran on: the answer depends on no later block);
 * PHR_ERR_NOT_FOUND; PHR_ERR_NOMEM */
int chain_memo_get(struct chain_memo *m, int *status, struct phr_buf *out, uint64_t *made_at,
		   const struct memo_key *k, const struct phr_state_block *now);
/* remembers an outcome (success or revert) with what its execution read */
void chain_memo_put(struct chain_memo *m, const struct memo_key *k,
		    const struct phr_st_readset *rs, const struct phr_state_block *blk, int status,
		    const uint8_t *output, size_t output_len);

/* ---- the node (node.c, genesis.c, txpool in node.c) ---- */

/** A transaction waiting in the pool. */
struct pool_tx {
	struct phr_tx tx;
	uint8_t hash[32];
	uint8_t sender[20];
	uint8_t *raw;
	size_t raw_len;
};

enum filter_kind { FILTER_LOGS, FILTER_BLOCKS, FILTER_PENDING };

struct chain_filter {
	uint64_t id;
	enum filter_kind kind;
	uint64_t next_block; /* first block not yet reported */
	json_t *criteria;    /* eth_newFilter object (owned) */
};

#define CHAIN_DEV_ACCOUNTS 10
#define CHAIN_DEV_MNEMONIC "test test test test test test test test test test test junk"

struct phr_chain_node {
	pthread_mutex_t lock;
	struct chain_db db;
	struct phr_state *state;
	uint64_t chain_id;
	uint64_t gas_limit;
	uint64_t block_time;
	struct phr_chain_header head;
	uint8_t head_hash[32];
	struct pool_tx *pool;
	size_t pool_n, pool_cap;
	uint8_t *dev_keys; /* sodium_malloc'd CHAIN_DEV_ACCOUNTS * 32 bytes */
	uint8_t dev_addrs[CHAIN_DEV_ACCOUNTS][20];
	size_t dev_count;
	int64_t time_offset;     /* evm_increaseTime */
	uint64_t next_timestamp; /* evm_setNextBlockTimestamp, 0 = none */
	uint64_t last_seal_ms;   /* wall clock of the last interval block */
	struct chain_filter *filters;
	size_t filters_n;
	uint64_t next_filter_id;
	bool broken; /* a block failed to persist: refuse writes */
	/* group commit: blocks are written into an open SQLite transaction and
	 * committed by the last request to leave (see phr_chain_node_guard) */
	bool txn_open;
	uint64_t sealed_seq, durable_seq;
	/* a COMMIT runs outside the lock (see phr_chain_node_guard): set while it
	 * does; commit_mu is held by the committer from before it drops the lock
	 * until its COMMIT (or ROLLBACK) is done, and taken by the next BEGIN */
	bool committing;
	pthread_mutex_t commit_mu;
	bool commit_failed; /* under commit_mu: no block may be written after it */
	uint64_t durable_number; /* the head block at the last commit */
	int durable_waiters;     /* threads waiting in phr_chain_node_guard's exit */
	/* CPU time of the sealing and the commits (thread CPU clock), logged at
	 * close: where a node's chain time goes */
	struct {
		uint64_t blocks, seal_ns, commits, commit_ns;
	} stats;
	int waiters; /* threads queued on lock (atomic) */
	pthread_cond_t durable_cv;
	/* evm_snapshot: id -> head number at the time */
	struct {
		uint64_t id, block;
	} snaps[64];
	size_t snaps_n;
	uint64_t next_snap_id;
	/* memo of eth_call results (callmemo.c) */
	struct chain_memo *memo;
};

/* installs the memo's commit hook on a (new) state of the node */
void chain_memo_attach(struct phr_chain_node *n, struct phr_state *st);

/* genesis.c: builds block 0 of a new chain (state, block, metadata) */
int chain_genesis(struct phr_chain_node *n, const struct phr_chain_config *cfg);
/* node.c */
int chain_header_get(struct phr_chain_node *n, struct phr_chain_header *h, uint8_t hash[32],
		     uint64_t number);
/* resolves a block reference to a number (PHR_ERR_NOT_FOUND when unknown) */
int chain_block_resolve(struct phr_chain_node *n, uint64_t *number,
			const struct phr_rpc_block_ref *ref);
/* the block values of the block after the head (eth_call, estimates, sealing) */
void chain_next_block_env(struct phr_chain_node *n, struct phr_state_block *blk,
			  struct phr_chain_header *h);
/* writes a block (header, state changes, txs, receipts) in one SQLite
 * transaction and makes it the head; fills receipts' block hash */
int chain_persist(struct phr_chain_node *n, uint8_t hash[32], const struct phr_chain_header *h,
		  const struct phr_state_changes *changes, const struct pool_tx *txs,
		  struct phr_chain_receipt *receipts, size_t count);
/* commits the open block transaction (fsync); wakes the waiters */
int chain_sync(struct phr_chain_node *n);
/* leaves the guard as phr_chain_node_guard(n, false) does, for an answer
 * that depends on no block after @p need: waits only until that one is
 * durable (0 or -1 as the guard) */
int chain_guard_leave(struct phr_chain_node *n, uint64_t need);
/* evm_revert: back to block @p number (state, blocks, pool) */
int chain_revert(struct phr_chain_node *n, uint64_t number);
/* seals one block with what the pool can execute (possibly empty) */
int chain_seal(struct phr_chain_node *n);
/* takes a signed raw transaction into the pool (automine: seals it) */
int chain_submit(struct phr_chain_node *n, uint8_t hash[32], struct phr_rpc_error *err,
		 const uint8_t *raw, size_t raw_len);
/* filter.c: JSON of a log; the methods of the filter family */
json_t *chain_log_json(const struct phr_chain_log *l);
int chain_rpc_get_logs(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params);
int chain_rpc_new_filter(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params);
int chain_rpc_new_block_filter(void *ctx, json_t **result, struct phr_rpc_error *err,
			       json_t *params);
int chain_rpc_new_pending_filter(void *ctx, json_t **result, struct phr_rpc_error *err,
				 json_t *params);
int chain_rpc_filter_changes(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params);
int chain_rpc_filter_logs(void *ctx, json_t **result, struct phr_rpc_error *err, json_t *params);
int chain_rpc_uninstall_filter(void *ctx, json_t **result, struct phr_rpc_error *err,
			       json_t *params);
/* the next nonce of addr counting the pool */
int chain_pending_nonce(struct phr_chain_node *n, uint64_t *nonce, const uint8_t addr[20]);
/* the pool entry with this hash or NULL */
const struct pool_tx *chain_pool_find(struct phr_chain_node *n, const uint8_t hash[32]);

#endif
