/**
 * @file tx.h
 * @brief Ethereum transactions: legacy (pre- and post-EIP-155), EIP-2930
 *        (type 1), EIP-1559 (type 2) and EIP-4844 (type 3, decode/hash/
 *        recover only) — decode, encode, sign, hash, sender recovery,
 *        intrinsic gas and Cancun validity rules (module `eth`).
 *
 * A decoded transaction owns heap copies of its call data and access list:
 * set it up with phr_tx_init, free with phr_tx_release. Decoding is strict
 * (canonical RLP, no leading zeros, exact field counts and sizes); the
 * validity rules that depend on the fork and chain are in phr_tx_validate.
 *
 * Thread safety: no shared state beyond crypto.h's (call phr_crypto_init
 * once before signing or recovering).
 */
#ifndef PHR_TX_H
#define PHR_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "phr/core.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Transaction envelope types. */
enum phr_tx_type {
	PHR_TX_LEGACY = 0,      /**< RLP list, v = 27/28 or chainId*2+35/36 */
	PHR_TX_ACCESS_LIST = 1, /**< EIP-2930 */
	PHR_TX_DYNAMIC_FEE = 2, /**< EIP-1559 */
	PHR_TX_BLOB = 3,        /**< EIP-4844: decoded, hashed, recovered; never valid here */
};

/** EIP-3860 limit on create transaction init code (2 * 24576). */
#define PHR_TX_MAX_INITCODE 49152u
/** Largest call data phr_tx_decode accepts. */
#define PHR_TX_MAX_DATA ((size_t)16 << 20)
/** Most access-list entries or blob hashes phr_tx_decode accepts. */
#define PHR_TX_MAX_LIST 65536u

/** One access-list entry. */
struct phr_tx_access {
	uint8_t address[20];
	uint8_t (*keys)[32]; /**< owned by the transaction */
	size_t n_keys;
};

/** A transaction (signed or not). Fields not used by its type are zero. */
struct phr_tx {
	enum phr_tx_type type;
	bool has_chain_id;  /**< false only for pre-EIP-155 legacy */
	uint64_t chain_id;
	uint64_t nonce;
	struct phr_u256 gas_price;        /**< legacy, type 1 */
	struct phr_u256 max_priority_fee; /**< type 2, 3 */
	struct phr_u256 max_fee;          /**< type 2, 3 */
	uint64_t gas_limit;
	bool has_to;   /**< false for contract creation */
	uint8_t to[20];
	struct phr_u256 value;
	uint8_t *data; /**< owned; NULL when data_len is 0 */
	size_t data_len;
	struct phr_tx_access *access_list; /**< owned (types 1-3) */
	size_t n_access;
	struct phr_u256 max_fee_per_blob_gas; /**< type 3 */
	uint8_t (*blob_hashes)[32];           /**< owned (type 3) */
	size_t n_blob_hashes;
	/** legacy: the raw v (27/28 or chainId*2+35/36); typed: y parity 0/1 */
	uint64_t v;
	struct phr_u256 r, s;
};

/** Sets @p tx to an empty legacy transaction owning nothing. */
void phr_tx_init(struct phr_tx *tx);
/** Frees what @p tx owns and re-initialises it. NULL is a no-op. */
void phr_tx_release(struct phr_tx *tx);

/**
 * Copies @p data into the transaction's call data (replacing any).
 * @return PHR_OK or PHR_ERR_NOMEM (tx unchanged).
 */
PHR_WUR int phr_tx_set_data(struct phr_tx *tx, const uint8_t *data, size_t n);

/**
 * Appends an access-list entry with @p n_keys storage keys (copied).
 * @return PHR_OK or PHR_ERR_NOMEM (tx unchanged).
 */
PHR_WUR int phr_tx_add_access(struct phr_tx *tx, const uint8_t address[20],
			      const uint8_t (*keys)[32], size_t n_keys);

/**
 * Decodes a signed transaction in its canonical network form: a legacy RLP
 * list, or a type byte followed by the RLP payload.
 * @param[out] tx initialised by this call; on failure it owns nothing
 * @param[in]  raw encoded transaction (not retained)
 * @return PHR_OK, PHR_ERR_PARSE (RLP structure, field count, trailing bytes),
 *         PHR_ERR_TRUNCATED, PHR_ERR_NONCANONICAL (non-canonical RLP or an
 *         integer with leading zeros), PHR_ERR_RANGE (an integer too large
 *         for its field: nonce, gas limit, chain id or v over 64 bits, fees
 *         and value over 256), PHR_ERR_INVALID (address, key or hash of the
 *         wrong length), PHR_ERR_SIGNATURE (legacy v not 27, 28 or >= 35;
 *         typed y parity not 0/1), PHR_ERR_UNSUPPORTED (unknown type byte),
 *         PHR_ERR_TOO_LARGE (data or lists over the PHR_TX_MAX_* limits),
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_tx_decode(struct phr_tx *tx, const uint8_t *raw, size_t n);

/**
 * Appends the signed network encoding of @p tx to @p out.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE, PHR_ERR_INVALID (a type
 *         3 transaction without a recipient).
 */
PHR_WUR int phr_tx_encode(struct phr_buf *out, const struct phr_tx *tx);

/**
 * The hash that is signed: keccak256 of the unsigned payload (legacy with
 * [chainId, 0, 0] appended when has_chain_id, per EIP-155; typed with the
 * type byte prefix).
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_INVALID.
 */
PHR_WUR int phr_tx_signing_hash(uint8_t out[32], const struct phr_tx *tx);

/** The transaction hash: keccak256 of the signed encoding. @return as phr_tx_encode. */
PHR_WUR int phr_tx_hash(uint8_t out[32], const struct phr_tx *tx);

/**
 * Signs @p tx in place with @p seckey: sets v (from has_chain_id/chain_id
 * for legacy, y parity for typed), r and s (always low-s).
 * @return PHR_OK, PHR_ERR_INVALID (bad key), PHR_ERR_CRYPTO, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_tx_sign(struct phr_tx *tx, const uint8_t seckey[32]);

/**
 * Recovers the sender's address. Rejects r or s zero or >= n and high s
 * (s > n/2, EIP-2).
 * @return PHR_OK, PHR_ERR_SIGNATURE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_tx_sender(uint8_t addr[20], const struct phr_tx *tx);

/**
 * Intrinsic gas under the Cancun rules: 21000 (53000 for a create), call data
 * 4 per zero byte and 16 per other byte, 2400 per access-list address and
 * 1900 per storage key, and for a create 2 per 32-byte word of init code
 * (EIP-3860).
 * @return PHR_OK or PHR_ERR_RANGE (overflow of 64 bits).
 */
PHR_WUR int phr_tx_intrinsic_gas(uint64_t *gas, const struct phr_tx *tx);

/**
 * Checks the rules a Cancun node applies to a transaction before execution,
 * independent of state: signature (via phr_tx_sender), chain id (legacy
 * without chain id is allowed), nonce below 2^64-1 (EIP-2681), gas limit
 * times (max) fee within 256 bits, priority fee not above max fee, gas limit
 * at least the intrinsic gas, init code at most PHR_TX_MAX_INITCODE.
 * @param[out] sender recovered sender (may be NULL); set only on success
 * @param[in]  chain_id the chain's id
 * @return PHR_OK, PHR_ERR_SIGNATURE, PHR_ERR_INVALID (chain id, fee order,
 *         intrinsic gas, init code size), PHR_ERR_RANGE (nonce, fee
 *         product), PHR_ERR_UNSUPPORTED (type 3: phr has no blob support).
 */
PHR_WUR int phr_tx_validate(uint8_t sender[20], const struct phr_tx *tx, uint64_t chain_id);

/**
 * Builds an unsigned transaction from the JSON-RPC object form: type
 * ("0x0".."0x3" or 0-3; default 2 when maxFeePerGas is present, 1 when only
 * accessList is, else 0), chainId, nonce, gasPrice, maxFeePerGas,
 * maxPriorityFeePerGas, gas (or gasLimit), to (absent or null for a create),
 * value, data (or input), accessList [{address, storageKeys}]. Quantities are
 * JSON integers or decimal / 0x-hex strings. A legacy transaction without
 * chainId is pre-EIP-155.
 * @param[out] tx initialised by this call; owns nothing on failure
 * @return PHR_OK, PHR_ERR_INVALID (a member of the wrong form or range),
 *         PHR_ERR_UNSUPPORTED (type 3 or unknown), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_tx_from_json(struct phr_tx *tx, const json_t *obj);

/**
 * Renders @p tx in the JSON-RPC form (quantities as 0x-hex, addresses
 * EIP-55, data as hex; v, r, s and yParity included).
 * @return a new reference, or NULL on allocation failure.
 */
json_t *phr_tx_to_json(const struct phr_tx *tx);

#ifdef __cplusplus
}
#endif
#endif /* PHR_TX_H */
