/**
 * @file chain.h
 * @brief The chain (module `chain`): block headers, receipts, logs and blooms
 *        of the Cancun fork; the embedded node (SQLite state and blocks,
 *        transaction pool, block production, JSON-RPC methods); and one
 *        `struct phr_chain` client interface with two implementations, the
 *        embedded node in-process and an external node over JSON-RPC (libcurl).
 *
 * Everything above this layer talks to a `struct phr_chain`, so it runs the
 * same against the embedded node, anvil, or any EVM network.
 *
 * Thread safety: a node serialises every operation behind one mutex; it may
 * be used from several threads. A `struct phr_chain` handle may be shared by
 * threads too (the remote one sends one request at a time on its connection).
 */
#ifndef PHR_CHAIN_H
#define PHR_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/rpc.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Headers, logs, receipts, blooms                                            */
/* ------------------------------------------------------------------------- */

/** Bytes of a logs bloom. */
#define PHR_CHAIN_BLOOM_BYTES 256
/** Largest extraData of a header. */
#define PHR_CHAIN_EXTRA_MAX 32

/** A Cancun block header (all 20 fields). */
struct phr_chain_header {
	uint8_t parent_hash[32];
	uint8_t ommers_hash[32];
	uint8_t coinbase[20];
	uint8_t state_root[32];
	uint8_t tx_root[32];
	uint8_t receipts_root[32];
	uint8_t bloom[PHR_CHAIN_BLOOM_BYTES];
	struct phr_u256 difficulty; /**< 0 after the merge */
	uint64_t number;
	uint64_t gas_limit;
	uint64_t gas_used;
	uint64_t timestamp;
	uint8_t extra[PHR_CHAIN_EXTRA_MAX];
	size_t extra_len;
	uint8_t mix_hash[32]; /**< prevRandao */
	uint8_t nonce[8];
	struct phr_u256 base_fee;
	uint8_t withdrawals_root[32];
	uint64_t blob_gas_used;
	uint64_t excess_blob_gas;
	uint8_t parent_beacon_root[32];
};

/** keccak256(rlp([])): the ommers hash of every post-merge block. */
extern const uint8_t phr_chain_empty_ommers[32];

/**
 * Appends the RLP of @p h to @p out.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_chain_header_encode(struct phr_buf *out, const struct phr_chain_header *h);

/**
 * Decodes a Cancun header (exactly 20 fields).
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_NONCANONICAL, PHR_ERR_RANGE.
 */
PHR_WUR int phr_chain_header_decode(struct phr_chain_header *h, const uint8_t *rlp, size_t n);

/** keccak256 of the header's RLP. @return PHR_OK or PHR_ERR_NOMEM. */
PHR_WUR int phr_chain_header_hash(uint8_t hash[32], const struct phr_chain_header *h);

/**
 * EIP-1559 base fee of the child of a block with these values (elasticity 2,
 * change denominator 8).
 */
void phr_chain_base_fee_next(struct phr_u256 *out, const struct phr_u256 *parent_base_fee,
			     uint64_t parent_gas_used, uint64_t parent_gas_limit);

/** One log entry. */
struct phr_chain_log {
	uint8_t address[20];
	uint8_t topics[4][32];
	size_t topics_count;
	uint8_t *data; /**< owned (phr_malloc), NULL when empty */
	size_t data_len;
	/* where it is (filled for logs read back from a chain) */
	uint8_t block_hash[32];
	uint64_t block_number;
	uint8_t tx_hash[32];
	uint64_t tx_index;
	uint64_t log_index; /**< index within the block */
	bool removed;
};

/** A transaction receipt with its context. */
struct phr_chain_receipt {
	uint8_t type; /**< 0 legacy, 1 EIP-2930, 2 EIP-1559, 3 EIP-4844 */
	bool status;  /**< true: success */
	uint64_t cumulative_gas;
	uint8_t bloom[PHR_CHAIN_BLOOM_BYTES];
	struct phr_chain_log *logs; /**< owned array */
	size_t logs_count;
	/* context */
	uint8_t tx_hash[32];
	uint8_t block_hash[32];
	uint64_t block_number;
	uint64_t tx_index;
	uint64_t gas_used;
	struct phr_u256 effective_gas_price;
	uint8_t from[20];
	bool has_to;
	uint8_t to[20];
	bool has_contract;
	uint8_t contract_address[20];
};

/** Frees the logs of @p r (and their data). */
void phr_chain_receipt_release(struct phr_chain_receipt *r);
/** Frees the data of @p n logs, then the array. */
void phr_chain_logs_free(struct phr_chain_log *logs, size_t n);

/**
 * Consensus encoding of a receipt (what the receipts root commits to):
 * rlp([status, cumulativeGas, bloom, logs]), prefixed with the type byte for
 * typed transactions.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_chain_receipt_encode(struct phr_buf *out, const struct phr_chain_receipt *r);

/* ------------------------------------------------------------------------- */
/* The embedded node                                                          */
/* ------------------------------------------------------------------------- */

/** Options of an embedded node. */
struct phr_chain_config {
	const char *datadir;      /**< directory for chain.db (created) */
	const char *genesis_path; /**< genesis JSON (geth format: config.chainId, alloc, gasLimit...), or NULL */
	bool dev;                 /**< pre-fund and hold the ten dev-mnemonic accounts */
	uint64_t chain_id;        /**< 0: from genesis, else 31337 */
	uint64_t block_time;      /**< 0: automine (one block per transaction); else seconds */
	uint64_t gas_limit;       /**< 0: 30,000,000 */
};

struct phr_chain_node;

/**
 * Opens (or creates) the chain in config->datadir. A new chain gets its
 * genesis block; an existing one resumes where it stopped (the chain id and
 * genesis of the database win over @p cfg for an existing chain).
 * @return PHR_OK, PHR_ERR_IO, PHR_ERR_DB, PHR_ERR_CORRUPT, PHR_ERR_PARSE (genesis), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_chain_node_open(struct phr_chain_node **node, const struct phr_chain_config *cfg);

/** Closes the node (the database is consistent at every block). NULL is a no-op. */
void phr_chain_node_close(struct phr_chain_node *node);

/**
 * The JSON-RPC method table of the node: pass it with the node as ctx and
 * phr_chain_node_guard as guard to phr_rpc_dispatch() or phr_rpc_server_start().
 */
extern const struct phr_rpc_method phr_chain_node_methods[];

/**
 * The guard around each request body: takes the node's lock on entry; on exit
 * makes every block sealed so far durable before the answers go out. Blocks of
 * requests that run concurrently are committed together (group commit: one
 * fsync for all of them) by the last request to leave, with the lock dropped:
 * a request that sealed a block waits for the commit while other requests go
 * on and seal the blocks of the next group.
 * @return 0, or on exit -1 when the commit failed (answers must not be sent).
 */
int phr_chain_node_guard(void *node, bool enter);

/**
 * Interval mining: seals a block with the pending transactions if the block
 * time has passed since the last one (call it often, e.g. every 100 ms; a
 * no-op under automine).
 * @return PHR_OK or a database error.
 */
PHR_WUR int phr_chain_node_tick(struct phr_chain_node *node);

/**
 * eth_call at "latest" on the node, in-process (no JSON): from @p from (NULL:
 * the zero address) to @p to with @p data and the block gas limit. Takes the
 * node's lock (phr_chain_node_guard) itself. Answered from the node's memo of
 * call results when the same call was executed before and nothing it read
 * (accounts, block values) has changed since; exactly what executing it
 * again would give. Returns once the block the answer depends on is durable
 * (a memo hit: the head its entry was executed on; else the head), without
 * waiting for blocks other requests sealed since.
 * @param[out] out return data (appended); on a revert, the revert data
 * @return PHR_OK, PHR_ERR_REVERTED (out holds the revert data), PHR_ERR_STATE
 *         (halted otherwise, invalid, internal or storage failure), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_chain_node_call(struct phr_chain_node *node, struct phr_buf *out,
				const uint8_t *from, const uint8_t to[20], const uint8_t *data,
				size_t data_len);

/**
 * eth_sendRawTransaction on the node, in-process (no JSON): takes the node's
 * lock itself; under automine the block holding the transaction is durable
 * before it returns.
 * @param[out] hash the transaction hash
 * @param[out] err  why the node rejected it (as over JSON-RPC)
 * @return PHR_OK, PHR_ERR_STATE (rejected, or a storage failure: @p err says which).
 */
PHR_WUR int phr_chain_node_send_raw(struct phr_chain_node *node, uint8_t hash[32],
				    struct phr_rpc_error *err, const uint8_t *raw, size_t raw_len);

/**
 * eth_getTransactionReceipt on the node, in-process (no JSON). Returns once
 * the receipt's block (not found: the head) is durable.
 * @param[out] r the receipt with its logs (phr_chain_receipt_release)
 * @return PHR_OK, PHR_ERR_NOT_FOUND (unknown or still pending), PHR_ERR_STATE.
 */
PHR_WUR int phr_chain_node_receipt(struct phr_chain_node *node, struct phr_chain_receipt *r,
				   const uint8_t hash[32]);

/**
 * Counters of the node's eth_call memo since it opened (eth_call through
 * phr_chain_node_call and through JSON-RPC at a block tag): answers given by
 * the memo, and calls that had to execute. Lock-free; any thread.
 */
void phr_chain_node_memo_stats(struct phr_chain_node *node, uint64_t *hits, uint64_t *misses);

/**
 * Turns the eth_call memo on (the default) or off. While off, every call
 * executes and the entries are kept (they are still invalidated by changes).
 */
void phr_chain_node_memo_enable(struct phr_chain_node *node, bool on);

/* ------------------------------------------------------------------------- */
/* The client interface                                                       */
/* ------------------------------------------------------------------------- */

/** Operations of a chain implementation. */
struct phr_chain_ops {
	/**
	 * Performs one JSON-RPC call. @p params (an array) is borrowed.
	 * On success *@p result is a new reference; on a JSON-RPC error @p err is
	 * filled and PHR_ERR_REVERTED (code 3) or PHR_ERR_STATE is returned;
	 * transport failures return PHR_ERR_NETWORK / PHR_ERR_TIMEOUT / PHR_ERR_PARSE.
	 */
	int (*request)(void *impl, json_t **result, struct phr_rpc_error *err, const char *method,
		       json_t *params);
	/** Frees the implementation. */
	void (*close)(void *impl);
};

/** A chain handle: one of the implementations below. */
struct phr_chain {
	const struct phr_chain_ops *ops;
	void *impl;
};

/**
 * A handle on an embedded node, in-process (no HTTP). The node must outlive it.
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR int phr_chain_open_embedded(struct phr_chain **chain, struct phr_chain_node *node);

/**
 * A handle on an external node over HTTP JSON-RPC (libcurl), e.g.
 * "http://127.0.0.1:8545".
 * @return PHR_OK, PHR_ERR_INVALID (URL), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_chain_open_remote(struct phr_chain **chain, const char *url);

/** Closes a handle. NULL is a no-op. */
void phr_chain_close(struct phr_chain *chain);

/**
 * Raw call: as ops->request, with @p params stolen (may be NULL for []).
 * @return as ops->request.
 */
PHR_WUR int phr_chain_request(struct phr_chain *c, json_t **result, struct phr_rpc_error *err,
			      const char *method, json_t *params);

/** eth_chainId. */
PHR_WUR int phr_chain_chain_id(struct phr_chain *c, uint64_t *id);
/** eth_blockNumber. */
PHR_WUR int phr_chain_block_number(struct phr_chain *c, uint64_t *number);
/** eth_gasPrice. */
PHR_WUR int phr_chain_gas_price(struct phr_chain *c, struct phr_u256 *price);
/** eth_getBalance at "latest". */
PHR_WUR int phr_chain_balance(struct phr_chain *c, struct phr_u256 *balance, const uint8_t addr[20]);
/** eth_getTransactionCount at "pending" (the next nonce to use). */
PHR_WUR int phr_chain_nonce(struct phr_chain *c, uint64_t *nonce, const uint8_t addr[20]);
/** eth_getCode at "latest" into @p code (appended). */
PHR_WUR int phr_chain_code(struct phr_chain *c, struct phr_buf *code, const uint8_t addr[20]);
/** eth_getStorageAt at "latest". */
PHR_WUR int phr_chain_storage(struct phr_chain *c, uint8_t value[32], const uint8_t addr[20],
			      const uint8_t slot[32]);

/**
 * eth_sendRawTransaction (on an embedded chain: phr_chain_node_send_raw).
 * @param[out] hash the transaction hash
 * @return PHR_OK, PHR_ERR_STATE (rejected: @p err says why), transport errors.
 */
PHR_WUR int phr_chain_send_raw(struct phr_chain *c, uint8_t hash[32], struct phr_rpc_error *err,
			       const uint8_t *raw, size_t raw_len);

/**
 * eth_call at "latest" from @p from (may be NULL) to @p to with @p data.
 * On an embedded chain this is phr_chain_node_call (typed, memoized).
 * @param[out] out return data (appended); on a revert, the revert data
 * @return PHR_OK, PHR_ERR_REVERTED (out holds the revert data), others.
 */
PHR_WUR int phr_chain_call(struct phr_chain *c, struct phr_buf *out, const uint8_t *from,
			   const uint8_t to[20], const uint8_t *data, size_t data_len);

/**
 * The eth_call memo's counters (see phr_chain_node_memo_stats) of an embedded
 * chain.
 * @return PHR_OK, or PHR_ERR_UNSUPPORTED for a remote chain (no memo).
 */
PHR_WUR int phr_chain_memo_stats(struct phr_chain *c, uint64_t *hits, uint64_t *misses);

/** eth_estimateGas of a call (to NULL: a creation). */
PHR_WUR int phr_chain_estimate_gas(struct phr_chain *c, uint64_t *gas, const uint8_t *from,
				   const uint8_t *to, const struct phr_u256 *value,
				   const uint8_t *data, size_t data_len);

/**
 * eth_getTransactionReceipt (on an embedded chain: phr_chain_node_receipt).
 * @return PHR_OK, PHR_ERR_NOT_FOUND (unknown or still pending), others.
 */
PHR_WUR int phr_chain_receipt(struct phr_chain *c, struct phr_chain_receipt *r,
			      const uint8_t hash[32]);

/**
 * Polls for a receipt every 20 ms for up to @p timeout_ms.
 * @return PHR_OK, PHR_ERR_TIMEOUT, others.
 */
PHR_WUR int phr_chain_wait_receipt(struct phr_chain *c, struct phr_chain_receipt *r,
				   const uint8_t hash[32], unsigned timeout_ms);

/** A log filter (eth_getLogs). */
struct phr_chain_filter {
	uint64_t from_block, to_block; /**< UINT64_MAX: "latest" */
	const uint8_t (*addresses)[20]; /**< OR-list, NULL/0: any */
	size_t addresses_count;
	/** Per position (0..3): OR-list of topics; count 0 = any. */
	const uint8_t (*topics[4])[32];
	size_t topics_count[4];
};

/**
 * eth_getLogs.
 * @param[out] logs  new array (phr_chain_logs_free), NULL when empty
 * @param[out] count number of logs
 */
PHR_WUR int phr_chain_get_logs(struct phr_chain *c, struct phr_chain_log **logs, size_t *count,
			       const struct phr_chain_filter *f);

/** Parses a JSON receipt object (as eth_getTransactionReceipt returns) into @p r. */
PHR_WUR int phr_chain_receipt_from_json(struct phr_chain_receipt *r, const json_t *j);
/** Parses a JSON log object into @p log. */
PHR_WUR int phr_chain_log_from_json(struct phr_chain_log *log, const json_t *j);

#ifdef __cplusplus
}
#endif
#endif /* PHR_CHAIN_H */
