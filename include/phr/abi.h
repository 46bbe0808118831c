/**
 * @file abi.h
 * @brief Solidity contract ABI: type strings, encoding, strict decoding,
 *        selectors, event topics and revert reasons (module `eth`).
 *
 * Types are parsed at run time from Solidity type strings ("uint256",
 * "(address,bytes32[],(string,bool)[2])"). Values are trees of struct
 * phr_abi_value that mirror their type; they can be built by hand or from
 * JSON (numbers or decimal/hex strings for integers, "0x.." hex for bytes
 * and addresses, text for string, arrays for arrays and tuples), and
 * rendered back to JSON.
 *
 * Decoding is strict: every offset and length in range, dynamic data inside
 * the input, padding bytes zero, integers correctly zero/sign-extended for
 * their width, bool 0 or 1, address high bytes zero. A value budget
 * proportional to the input (never reached by a canonical encoding) stops
 * offset aliasing from expanding a small input into a huge value tree.
 *
 * Thread safety: no shared state.
 */
#ifndef PHR_ABI_H
#define PHR_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "phr/core.h"
#include "phr/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest nesting of arrays and tuples in a type. */
#define PHR_ABI_MAX_DEPTH 32
/** Largest fixed array length (T[k]) accepted by the type parser. */
#define PHR_ABI_MAX_FIXED_LEN 4096u

enum phr_abi_kind {
	PHR_ABI_UINT,        /**< uintN, N = bits */
	PHR_ABI_INT,         /**< intN, two's complement in num */
	PHR_ABI_ADDRESS,     /**< 20 bytes in bytes[] */
	PHR_ABI_BOOL,        /**< 0 or 1 in num */
	PHR_ABI_FIXED_BYTES, /**< bytesN, N = bits / 8 bytes in bytes[] */
	PHR_ABI_BYTES,       /**< dynamic bytes */
	PHR_ABI_STRING,      /**< UTF-8 text (not validated), dynamic */
	PHR_ABI_ARRAY,       /**< T[] */
	PHR_ABI_FIXED_ARRAY, /**< T[k] */
	PHR_ABI_TUPLE,       /**< (T1,...,Tn) */
};

/** A parsed type (a tree owned by its root). */
struct phr_abi_type {
	enum phr_abi_kind kind;
	unsigned bits;                  /**< uintN/intN width; bytesN: 8*N */
	size_t length;                  /**< T[k]: k */
	struct phr_abi_type *elem;      /**< arrays: element type */
	struct phr_abi_type **members;  /**< tuple members */
	size_t n_members;
	bool dynamic;                   /**< set by the parser: see phr_abi_type_is_dynamic */
	size_t head_size;               /**< set by the parser: bytes in a tuple head (32 if dynamic) */
};

/** A value of some type (a tree owned by its root). */
struct phr_abi_value {
	const struct phr_abi_type *type; /**< borrowed: keep the type alive */
	struct phr_u256 num;  /**< uint, int (two's complement), bool */
	uint8_t *bytes;       /**< address (20), bytesN (N), bytes, string; owned */
	size_t len;
	struct phr_abi_value *items; /**< arrays and tuples; owned */
	size_t n_items;
};

/**
 * Parses a type string: an elementary type (uintN, intN, uint, int, address,
 * bool, bytesN, bytes, string), a tuple "(T1,T2,...)" (also "()" as the
 * whole type, for functions without parameters), each optionally followed by
 * "[]" or "[k]" suffixes. Blanks around commas and parentheses are ignored.
 * Types that encode to zero bytes ("()" inside another type, "T[0]") are
 * refused, as Solidity refuses them.
 * @param[out] type new type tree (free with phr_abi_type_free); untouched on error
 * @return PHR_OK, PHR_ERR_PARSE, PHR_ERR_TOO_LARGE (nesting or fixed length
 *         over the limits), PHR_ERR_UNSUPPORTED (zero-size inner types),
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_abi_type_parse(struct phr_abi_type **type, const char *s);

/** Frees a type tree. NULL is a no-op. */
void phr_abi_type_free(struct phr_abi_type *type);

/**
 * Appends the canonical form of @p type (as used in selectors: "uint256",
 * "(address,bool)[]") to @p out.
 * @return PHR_OK, PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_abi_type_canonical(struct phr_buf *out, const struct phr_abi_type *type);

/** @return whether @p type is dynamic (bytes, string, T[], or contains one). */
bool phr_abi_type_is_dynamic(const struct phr_abi_type *type);

/**
 * Builds a value of @p type from JSON.
 * @param[out] value new value tree (free with phr_abi_value_free)
 * @return PHR_OK, PHR_ERR_INVALID (JSON shape does not match the type, number
 *         out of range for its width, bad hex or address length), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_abi_value_from_json(struct phr_abi_value **value, const struct phr_abi_type *type,
				    const json_t *json);

/**
 * Renders a value as JSON: integers as decimal strings, address as EIP-55
 * text, bytes as "0x" hex, strings as text, bool, arrays for arrays/tuples.
 * @return a new reference, or NULL on allocation failure.
 */
json_t *phr_abi_value_to_json(const struct phr_abi_value *value);

/** Frees a value tree. NULL is a no-op. */
void phr_abi_value_free(struct phr_abi_value *value);

/**
 * Appends the ABI encoding of @p value to @p out. A tuple encodes as its
 * members (function arguments are the tuple of the parameters).
 * @return PHR_OK, PHR_ERR_INVALID (a value that does not fit its type, e.g.
 *         wrong item count or a number wider than uintN), PHR_ERR_NOMEM,
 *         PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_abi_encode(struct phr_buf *out, const struct phr_abi_value *value);

/**
 * Decodes @p data as a value of @p type, strictly (see above). Trailing data
 * after the encoding is allowed, as Solidity allows it.
 * @param[out] value new value tree; untouched on error
 * @return PHR_OK, PHR_ERR_TRUNCATED (data or an offset out of range),
 *         PHR_ERR_NONCANONICAL (padding or extension bytes not zero, bool
 *         not 0/1), PHR_ERR_TOO_LARGE (expansion budget), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_abi_decode(struct phr_abi_value **value, const struct phr_abi_type *type,
			   const uint8_t *data, size_t n);

/** The 4-byte selector keccak256(signature)[0..4] of e.g. "transfer(address,uint256)". */
void phr_abi_selector(uint8_t out[4], const char *signature);

/** The event topic keccak256(signature) of e.g. "Transfer(address,address,uint256)". */
void phr_abi_event_topic(uint8_t out[32], const char *signature);

/**
 * Encodes a call: selector of @p signature ("name(T1,T2)") then the ABI
 * encoding of @p args (a JSON array, one entry per parameter). The signature
 * is canonicalised (e.g. "uint" becomes "uint256") before hashing.
 * @return PHR_OK, PHR_ERR_PARSE (signature), PHR_ERR_INVALID (arguments),
 *         PHR_ERR_NOMEM, PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_abi_encode_call(struct phr_buf *out, const char *signature, const json_t *args);

/** Kinds of revert data. */
enum phr_abi_revert_kind {
	PHR_ABI_REVERT_EMPTY,  /**< no data (revert() or require without message) */
	PHR_ABI_REVERT_ERROR,  /**< Error(string): message */
	PHR_ABI_REVERT_PANIC,  /**< Panic(uint256): code */
	PHR_ABI_REVERT_CUSTOM, /**< another 4-byte selector: selector set */
};

/** Decoded revert data. */
struct phr_abi_revert {
	enum phr_abi_revert_kind kind;
	char *message;          /**< Error(string): NUL-terminated copy, owned */
	struct phr_u256 code;   /**< Panic(uint256) code */
	uint8_t selector[4];    /**< custom errors */
};

/**
 * Decodes the return data of a reverted call.
 * @param[out] r filled on success (release with phr_abi_revert_release)
 * @return PHR_OK, PHR_ERR_PARSE (1-3 bytes, or malformed Error/Panic
 *         payload), PHR_ERR_NOMEM.
 */
PHR_WUR int phr_abi_revert_decode(struct phr_abi_revert *r, const uint8_t *data, size_t n);

/** Frees the message of @p r. */
void phr_abi_revert_release(struct phr_abi_revert *r);

#ifdef __cplusplus
}
#endif
#endif /* PHR_ABI_H */
