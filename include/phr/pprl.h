/*
 * Privacy-preserving record linkage (PPRL): cryptographic long-term keys (CLKs,
 * Bloom-filter encodings of identifying fields) compatible with clkhash linkage
 * schema v3, Dice similarity, blocking and greedy one-to-one matching as anonlink
 * does. See docs/privacy.md for the protocol, its parameters and threat model.
 *
 * Thread safety: a parsed schema and derived keys are read-only after creation and
 * may be shared between threads; nothing here keeps global state.
 */
#ifndef PHR_PPRL_H
#define PHR_PPRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"

/** Largest filter length l (bits, after folding) and number of features accepted. */
#define PHR_PPRL_MAX_BITS 65536u
#define PHR_PPRL_MAX_FEATURES 63u

/** A parsed linkage schema (opaque). */
struct phr_pprl_schema;
/** Per-feature keys derived from the linkage secret (opaque, in sodium_malloc memory). */
struct phr_pprl_keys;

/**
 * Parses a clkhash linkage schema, version 3 (features with "ignored", ngram
 * comparison with "positional", strategies bitsPerToken / bitsPerFeature, hash
 * blakeHash / doubleHash with prevent_singularity, l, xor_folds, HKDF-SHA256 kdf,
 * string format with case / minLength / maxLength, missingValue).
 * @param[out] out      the schema (free with phr_pprl_schema_free) on success
 * @param[out] err      a message on failure (may be NULL)
 * @param err_cap       size of @p err
 * @param json          schema text (need not be NUL-terminated)
 * @param len           its length
 * @return PHR_OK, PHR_ERR_PARSE (not JSON / wrong types), PHR_ERR_INVALID (bad
 *         values), PHR_ERR_UNSUPPORTED (another version, comparison or format),
 *         PHR_ERR_TOO_LARGE (l or feature count above the limits), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_pprl_schema_parse(struct phr_pprl_schema **out, char *err, size_t err_cap,
				  const char *json, size_t len);

/** Frees a schema (NULL is fine). */
void phr_pprl_schema_free(struct phr_pprl_schema *s);

/** @return the CLK length in bits (l, after folding). */
size_t phr_pprl_schema_bits(const struct phr_pprl_schema *s);

/** @return the number of features (columns), ignored ones included. */
size_t phr_pprl_schema_features(const struct phr_pprl_schema *s);

/**
 * Derives the per-feature keys from the linkage secret with the schema's KDF
 * (HKDF-SHA256 with the schema's salt and info; two keys of keySize bytes per
 * feature, ignored features included, as clkhash does).
 * @param[out] out   keys in sodium_malloc memory (free with phr_pprl_keys_free)
 * @param s          the schema
 * @param secret     the linkage secret (not kept)
 * @param secret_len its length
 * @return PHR_OK, PHR_ERR_INVALID (empty secret), PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_pprl_keys_derive(struct phr_pprl_keys **out, const struct phr_pprl_schema *s,
				 const uint8_t *secret, size_t secret_len);

/** Wipes and frees keys (NULL is fine). */
void phr_pprl_keys_free(struct phr_pprl_keys *k);

/**
 * Encodes one record into its CLK.
 * @param[out] clk   phr_pprl_schema_bits(s) / 8 bytes (big-endian bit order:
 *                   bit 0 is the most significant bit of byte 0)
 * @param clk_len    size of @p clk; must equal bits / 8
 * @param s, k       schema and keys
 * @param cells      one UTF-8 string per feature (ignored features' cells unused)
 * @param lens       their lengths
 * @param ncells     must equal phr_pprl_schema_features(s)
 * @return PHR_OK, PHR_ERR_INVALID (cell count, invalid UTF-8, a value breaking the
 *         feature's format), PHR_ERR_TOO_LARGE (a cell above 64 KiB), PHR_ERR_CRYPTO.
 */
PHR_WUR int phr_pprl_encode(uint8_t *clk, size_t clk_len, const struct phr_pprl_schema *s,
			    const struct phr_pprl_keys *k, const char *const *cells,
			    const size_t *lens, size_t ncells);

/** Callback for each CSV row: @p cells / @p lens hold @p n cells. Non-zero stops. */
typedef int (*phr_pprl_row_fn)(void *ctx, size_t row, const char *const *cells,
			       const size_t *lens, size_t n);

/**
 * Parses CSV (RFC 4180: commas, double quotes with "" escapes, LF or CRLF), calling
 * @p fn for every row after the first (header) when @p header is true. Each cell
 * is stripped of spaces, CR and LF at both ends (the fixture rule). Rows with
 * fewer than @p pad cells are padded with empty cells.
 * @return PHR_OK, PHR_ERR_PARSE (unterminated quote, text after a closing quote),
 *         PHR_ERR_TOO_LARGE (more than 256 cells or a cell above 64 KiB),
 *         PHR_ERR_NOMEM, or the callback's non-zero value.
 */
PHR_WUR int phr_pprl_csv_parse(const char *csv, size_t len, bool header, size_t pad,
			       phr_pprl_row_fn fn, void *ctx);

/**
 * Encodes every row of a CSV file (header skipped, cells stripped, rows padded to
 * the feature count) and appends one standard base64 CLK per line to @p out.
 * @param[out] out     output text
 * @param[out] nrows   number of records encoded (may be NULL)
 * @return PHR_OK or an error of phr_pprl_csv_parse / phr_pprl_encode / phr_buf.
 */
PHR_WUR int phr_pprl_encode_csv(struct phr_buf *out, size_t *nrows, const struct phr_pprl_schema *s,
				const struct phr_pprl_keys *k, const char *csv, size_t len);

/**
 * Reads a file of base64 CLKs, one a line (blank lines skipped), into one
 * contiguous array.
 * @param[out] clks   phr_malloc'd array of *n * *nbytes bytes (phr_free)
 * @param[out] n      number of CLKs
 * @param[out] nbytes bytes per CLK (all lines must agree)
 * @return PHR_OK, PHR_ERR_PARSE (bad base64, lengths differ), PHR_ERR_TOO_LARGE,
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_pprl_clks_parse(uint8_t **clks, size_t *n, size_t *nbytes, const char *text,
				size_t len);

/** @return the number of set bits in @p n bytes. */
uint32_t phr_pprl_popcount(const uint8_t *a, size_t n);

/** @return the Dice coefficient 2|A&B| / (|A|+|B|) of two @p n-byte CLKs (0 if both empty). */
double phr_pprl_dice(const uint8_t *a, const uint8_t *b, size_t n);

/** One link: row @p a of the first set matched with row @p b of the second. */
struct phr_pprl_match {
	uint32_t a;
	uint32_t b;
	double score;
};

/** Counters of a linkage run. */
struct phr_pprl_link_stats {
	uint64_t pairs_total;    /**< na * nb */
	uint64_t pairs_compared; /**< pairs that passed blocking and were scored */
	uint64_t candidates;     /**< pairs at or above the threshold */
};

/**
 * Links two sets of CLKs: blocking by the popcount bound of the Dice coefficient
 * (a pair can only reach @p threshold when 2 min(|A|,|B|) / (|A|+|B|) >= threshold,
 * so the second set is sorted by popcount and only a window is scanned: lossless),
 * Dice on the rest, then greedy one-to-one matching: candidates at or above the
 * threshold sorted by score (descending; ties by a then b) and taken when neither
 * side is taken yet.
 * @param[out] out     phr_malloc'd matches sorted by score (phr_free), NULL if none
 * @param[out] nout    number of matches
 * @param[out] stats   counters (may be NULL)
 * @param a, na        first set, na CLKs of @p nbytes each
 * @param b, nb        second set
 * @param threshold    in (0, 1]
 * @return PHR_OK, PHR_ERR_INVALID (threshold, nbytes 0), PHR_ERR_TOO_LARGE
 *         (more than 2^32-1 rows or 2^27 candidate pairs), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_pprl_link(struct phr_pprl_match **out, size_t *nout, struct phr_pprl_link_stats *stats,
			  const uint8_t *a, size_t na, const uint8_t *b, size_t nb, size_t nbytes,
			  double threshold);

#endif /* PHR_PPRL_H */
