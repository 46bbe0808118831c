/*
 * Runtime of the generated contract bindings. Calls whose arguments are all static (or one
 * bytes tail) and results that are all static words are encoded/decoded by the generated code
 * itself with the word helpers here and in contracts_int.h (the same checks as the eth
 * module's codec; tests/contracts/test_contracts_direct.c compares them). Other calls: the
 * arguments become a JSON array handed to phr_abi_encode_call (which range-checks every
 * value against its Solidity type); other results and event data are decoded strictly by
 * phr_abi_decode and copied out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "contracts_int.h"

static int append(json_t *a, json_t *v)
{
	if (!v)
		return PHR_ERR_NOMEM;
	return json_array_append_new(a, v) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

int phr_contracts_rt_json_hex(json_t *a, const uint8_t *v, size_t n)
{
	char *s;
	int err;

	if (!v && n)
		return PHR_ERR_INVALID;
	if (n > (SIZE_MAX - 3) / 2)
		return PHR_ERR_TOO_LARGE;
	s = phr_malloc(PHR_HEX_LEN(n, true));
	if (!s)
		return PHR_ERR_NOMEM;
	err = phr_hex_encode(s, PHR_HEX_LEN(n, true), v ? v : (const uint8_t *)"", n, true);
	if (!err)
		err = append(a, json_string(s));
	phr_free(s);
	return err;
}

int phr_contracts_rt_json_address(json_t *a, const uint8_t v[20])
{
	if (!v)
		return PHR_ERR_INVALID;
	return phr_contracts_rt_json_hex(a, v, 20);
}

int phr_contracts_rt_json_bool(json_t *a, bool v)
{
	return append(a, json_boolean(v));
}

int phr_contracts_rt_json_u64(json_t *a, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	return append(a, json_string(s));
}

int phr_contracts_rt_json_u256(json_t *a, const struct phr_u256 *v)
{
	char s[PHR_U256_DEC_LEN];

	if (!v)
		return PHR_ERR_INVALID;
	phr_u256_to_dec(s, v);
	return append(a, json_string(s));
}

int phr_contracts_rt_json_string(json_t *a, const char *s)
{
	if (!s)
		return PHR_ERR_INVALID;
	/* jansson checks UTF-8; an invalid string is an invalid argument, not a crash */
	json_t *v = json_string(s);

	if (!v)
		return PHR_ERR_INVALID;
	return append(a, v);
}

int phr_contracts_rt_json_address_array(json_t *a, const uint8_t (*v)[20], size_t n)
{
	json_t *arr;
	int err = PHR_OK;

	if (!v && n)
		return PHR_ERR_INVALID;
	arr = json_array();
	if (!arr)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < n && !err; i++)
		err = phr_contracts_rt_json_hex(arr, v[i], 20);
	if (err) {
		json_decref(arr);
		return err;
	}
	return append(a, arr);
}

int phr_contracts_rt_encode_args(struct phr_buf *out, const char *type, const json_t *args)
{
	struct phr_abi_type *ty = NULL;
	struct phr_abi_value *val = NULL;
	int err = phr_abi_type_parse(&ty, type);

	if (err)
		return err == PHR_ERR_NOMEM ? err : PHR_ERR_INTERNAL;
	err = phr_abi_value_from_json(&val, ty, args);
	if (!err)
		err = phr_abi_encode(out, val);
	phr_abi_value_free(val);
	phr_abi_type_free(ty);
	return err;
}

int phr_contracts_rt_decode(struct phr_abi_type **t, struct phr_abi_value **v, const char *type,
			    const uint8_t *data, size_t n)
{
	struct phr_abi_type *ty = NULL;
	struct phr_abi_value *val = NULL;
	int err;

	if (!data && n)
		return PHR_ERR_INVALID;
	err = phr_abi_type_parse(&ty, type);
	if (err)
		return err == PHR_ERR_NOMEM ? err : PHR_ERR_INTERNAL;
	err = phr_abi_decode(&val, ty, data ? data : (const uint8_t *)"", n);
	if (err) {
		phr_abi_type_free(ty);
		return err;
	}
	*t = ty;
	*v = val;
	return PHR_OK;
}

int phr_contracts_rt_get_fixed(uint8_t *out, size_t n, const struct phr_abi_value *v)
{
	if (v->len != n || !v->bytes)
		return PHR_ERR_INTERNAL;
	memcpy(out, v->bytes, n);
	return PHR_OK;
}

int phr_contracts_rt_get_bool(bool *out, const struct phr_abi_value *v)
{
	*out = !phr_u256_is_zero(&v->num);
	return PHR_OK;
}

int phr_contracts_rt_get_u64(uint64_t *out, const struct phr_abi_value *v)
{
	if (!phr_u256_fits_u64(&v->num))
		return PHR_ERR_RANGE;
	*out = v->num.w[0];
	return PHR_OK;
}

int phr_contracts_rt_get_u256(struct phr_u256 *out, const struct phr_abi_value *v)
{
	*out = v->num;
	return PHR_OK;
}

int phr_contracts_rt_put_buf(struct phr_buf *out, const uint8_t *p, size_t n)
{
	if (!n)
		return phr_buf_reserve(out, 0);
	return phr_buf_append(out, p, n);
}

int phr_contracts_rt_get_buf(struct phr_buf *out, const struct phr_abi_value *v)
{
	return phr_contracts_rt_put_buf(out, v->bytes, v->len);
}

/* An offset or length word at @p at: fits in size_t and at most @p n (phr_abi_decode's rule). */
static int read_size(size_t *out, const uint8_t *d, size_t n, size_t at)
{
	uint64_t v = 0;

	if (phr_contracts_rt_need(n, at))
		return PHR_ERR_TRUNCATED;
	for (size_t i = 0; i < 24; i++)
		if (d[at + i])
			return PHR_ERR_TRUNCATED;
	for (size_t i = 24; i < 32; i++)
		v = (v << 8) | d[at + i];
	if (v > n)
		return PHR_ERR_TRUNCATED;
	*out = (size_t)v;
	return PHR_OK;
}

int phr_contracts_rt_offset(size_t *at, const uint8_t *d, size_t n, size_t head, size_t start)
{
	size_t off;
	int err = read_size(&off, d, n, head);

	if (err)
		return err;
	if (start > n || off > n - start)
		return PHR_ERR_TRUNCATED;
	*at = start + off;
	return PHR_OK;
}

int phr_contracts_rt_bytes(const uint8_t **p, size_t *len, const uint8_t *d, size_t n, size_t at)
{
	size_t l, padded;
	int err;

	if (at > n)
		return PHR_ERR_TRUNCATED;
	err = read_size(&l, d, n, at);
	if (err)
		return err;
	padded = (l + 31) / 32 * 32;
	if (padded < l || n - at - 32 < padded)
		return PHR_ERR_TRUNCATED;
	for (size_t i = l; i < padded; i++)
		if (d[at + 32 + i])
			return PHR_ERR_NONCANONICAL;
	*p = d + at + 32;
	*len = l;
	return PHR_OK;
}

int phr_contracts_rt_get_address_array(struct phr_buf *out, const struct phr_abi_value *v)
{
	int err = phr_buf_reserve(out, 0);

	for (size_t i = 0; i < v->n_items && !err; i++) {
		if (v->items[i].len != 20)
			return PHR_ERR_INTERNAL;
		err = phr_buf_append(out, v->items[i].bytes, 20);
	}
	return err;
}

int phr_contracts_rt_event_check(const uint8_t (*topics)[32], size_t n_topics, const uint8_t topic0[32],
				 size_t n_indexed)
{
	if (!topics || n_topics != n_indexed + 1)
		return PHR_ERR_INVALID;
	if (memcmp(topics[0], topic0, 32) != 0)
		return PHR_ERR_INVALID;
	return PHR_OK;
}

static bool zero_prefix(const uint8_t t[32], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i])
			return false;
	return true;
}

int phr_contracts_rt_topic_address(uint8_t out[20], const uint8_t t[32])
{
	if (!zero_prefix(t, 12))
		return PHR_ERR_NONCANONICAL;
	memcpy(out, t + 12, 20);
	return PHR_OK;
}

int phr_contracts_rt_topic_bool(bool *out, const uint8_t t[32])
{
	if (!zero_prefix(t, 31) || t[31] > 1)
		return PHR_ERR_NONCANONICAL;
	*out = t[31] == 1;
	return PHR_OK;
}

int phr_contracts_rt_topic_u64(uint64_t *out, unsigned bits, const uint8_t t[32])
{
	uint64_t v = 0;

	if (!zero_prefix(t, 24))
		return PHR_ERR_NONCANONICAL;
	for (size_t i = 24; i < 32; i++)
		v = (v << 8) | t[i];
	if (bits < 64 && (v >> bits) != 0)
		return PHR_ERR_NONCANONICAL;
	*out = v;
	return PHR_OK;
}

int phr_contracts_rt_topic_u256(struct phr_u256 *out, const uint8_t t[32])
{
	phr_u256_from_be(out, t);
	return PHR_OK;
}

int phr_contracts_rt_word_uint(struct phr_u256 *out, unsigned bits, const uint8_t t[32])
{
	struct phr_u256 v;

	phr_u256_from_be(&v, t);
	if (phr_u256_bits(&v) > bits)
		return PHR_ERR_NONCANONICAL;
	*out = v;
	return PHR_OK;
}

bool phr_contracts_rt_utf8(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (p[i]) {
		unsigned c = p[i], need;
		uint32_t v;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, v = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, v = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, v = c & 0x07;
		else
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80) /* also stops at the NUL */
				return false;
			v = (v << 6) | (p[i + k] & 0x3f);
		}
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (need == 2 && v < 0x800) ||
		    (need == 3 && v < 0x10000))
			return false;
		i += need + 1;
	}
	*len = i;
	return true;
}

int phr_contracts_rt_put_tail(struct phr_buf *out, const uint8_t *v, size_t n)
{
	static const uint8_t zero[32];
	uint8_t w[32] = { 0 };
	int err;

	phr_contracts_rt_put_u64(w, (uint64_t)n);
	err = phr_buf_append(out, w, 32);
	if (!err && n)
		err = phr_buf_append(out, v, n);
	if (!err && n % 32)
		err = phr_buf_append(out, zero, 32 - n % 32);
	return err;
}

int phr_contracts_rt_topic_fixed(uint8_t *out, size_t n, const uint8_t t[32])
{
	if (n > 32 || !zero_prefix(t + n, 32 - n))
		return PHR_ERR_NONCANONICAL;
	memcpy(out, t, n);
	return PHR_OK;
}
