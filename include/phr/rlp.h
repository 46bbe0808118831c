/**
 * @file rlp.h
 * @brief Recursive Length Prefix encoding (Ethereum yellow paper, appendix B),
 *        strict (module `eth`).
 *
 * Decoding is zero-copy: an item points into the caller's input and stays
 * valid as long as that input does. Every decoder rejects non-canonical
 * encodings (a single byte below 0x80 wrapped as a string, long form for a
 * payload under 56 bytes, leading zero bytes in a length), truncated input,
 * lengths that overflow, and trailing bytes.
 *
 * Encoding appends to a struct phr_buf (core.h). Nested lists are built with
 * phr_rlp_list_begin / phr_rlp_list_end: begin records where the payload
 * starts, end inserts the header there once the payload length is known.
 *
 * Thread safety: no shared state; all functions are reentrant.
 */
#ifndef PHR_RLP_H
#define PHR_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest list nesting phr_rlp_decode accepts. */
#define PHR_RLP_MAX_DEPTH 64

/** One decoded item: its payload (without header), borrowed from the input. */
struct phr_rlp_item {
	const uint8_t *data; /**< payload; points into the decoded input */
	size_t len;          /**< payload length in bytes */
	bool is_list;        /**< list (payload is concatenated items) or string */
};

/** Iterator over the items of a list payload. */
struct phr_rlp_iter {
	const uint8_t *p; /**< next unread byte */
	size_t left;      /**< bytes left in the list payload */
};

/**
 * Decodes the header of the item at the start of @p in without looking
 * inside a list payload.
 * @param[out] item   the item (untouched on failure)
 * @param[out] used   header + payload bytes consumed (may be NULL)
 * @param[in]  in     encoded bytes; @p item borrows from them
 * @param[in]  n      length of @p in
 * @return PHR_OK, PHR_ERR_TRUNCATED (input ends early or is empty),
 *         PHR_ERR_NONCANONICAL (non-minimal header), PHR_ERR_RANGE (a length
 *         that does not fit size_t).
 */
PHR_WUR int phr_rlp_decode_prefix(struct phr_rlp_item *item, size_t *used, const uint8_t *in,
				  size_t n);

/**
 * Decodes @p in as exactly one item and validates the whole tree beneath it
 * (every nested item canonical and in bounds, nesting at most
 * PHR_RLP_MAX_DEPTH). After success, iterating the item's lists cannot fail.
 * @param[out] item the top item (untouched on failure)
 * @return PHR_OK, PHR_ERR_TRUNCATED, PHR_ERR_NONCANONICAL, PHR_ERR_RANGE,
 *         PHR_ERR_PARSE (trailing bytes after the item or inside a list),
 *         PHR_ERR_TOO_LARGE (nesting deeper than PHR_RLP_MAX_DEPTH).
 */
PHR_WUR int phr_rlp_decode(struct phr_rlp_item *item, const uint8_t *in, size_t n);

/**
 * Starts iterating the items of @p list (which must be a list item).
 * @return PHR_OK or PHR_ERR_INVALID when @p list is a string.
 */
PHR_WUR int phr_rlp_iter_init(struct phr_rlp_iter *it, const struct phr_rlp_item *list);

/**
 * Reads the next item of the list.
 * @param[out] item next item
 * @return 1 when an item was read, 0 at the end of the list, or a negative
 *         phr_err from phr_rlp_decode_prefix on malformed data.
 */
PHR_WUR int phr_rlp_iter_next(struct phr_rlp_iter *it, struct phr_rlp_item *item);

/**
 * Collects the items of @p list into @p items.
 * @param[out] items  array of @p max items
 * @param[out] count  number of items in the list
 * @return PHR_OK, PHR_ERR_INVALID (not a list), PHR_ERR_TOO_LARGE (more than
 *         @p max items), or a decoding error.
 */
PHR_WUR int phr_rlp_list_items(struct phr_rlp_item *items, size_t max, size_t *count,
			       const struct phr_rlp_item *list);

/**
 * Reads a string item as an unsigned integer (big-endian, no leading zero
 * bytes, the empty string is zero).
 * @return PHR_OK, PHR_ERR_INVALID (a list), PHR_ERR_NONCANONICAL (leading
 *         zero), PHR_ERR_RANGE (more than 8 bytes).
 */
PHR_WUR int phr_rlp_item_u64(uint64_t *v, const struct phr_rlp_item *item);

/** As phr_rlp_item_u64 for up to 32 bytes. */
PHR_WUR int phr_rlp_item_u256(struct phr_u256 *v, const struct phr_rlp_item *item);

/**
 * Copies a string item of exactly @p n bytes (e.g. an address or a hash).
 * @return PHR_OK, PHR_ERR_INVALID (a list or a different length).
 */
PHR_WUR int phr_rlp_item_fixed(uint8_t *out, size_t n, const struct phr_rlp_item *item);

/** @return the encoded length of a string of @p n bytes whose first byte is @p first. */
size_t phr_rlp_string_len(size_t n, uint8_t first);

/**
 * Appends the encoding of a byte string.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE (buffer limit; the buffer
 *         is then emptied, see phr_buf).
 */
PHR_WUR int phr_rlp_put_bytes(struct phr_buf *b, const void *data, size_t n);

/** Appends an unsigned integer (minimal big-endian, zero is the empty string). */
PHR_WUR int phr_rlp_put_u64(struct phr_buf *b, uint64_t v);

/** Appends a 256-bit unsigned integer (minimal big-endian). */
PHR_WUR int phr_rlp_put_u256(struct phr_buf *b, const struct phr_u256 *v);

/** Appends already-encoded RLP (one or more complete items) verbatim. */
PHR_WUR int phr_rlp_put_raw(struct phr_buf *b, const void *data, size_t n);

/**
 * Starts a list: stores in @p mark the position where its payload begins.
 * Append the items, then call phr_rlp_list_end with the same mark. Lists
 * nest: each begin has its own mark.
 */
void phr_rlp_list_begin(struct phr_buf *b, size_t *mark);

/**
 * Ends the list begun at @p mark by inserting its header before the payload.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE, PHR_ERR_INVALID (a mark
 *         past the end of the buffer, e.g. after a failed append emptied it).
 */
PHR_WUR int phr_rlp_list_end(struct phr_buf *b, size_t mark);

#ifdef __cplusplus
}
#endif
#endif /* PHR_RLP_H */
