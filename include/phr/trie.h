/**
 * @file trie.h
 * @brief In-memory Merkle-Patricia trie (module `chain`): the Ethereum
 *        "modified Merkle-Patricia trie" of the yellow paper, appendix D.
 *
 * Keys and values are byte strings. Values are stored as given (callers
 * RLP-encode account records, storage words, transactions and receipts
 * themselves); an empty value is the same as an absent key. The root hash is
 * keccak256 of the RLP of the root node (keccak256(rlp("")) = 56e81f...b421
 * for the empty trie); nodes whose RLP is shorter than 32 bytes are inlined
 * in their parent.
 *
 * A "secure" trie (state and storage tries) hashes every key with keccak256
 * before use; the caller passes the plain key.
 *
 * Efficiency: every node caches its reference (its hash, or its RLP when it
 * is shorter than 32 bytes). An update marks only the nodes on the key's path
 * dirty, so phr_trie_root() re-hashes only what changed since the last call.
 *
 * Thread safety: a trie is plain memory; use one per thread or lock.
 */
#ifndef PHR_TRIE_H
#define PHR_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Root hash of the empty trie: keccak256(0x80). */
extern const uint8_t phr_trie_empty_root[32];

/** An in-memory trie (opaque). */
struct phr_trie;

/**
 * Creates an empty trie.
 * @param[out] out    the new trie (free with phr_trie_free)
 * @param[in]  secure hash keys with keccak256 (state and storage tries)
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR int phr_trie_new(struct phr_trie **out, bool secure);

/** Frees @p t and everything in it; NULL is a no-op. */
void phr_trie_free(struct phr_trie *t);

/** Removes every key, keeping the trie usable. */
void phr_trie_clear(struct phr_trie *t);

/**
 * Sets @p key to @p val (copied). An empty value (@p val_len 0) deletes the key.
 * @return PHR_OK, PHR_ERR_NOMEM (the trie is unchanged), PHR_ERR_TOO_LARGE
 *         (key longer than 1 KiB).
 */
PHR_WUR int phr_trie_put(struct phr_trie *t, const uint8_t *key, size_t key_len,
			 const uint8_t *val, size_t val_len);

/**
 * Deletes @p key (no-op when absent).
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_trie_delete(struct phr_trie *t, const uint8_t *key, size_t key_len);

/**
 * Looks @p key up.
 * @param[out] val     the value, borrowed: valid until the next change of @p t
 * @param[out] val_len its length
 * @return PHR_OK or PHR_ERR_NOT_FOUND (outputs untouched).
 */
PHR_WUR int phr_trie_get(const struct phr_trie *t, const uint8_t **val, size_t *val_len,
			 const uint8_t *key, size_t key_len);

/** @return the number of keys in @p t. */
size_t phr_trie_count(const struct phr_trie *t);

/**
 * Computes the root hash, re-hashing only nodes changed since the last call.
 * @param[out] out 32-byte root hash
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR int phr_trie_root(struct phr_trie *t, uint8_t out[32]);

/**
 * Callback of phr_trie_foreach: @p key (for a secure trie: the keccak256 of
 * the original key) and @p val are borrowed for the call. A non-zero return
 * stops the walk and is returned by phr_trie_foreach.
 */
typedef int (*phr_trie_visit_fn)(void *ctx, const uint8_t *key, size_t key_len,
				 const uint8_t *val, size_t val_len);

/**
 * Visits every key in ascending byte order (the trie must not change during
 * the walk).
 * @return PHR_OK, or the first non-zero value returned by @p fn.
 */
PHR_WUR int phr_trie_foreach(const struct phr_trie *t, phr_trie_visit_fn fn, void *ctx);

/**
 * EIP-1186 proof: the RLP of every node on the path from the root towards
 * @p key that is referenced by hash (the root always; inlined nodes are part
 * of their parent's RLP), in root-to-leaf order. Works for absent keys too
 * (a proof of absence). The nodes are appended to @p nodes as
 * @p nodes_count separate allocations: (*nodes)[i] is an owned struct phr_buf.
 * @param[out] nodes       array of buffers (free each with phr_buf_release,
 *                         then the array with phr_free)
 * @param[out] nodes_count number of nodes
 * @return PHR_OK, PHR_ERR_NOMEM (nothing allocated), PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_trie_prove(struct phr_trie *t, struct phr_buf **nodes, size_t *nodes_count,
			   const uint8_t *key, size_t key_len);

/**
 * Root of an ordered list (transactions, receipts, withdrawals roots): a
 * plain trie whose keys are rlp(index) and whose values are @p items.
 * @param[out] out       32-byte root
 * @param[in]  items     @p count item pointers (each an encoded item)
 * @param[in]  item_lens their lengths
 * @param[in]  count     number of items (0 gives the empty root)
 * @return PHR_OK or PHR_ERR_NOMEM.
 */
PHR_WUR int phr_trie_ordered_root(uint8_t out[32], const uint8_t *const *items,
				  const size_t *item_lens, size_t count);

#ifdef __cplusplus
}
#endif
#endif
