/**
 * @file state.h
 * @brief World state and Cancun transaction execution (module `chain`).
 *
 * A struct phr_state holds accounts (nonce, balance, code, storage) in
 * memory, loading what it does not know from an optional backend (a function
 * table: SQLite for the chain, nothing for the state tests, which put their
 * pre-state in directly). On top of it, phr_state_tx_apply() runs one
 * transaction under Cancun rules: validation, fee purchase, warm-up
 * (EIP-2929/2930/3651), the EVM (include/phr/evm.h, this module is its host),
 * refunds (EIP-3529), fees (EIP-1559 burn, priority fee to the coinbase,
 * EIP-4844 blob fee burnt), EIP-6780 self-destructs and EIP-161 clearing.
 *
 * Inside a transaction every change is journaled, so call frames are undone
 * exactly (balances, nonces, code, storage, transient storage, warm sets,
 * logs, touches, self-destructs). Between transactions the state keeps the
 * changes; phr_state_commit() computes the state root (Merkle-Patricia,
 * keccak-keyed) and hands out the change set for persistence.
 *
 * Root and backend: the root covers the accounts the state knows. With a
 * backend, the first phr_state_commit() enumerates every account through
 * backend->foreach_account (and an account's storage through
 * foreach_storage the first time its storage changes), so the root stays
 * right without loading everything up front.
 *
 * Thread safety: one struct phr_state per thread (or a lock around it).
 */
#ifndef PHR_STATE_H
#define PHR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "phr/core.h"
#include "phr/tx.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/** keccak256 of the empty string: the code hash of an account without code. */
extern const uint8_t phr_state_empty_code_hash[32];

/** Account record as a backend stores it. */
struct phr_state_account {
	uint64_t nonce;
	struct phr_u256 balance;
	uint8_t code_hash[32];    /**< phr_state_empty_code_hash when no code */
	uint8_t storage_root[32]; /**< phr_trie_empty_root when no storage */
};

/** Callback of foreach_account. @return 0 to go on, non-zero to stop with an error. */
typedef int (*phr_state_account_cb)(void *cb_ctx, const uint8_t addr[20],
				    const struct phr_state_account *acc);
/** Callback of foreach_storage (only non-zero values). */
typedef int (*phr_state_slot_cb)(void *cb_ctx, const uint8_t key[32], const uint8_t value[32]);

/**
 * Where the state loads what it does not hold (all members optional; a NULL
 * member means "nothing there"). Every function returns PHR_OK or an error
 * (e.g. PHR_ERR_DB), which aborts the transaction being run.
 */
struct phr_state_backend {
	void *ctx;
	/** Loads @p addr: *found = false when it does not exist. */
	int (*load_account)(void *ctx, bool *found, struct phr_state_account *acc,
			    const uint8_t addr[20]);
	/** Loads a storage slot (all zero when unset). */
	int (*load_storage)(void *ctx, uint8_t value[32], const uint8_t addr[20],
			    const uint8_t key[32]);
	/** Appends the code whose hash is @p code_hash to @p code. */
	int (*load_code)(void *ctx, struct phr_buf *code, const uint8_t code_hash[32]);
	/** Calls @p cb for every account (used once, to build the state trie). */
	int (*foreach_account)(void *ctx, phr_state_account_cb cb, void *cb_ctx);
	/** Calls @p cb for every non-zero slot of @p addr (to build its storage trie). */
	int (*foreach_storage)(void *ctx, const uint8_t addr[20], phr_state_slot_cb cb,
			       void *cb_ctx);
};

/** The world state (opaque). */
struct phr_state;

/**
 * Creates an empty state.
 * @param[out] out     the state (free with phr_state_free)
 * @param[in]  backend copied; NULL for a purely in-memory state. backend->ctx
 *                     must outlive the state.
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR int phr_state_new(struct phr_state **out, const struct phr_state_backend *backend);

/** Frees @p st; NULL is a no-op. */
void phr_state_free(struct phr_state *st);

/* ---- direct access (genesis, pre-state, RPC reads): no journal ---------- */

/**
 * Creates or overwrites the account @p addr with @p nonce and @p balance
 * (code and storage are kept). Not journaled: use between transactions only.
 * @return PHR_OK, PHR_ERR_NOMEM, or a backend error.
 */
PHR_WUR int phr_state_set_account(struct phr_state *st, const uint8_t addr[20], uint64_t nonce,
				  const struct phr_u256 *balance);
/** Sets the code of @p addr (created if absent); @p code copied. */
PHR_WUR int phr_state_set_code(struct phr_state *st, const uint8_t addr[20], const uint8_t *code,
			       size_t code_len);
/** Sets storage slot @p key of @p addr (created if absent). */
PHR_WUR int phr_state_set_storage(struct phr_state *st, const uint8_t addr[20],
				  const uint8_t key[32], const uint8_t value[32]);

/**
 * Reads an account.
 * @param[out] exists   whether it exists
 * @param[out] acc      its record (zero / empty hashes when absent); may be
 *                      NULL. storage_root is the one at the last commit.
 * @return PHR_OK or a backend error.
 */
PHR_WUR int phr_state_get_account(struct phr_state *st, bool *exists,
				  struct phr_state_account *acc, const uint8_t addr[20]);
/**
 * Reads the code of @p addr.
 * @param[out] code borrowed: valid until the next change of @p st (NULL if none)
 * @return PHR_OK or a backend error.
 */
PHR_WUR int phr_state_get_code(struct phr_state *st, const uint8_t **code, size_t *code_len,
			       const uint8_t addr[20]);
/** Reads storage slot @p key of @p addr into @p value. @return PHR_OK or a backend error. */
PHR_WUR int phr_state_get_storage(struct phr_state *st, uint8_t value[32], const uint8_t addr[20],
				  const uint8_t key[32]);

/* ---- transactions ------------------------------------------------------- */

/** Block values a transaction runs in. */
struct phr_state_block {
	uint8_t coinbase[20];
	uint64_t number;
	uint64_t timestamp;
	uint64_t gas_limit;
	uint8_t prevrandao[32];
	struct phr_u256 base_fee;
	/** EIP-4844 excess blob gas of the block (sets the blob base fee). */
	uint64_t excess_blob_gas;
	struct phr_u256 chain_id;
	/** BLOCKHASH source (may be NULL: zero hashes). */
	void (*block_hash)(void *ctx, uint8_t out[32], uint64_t number);
	void *block_hash_ctx;
};

/** One log entry. */
struct phr_state_log {
	uint8_t addr[20];
	uint8_t (*topics)[32];
	size_t topics_count;
	uint8_t *data;
	size_t data_len;
};

/** Outcome of phr_state_tx_apply. */
struct phr_state_tx_result {
	/** enum phr_evm_status of the top-level frame (0 = success). */
	int status;
	/** Gas used after refunds (what the sender paid for). */
	uint64_t gas_used;
	/** EIP-4844 blob gas (131072 per blob). */
	uint64_t blob_gas_used;
	/** Price per gas actually paid. */
	struct phr_u256 effective_gas_price;
	/** Logs (empty unless status is success); owned by the result. */
	struct phr_state_log *logs;
	size_t logs_count;
	/** Contract creation: the new address (set even when the create failed). */
	bool created;
	uint8_t created_addr[20];
	/** Return or revert data; owned by the result. */
	uint8_t *output;
	size_t output_len;
	/** Why the transaction was rejected (when phr_state_tx_apply returned
	 *  PHR_ERR_INVALID), e.g. "nonce too low"; "" otherwise. */
	char error[96];
};

/** Frees the contents of @p r (logs, output); safe on a zeroed result. */
void phr_state_tx_result_release(struct phr_state_tx_result *r);

/** Flags of phr_state_tx_apply. */
enum {
	/** Execute, fill the result, then undo every change (eth_call, estimates). */
	PHR_STATE_TX_DRY_RUN = 1,
	/** Skip the nonce, fee, balance-for-fees and EOA checks and charge no
	 *  fees (eth_call); gas is still limited by tx->gas_limit. */
	PHR_STATE_TX_NO_CHECKS = 2,
};

/**
 * Validates and executes @p tx on @p st in block @p blk (Cancun rules).
 *
 * @param[out] out    result (zeroed first; release with
 *                    phr_state_tx_result_release in every case)
 * @param[in]  blk    block values
 * @param[in]  tx     the transaction (borrowed for the call; its signature
 *                    is not looked at: the caller recovered @p sender)
 * @param[in]  sender the sender's address
 * @param[in]  flags  PHR_STATE_TX_* bits
 * @return PHR_OK when the transaction is valid (it may still have failed:
 *         see out->status), PHR_ERR_INVALID when it is not (out->error says
 *         why, the state is unchanged), PHR_ERR_NOMEM or a backend error
 *         (the state is rolled back to before the transaction).
 */
PHR_WUR int phr_state_tx_apply(struct phr_state *st, struct phr_state_tx_result *out,
			       const struct phr_state_block *blk, const struct phr_tx *tx,
			       const uint8_t sender[20], unsigned flags);

/** EIP-4844 blob base fee for @p excess_blob_gas (fake_exponential). */
void phr_state_blob_base_fee(struct phr_u256 *out, uint64_t excess_blob_gas);

/**
 * Appends rlp(logs) (the list of [address, [topics], data]) to @p b; its
 * keccak256 is what the state tests call the logs hash.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_state_logs_rlp(struct phr_buf *b, const struct phr_state_log *logs, size_t count);

/** ORs the 2048-bit bloom filter of @p logs into @p bloom (receipts, headers). */
void phr_state_logs_bloom(uint8_t bloom[256], const struct phr_state_log *logs, size_t count);

/* ---- commit --------------------------------------------------------------- */

/** One changed storage slot. */
struct phr_state_slot_change {
	uint8_t key[32];
	uint8_t value[32]; /**< all zero: deleted */
};

/** One changed account since the previous commit. */
struct phr_state_account_change {
	uint8_t addr[20];
	/** The account no longer exists (self-destructed or cleared as empty). */
	bool deleted;
	/** Forget every stored slot of this account before applying @c slots. */
	bool storage_wiped;
	struct phr_state_account acc; /**< new record (unless deleted) */
	/** New code when it changed (borrowed, valid until the next change of
	 *  the state), else NULL. */
	const uint8_t *code;
	size_t code_len;
	struct phr_state_slot_change *slots;
	size_t slots_count;
};

/** A change set. */
struct phr_state_changes {
	struct phr_state_account_change *accounts;
	size_t count;
};

/** Frees the contents of @p c; safe on a zeroed struct. */
void phr_state_changes_release(struct phr_state_changes *c);

/**
 * Computes the state root over everything applied so far and, if @p changes
 * is non-NULL, hands out what changed since the previous commit.
 * @param[out] root    32-byte state root
 * @param[out] changes change set (release with phr_state_changes_release);
 *                     may be NULL
 * @return PHR_OK, PHR_ERR_NOMEM or a backend error.
 */
PHR_WUR int phr_state_commit(struct phr_state *st, uint8_t root[32],
			     struct phr_state_changes *changes);

/**
 * EIP-1186 account proof of @p addr against the root of the last
 * phr_state_commit(): the state-trie nodes as phr_trie_prove returns them.
 * @return PHR_OK, PHR_ERR_NOMEM or a backend error.
 */
PHR_WUR int phr_state_prove_account(struct phr_state *st, struct phr_buf **nodes, size_t *count,
				    const uint8_t addr[20]);

/**
 * EIP-1186 storage proof of slot @p key of @p addr (against the account's
 * storage root at the last phr_state_commit()).
 * @return PHR_OK, PHR_ERR_NOMEM or a backend error.
 */
PHR_WUR int phr_state_prove_storage(struct phr_state *st, struct phr_buf **nodes, size_t *count,
				    const uint8_t addr[20], const uint8_t key[32]);

/* ---- conformance runner (ethereum/tests GeneralStateTests) ---------------- */

/** Options of phr_statetest_run. */
struct phr_statetest_opts {
	/** Fork whose post entries are checked, e.g. "Cancun". */
	const char *fork;
	/** Only cases whose name ("test/dNgNvN") or file path contains this (NULL: all). */
	const char *filter;
	/** Report passing cases too. */
	bool verbose;
	/** One JSON object per reported case instead of text. */
	bool json;
	/** Where reports go. */
	FILE *out;
	/** Known failures: a failing case whose name or test name is listed here
	 *  counts as known, not failed. */
	const char *const *known;
	size_t known_count;
	/** Tests (by test name) not run at all, counted as skipped. */
	const char *const *skip;
	size_t skip_count;
};

/** Counters of phr_statetest_run (added to, not reset). */
struct phr_statetest_stats {
	size_t passed, failed, known, skipped;
};

/**
 * Runs the state tests in @p path (a JSON file, or a directory walked
 * recursively in name order, *.json only). Every failure is reported on
 * o->out with its reason.
 * @return PHR_OK (even when cases fail: see @p stats), PHR_ERR_NOT_FOUND
 *         (no such path), PHR_ERR_IO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_statetest_run(const struct phr_statetest_opts *o,
			      struct phr_statetest_stats *stats, const char *path);

#ifdef __cplusplus
}
#endif
#endif
