/*
 * Internals shared by the generated bindings (contracts_gen.c) and their runtime
 * (contracts_rt.c): writing the words of calls with static arguments directly, building JSON
 * argument arrays for phr_abi_encode_call (the other calls), copying decoded ABI values into
 * typed outputs, and reading single words (static results, indexed event fields).
 * Every function returns PHR_OK or a negative enum phr_err.
 */
#ifndef PHR_CONTRACTS_INT_H
#define PHR_CONTRACTS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "phr/abi.h"
#include "phr/core.h"
#include "phr/u256.h"

/* Arguments: append one JSON value of the given kind to array @p a. */
int phr_contracts_rt_json_address(json_t *a, const uint8_t v[20]);
int phr_contracts_rt_json_bool(json_t *a, bool v);
int phr_contracts_rt_json_u64(json_t *a, uint64_t v);
int phr_contracts_rt_json_u256(json_t *a, const struct phr_u256 *v);
/* bytesN or bytes: "0x" + hex; @p v may be NULL only when @p n is 0. */
int phr_contracts_rt_json_hex(json_t *a, const uint8_t *v, size_t n);
/* NULL is PHR_ERR_INVALID. */
int phr_contracts_rt_json_string(json_t *a, const char *s);
int phr_contracts_rt_json_address_array(json_t *a, const uint8_t (*v)[20], size_t n);

/*
 * Direct encoding (calls whose arguments are static, or one bytes tail): the generated
 * encoder range-checks its arguments, zeroes a stack buffer of selector + head words and
 * writes each word in place with these.
 */
/* Longest bytes argument: what the JSON path could hex-encode (longer is PHR_ERR_TOO_LARGE). */
#define PHR_CONTRACTS_RT_BYTES_MAX ((SIZE_MAX - 3) / 2)

static inline void phr_contracts_rt_put_selector(uint8_t w[4], uint32_t sel)
{
	w[0] = (uint8_t)(sel >> 24);
	w[1] = (uint8_t)(sel >> 16);
	w[2] = (uint8_t)(sel >> 8);
	w[3] = (uint8_t)sel;
}

/* Into a zeroed word: the low 8 bytes. */
static inline void phr_contracts_rt_put_u64(uint8_t w[32], uint64_t v)
{
	for (size_t i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(v >> (8 * i));
}

/* Into a zeroed word. */
static inline void phr_contracts_rt_put_bool(uint8_t w[32], bool v)
{
	w[31] = v ? 1 : 0;
}

/* Into a zeroed word: 12 zero bytes then the address. */
static inline void phr_contracts_rt_put_address(uint8_t w[32], const uint8_t a[20])
{
	memcpy(w + 12, a, 20);
}

/* Bytes of the tail of a bytes value of @p n bytes (n <= PHR_CONTRACTS_RT_BYTES_MAX). */
static inline size_t phr_contracts_rt_tail_len(size_t n)
{
	return 32 + (n + 31) / 32 * 32;
}

/*
 * Whether @p s is UTF-8 as jansson's json_string accepts it (RFC 3629: no overlong forms, no
 * surrogates, nothing over U+10FFFF); sets *@p len to strlen(s).
 */
bool phr_contracts_rt_utf8(const char *s, size_t *len);

/* Appends the tail of a bytes value: its length word, the bytes, zeros to a multiple of 32. */
int phr_contracts_rt_put_tail(struct phr_buf *out, const uint8_t *v, size_t n);

/* Append the ABI encoding of JSON array @p args as tuple type @p type (constructor arguments). */
int phr_contracts_rt_encode_args(struct phr_buf *out, const char *type, const json_t *args);

/* Parse @p type (a tuple type string) and decode @p data strictly; on error nothing is left. */
int phr_contracts_rt_decode(struct phr_abi_type **t, struct phr_abi_value **v, const char *type,
			    const uint8_t *data, size_t n);

/* Outputs from a decoded value. */
int phr_contracts_rt_get_fixed(uint8_t *out, size_t n, const struct phr_abi_value *v);
int phr_contracts_rt_get_bool(bool *out, const struct phr_abi_value *v);
int phr_contracts_rt_get_u64(uint64_t *out, const struct phr_abi_value *v);
int phr_contracts_rt_get_u256(struct phr_u256 *out, const struct phr_abi_value *v);
int phr_contracts_rt_get_buf(struct phr_buf *out, const struct phr_abi_value *v);
int phr_contracts_rt_get_address_array(struct phr_buf *out, const struct phr_abi_value *v);

/* Events. */
int phr_contracts_rt_event_check(const uint8_t (*topics)[32], size_t n_topics, const uint8_t topic0[32],
				 size_t n_indexed);
int phr_contracts_rt_topic_address(uint8_t out[20], const uint8_t t[32]);
int phr_contracts_rt_topic_bool(bool *out, const uint8_t t[32]);
int phr_contracts_rt_topic_u64(uint64_t *out, unsigned bits, const uint8_t t[32]);
int phr_contracts_rt_topic_u256(struct phr_u256 *out, const uint8_t t[32]);
/* Results with string/bytes (phr_abi_decode's checks, each PHR_ERR_TRUNCATED when failing): */
/* a whole word at @p at of @p n bytes; */
static inline int phr_contracts_rt_need(size_t n, size_t at)
{
	return at > n || n - at < 32 ? PHR_ERR_TRUNCATED : PHR_OK;
}
/* the offset word at @p head, relative to @p start, to the position @p at it points to; */
int phr_contracts_rt_offset(size_t *at, const uint8_t *d, size_t n, size_t head, size_t start);
/* the string/bytes at @p at (its length word, bytes, zero padding: PHR_ERR_NONCANONICAL). */
int phr_contracts_rt_bytes(const uint8_t **p, size_t *len, const uint8_t *d, size_t n, size_t at);
/* Appends @p n bytes to @p out (reserving when none, as phr_contracts_rt_get_buf). */
int phr_contracts_rt_put_buf(struct phr_buf *out, const uint8_t *p, size_t n);

/* A result word of a uintN (N > 64): PHR_ERR_NONCANONICAL when the value is wider than @p bits. */
int phr_contracts_rt_word_uint(struct phr_u256 *out, unsigned bits, const uint8_t t[32]);
int phr_contracts_rt_topic_fixed(uint8_t *out, size_t n, const uint8_t t[32]);

#endif /* PHR_CONTRACTS_INT_H */
