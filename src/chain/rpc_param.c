/*
 * Decoders for Ethereum JSON-RPC parameters (quantities, data, addresses,
 * block references, call objects) and encoders for results.
 */
#include "phr/rpc.h"

/* "0x" + 1..64 hex digits (leading zeros tolerated) into a u256. */
static bool parse_quantity(struct phr_u256 *v, const char *s, size_t n)
{
	uint8_t be[32];
	size_t got = 0;

	if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	s += 2;
	n -= 2;
	while (n > 1 && s[0] == '0') {
		s++;
		n--;
	}
	if (n > 64 || phr_hex_decode(be, sizeof(be), &got, s, n) != PHR_OK)
		return false;
	phr_u256_from_be_n(v, be, got);
	return true;
}

int phr_rpc_param_u256(struct phr_u256 *v, struct phr_rpc_error *err, const json_t *j,
		       const char *what)
{
	struct phr_u256 r;

	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		*v = phr_u256_from_u64((uint64_t)json_integer_value(j));
		return PHR_OK;
	}
	if (!json_is_string(j) || !parse_quantity(&r, json_string_value(j), json_string_length(j)))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "invalid %s: hex quantity expected",
					 what);
	*v = r;
	return PHR_OK;
}

int phr_rpc_param_u64(uint64_t *v, struct phr_rpc_error *err, const json_t *j, const char *what)
{
	struct phr_u256 r;
	int rc = phr_rpc_param_u256(&r, err, j, what);

	if (rc != PHR_OK)
		return rc;
	if (!phr_u256_fits_u64(&r))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "invalid %s: exceeds 64 bits",
					 what);
	*v = r.w[0];
	return PHR_OK;
}

/* Decodes "0x" + exactly 2*n hex digits. */
static int fixed_hex(uint8_t *out, size_t n, struct phr_rpc_error *err, const json_t *j,
		     const char *what)
{
	const char *s;
	uint8_t tmp[32];

	if (!json_is_string(j) || json_string_length(j) != 2 + 2 * n)
		goto bad;
	s = json_string_value(j);
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || phr_hex_decode_exact(tmp, n, s) != PHR_OK)
		goto bad;
	memcpy(out, tmp, n);
	return PHR_OK;
bad:
	return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "invalid %s: %zu-byte hex expected", what,
				 n);
}

int phr_rpc_param_address(uint8_t addr[20], struct phr_rpc_error *err, const json_t *j,
			  const char *what)
{
	return fixed_hex(addr, 20, err, j, what);
}

int phr_rpc_param_hash(uint8_t hash[32], struct phr_rpc_error *err, const json_t *j,
		       const char *what)
{
	return fixed_hex(hash, 32, err, j, what);
}

int phr_rpc_param_slot(uint8_t slot[32], struct phr_rpc_error *err, const json_t *j,
		       const char *what)
{
	struct phr_u256 v;

	if (phr_rpc_param_u256(&v, err, j, what) != PHR_OK)
		return PHR_ERR_INVALID;
	phr_u256_to_be(slot, &v);
	return PHR_OK;
}

int phr_rpc_param_bytes(uint8_t **data, size_t *len, struct phr_rpc_error *err, const json_t *j,
			size_t max, const char *what)
{
	const char *s;
	size_t n, bytes, got = 0;
	uint8_t *p = NULL;

	if (!json_is_string(j))
		goto bad;
	s = json_string_value(j);
	n = json_string_length(j);
	if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || (n & 1))
		goto bad;
	bytes = (n - 2) / 2;
	if (bytes > max)
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "invalid %s: too long", what);
	if (bytes) {
		p = phr_malloc(bytes);
		if (!p)
			return phr_rpc_error_set(err, PHR_RPC_INTERNAL_ERROR, "out of memory");
		if (phr_hex_decode(p, bytes, &got, s + 2, n - 2) != PHR_OK || got != bytes) {
			phr_free(p);
			goto bad;
		}
	}
	*data = p;
	*len = bytes;
	return PHR_OK;
bad:
	return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "invalid %s: hex data expected", what);
}

int phr_rpc_param_block(struct phr_rpc_block_ref *ref, struct phr_rpc_error *err, const json_t *j)
{
	static const struct {
		const char *name;
		enum phr_rpc_block_kind kind;
	} tags[] = {
		{ "latest", PHR_RPC_BLOCK_LATEST },       { "earliest", PHR_RPC_BLOCK_EARLIEST },
		{ "pending", PHR_RPC_BLOCK_PENDING },     { "safe", PHR_RPC_BLOCK_SAFE },
		{ "finalized", PHR_RPC_BLOCK_FINALIZED },
	};
	struct phr_rpc_block_ref r = { 0 };
	size_t i;

	if (!j || json_is_null(j)) {
		*ref = r;
		return PHR_OK;
	}
	if (json_is_object(j)) {
		const json_t *h = json_object_get(j, "blockHash"), *n = json_object_get(j, "blockNumber");

		if (h && !n) {
			if (phr_rpc_param_hash(r.hash, err, h, "blockHash") != PHR_OK)
				return PHR_ERR_INVALID;
			r.kind = PHR_RPC_BLOCK_HASH;
			*ref = r;
			return PHR_OK;
		}
		if (n && !h)
			return phr_rpc_param_block(ref, err, n);
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS,
					 "invalid block: blockHash or blockNumber expected");
	}
	if (json_is_string(j)) {
		for (i = 0; i < PHR_ARRAY_LEN(tags); i++) {
			if (strcmp(json_string_value(j), tags[i].name) == 0) {
				r.kind = tags[i].kind;
				*ref = r;
				return PHR_OK;
			}
		}
	}
	if (phr_rpc_param_u64(&r.number, err, j, "block number") != PHR_OK)
		return PHR_ERR_INVALID;
	r.kind = PHR_RPC_BLOCK_NUMBER;
	*ref = r;
	return PHR_OK;
}

/* An optional member: absent or null leaves *has false. */
#define OPT(name) ((v = json_object_get(j, name)) != NULL && !json_is_null(v))

int phr_rpc_param_call(struct phr_rpc_call *call, struct phr_rpc_error *err, const json_t *j)
{
	struct phr_rpc_call c = { 0 };
	const json_t *v, *in, *data;
	uint8_t *d2 = NULL;
	size_t d2_len = 0;

	if (!json_is_object(j))
		return phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS, "transaction object expected");
	if (OPT("from")) {
		if (phr_rpc_param_address(c.from, err, v, "from") != PHR_OK)
			goto bad;
		c.has_from = true;
	}
	if (OPT("to")) {
		if (phr_rpc_param_address(c.to, err, v, "to") != PHR_OK)
			goto bad;
		c.has_to = true;
	}
	if (OPT("gas")) {
		if (phr_rpc_param_u64(&c.gas, err, v, "gas") != PHR_OK)
			goto bad;
		c.has_gas = true;
	}
	if (OPT("gasPrice")) {
		if (phr_rpc_param_u256(&c.gas_price, err, v, "gasPrice") != PHR_OK)
			goto bad;
		c.has_gas_price = true;
	}
	if (OPT("maxFeePerGas")) {
		if (phr_rpc_param_u256(&c.max_fee, err, v, "maxFeePerGas") != PHR_OK)
			goto bad;
		c.has_max_fee = true;
	}
	if (OPT("maxPriorityFeePerGas")) {
		if (phr_rpc_param_u256(&c.max_priority, err, v, "maxPriorityFeePerGas") != PHR_OK)
			goto bad;
		c.has_max_priority = true;
	}
	if (OPT("value")) {
		if (phr_rpc_param_u256(&c.value, err, v, "value") != PHR_OK)
			goto bad;
		c.has_value = true;
	}
	if (OPT("nonce")) {
		if (phr_rpc_param_u64(&c.nonce, err, v, "nonce") != PHR_OK)
			goto bad;
		c.has_nonce = true;
	}
	in = json_object_get(j, "input");
	data = json_object_get(j, "data");
	if (in && !json_is_null(in)) {
		if (phr_rpc_param_bytes(&c.data, &c.data_len, err, in, PHR_RPC_MAX_BODY, "input") != PHR_OK)
			goto bad;
	}
	if (data && !json_is_null(data)) {
		if (phr_rpc_param_bytes(&d2, &d2_len, err, data, PHR_RPC_MAX_BODY, "data") != PHR_OK)
			goto bad;
		if (in && !json_is_null(in)) {
			bool same = d2_len == c.data_len && (d2_len == 0 || memcmp(d2, c.data, d2_len) == 0);

			phr_free(d2);
			if (!same) {
				phr_rpc_error_set(err, PHR_RPC_INVALID_PARAMS,
						  "both \"data\" and \"input\" are set and not equal");
				goto bad;
			}
		} else {
			c.data = d2;
			c.data_len = d2_len;
		}
	}
	*call = c;
	return PHR_OK;
bad:
	phr_free(c.data);
	return PHR_ERR_INVALID;
}

void phr_rpc_call_release(struct phr_rpc_call *call)
{
	phr_free(call->data);
	call->data = NULL;
	call->data_len = 0;
}

json_t *phr_rpc_quantity(uint64_t v)
{
	char s[19];

	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	return json_string(s);
}

json_t *phr_rpc_quantity_u256(const struct phr_u256 *v)
{
	char s[67];

	phr_u256_to_quantity(s, v);
	return json_string(s);
}

json_t *phr_rpc_data(const uint8_t *p, size_t n)
{
	char *s = phr_malloc(PHR_HEX_LEN(n, true));
	json_t *j = NULL;

	if (!s)
		return NULL;
	if (phr_hex_encode(s, PHR_HEX_LEN(n, true), p, n, true) == PHR_OK)
		j = json_stringn(s, 2 + 2 * n);
	phr_free(s);
	return j;
}
