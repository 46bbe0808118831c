/*
 * EIP-712 typed structured data hashing (see include/phr/eip712.h).
 * Atomic values are encoded through the ABI module so that integer ranges,
 * address checksums and bytesN lengths follow one set of rules.
 */
#include <string.h>

#include "eth_int.h"
#include "phr/abi.h"
#include "phr/crypto.h"
#include "phr/eip712.h"

#define MAX_TYPES 256

/* The field list of struct @p name, or NULL. */
static const json_t *fields_of(const json_t *types, const char *name)
{
	const json_t *f = json_object_get(types, name);
	return json_is_array(f) ? f : NULL;
}

/* Length of the struct/base name of a field type: "Person[2][]" -> 6. */
static size_t base_len(const char *type)
{
	const char *b = strchr(type, '[');
	return b ? (size_t)(b - type) : strlen(type);
}

static int field_parts(const json_t *field, const char **name, const char **type)
{
	*name = json_string_value(json_object_get(field, "name"));
	*type = json_string_value(json_object_get(field, "type"));
	return *name && *type && **type ? PHR_OK : PHR_ERR_INVALID;
}

/* Collects the struct types reachable from @p name (excluding those already in @p seen). */
static int collect(const char **seen, size_t *n, const json_t *types, const char *name)
{
	const json_t *fields = fields_of(types, name);
	size_t i;
	const json_t *f;
	if (!fields)
		return PHR_ERR_INVALID;
	for (size_t k = 0; k < *n; k++)
		if (strcmp(seen[k], name) == 0)
			return PHR_OK;
	if (*n == MAX_TYPES)
		return PHR_ERR_TOO_LARGE;
	seen[(*n)++] = name;
	json_array_foreach(fields, i, f) {
		const char *fname, *ftype;
		int rc = field_parts(f, &fname, &ftype);
		if (rc != PHR_OK)
			return rc;
		size_t bl = base_len(ftype);
		/* a struct reference: a key of types with exactly the base name */
		const char *key;
		const json_t *val;
		json_object_foreach((json_t *)types, key, val) {
			if (strlen(key) == bl && strncmp(key, ftype, bl) == 0) {
				rc = collect(seen, n, types, key);
				if (rc != PHR_OK)
					return rc;
				break;
			}
		}
	}
	return PHR_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int append_one(struct phr_buf *out, const json_t *types, const char *name)
{
	const json_t *fields = fields_of(types, name);
	size_t i;
	const json_t *f;
	int rc = phr_buf_appendf(out, "%s(", name);
	json_array_foreach(fields, i, f) {
		const char *fname, *ftype;
		if (rc == PHR_OK)
			rc = field_parts(f, &fname, &ftype);
		if (rc == PHR_OK)
			rc = phr_buf_appendf(out, "%s%s %s", i ? "," : "", ftype, fname);
	}
	return rc == PHR_OK ? phr_buf_append_byte(out, ')') : rc;
}

int phr_eip712_encode_type(struct phr_buf *out, const json_t *types, const char *type)
{
	const char **seen = phr_calloc(MAX_TYPES, sizeof(*seen));
	size_t n = 0;
	if (!seen)
		return PHR_ERR_NOMEM;
	int rc = collect(seen, &n, types, type);
	if (rc == PHR_OK && n > 1)
		qsort(seen + 1, n - 1, sizeof(*seen), cmp_names);
	for (size_t i = 0; rc == PHR_OK && i < n; i++)
		rc = append_one(out, types, seen[i]);
	phr_free(seen);
	return rc;
}

static int type_hash(uint8_t out[32], const json_t *types, const char *type)
{
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int rc = phr_eip712_encode_type(&b, types, type);
	if (rc == PHR_OK)
		phr_keccak256(out, b.data, b.len);
	phr_buf_release(&b);
	return rc;
}

static int hash_struct(uint8_t out[32], const json_t *types, const char *type, const json_t *data,
		       unsigned depth);

/* The 32-byte ABI word of an atomic value (uintN, intN, bool, address, bytesN). */
static int atomic_word(uint8_t out[32], const char *type, const json_t *value)
{
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	struct phr_buf b;
	phr_buf_init(&b, 64);
	int rc = phr_abi_type_parse(&t, type);
	if (rc == PHR_OK && (t->dynamic || t->kind == PHR_ABI_TUPLE || t->kind == PHR_ABI_FIXED_ARRAY))
		rc = PHR_ERR_INVALID;
	if (rc == PHR_ERR_PARSE)
		rc = PHR_ERR_INVALID;
	/* EIP-712 JSON commonly gives bools as JSON bools and numbers as strings */
	if (rc == PHR_OK)
		rc = phr_abi_value_from_json(&v, t, value);
	if (rc == PHR_OK)
		rc = phr_abi_encode(&b, v);
	if (rc == PHR_OK && b.len == 32)
		memcpy(out, b.data, 32);
	else if (rc == PHR_OK)
		rc = PHR_ERR_INTERNAL;
	phr_buf_release(&b);
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	return rc;
}

/* encodeData of one field value of type @p type (length @p tl of the string). */
static int encode_field(uint8_t out[32], const json_t *types, const char *type, size_t tl,
			const json_t *value, unsigned depth)
{
	if (depth > PHR_EIP712_MAX_DEPTH)
		return PHR_ERR_TOO_LARGE;
	if (!value)
		return PHR_ERR_INVALID;
	if (tl > 0 && type[tl - 1] == ']') {
		/* array: keccak of the concatenated element encodings */
		size_t open = tl - 1;
		while (open > 0 && type[open] != '[')
			open--;
		if (type[open] != '[' || !json_is_array(value))
			return PHR_ERR_INVALID;
		if (open + 2 < tl) {
			char *end;
			char num[16];
			size_t dl = tl - open - 2;
			if (dl >= sizeof(num))
				return PHR_ERR_INVALID;
			memcpy(num, type + open + 1, dl);
			num[dl] = 0;
			unsigned long k = strtoul(num, &end, 10);
			if (*end || k != json_array_size(value))
				return PHR_ERR_INVALID;
		}
		struct phr_keccak kc;
		size_t i;
		const json_t *item;
		phr_keccak_init(&kc);
		json_array_foreach(value, i, item) {
			uint8_t w[32];
			int rc = encode_field(w, types, type, open, item, depth + 1);
			if (rc != PHR_OK)
				return rc;
			phr_keccak_update(&kc, w, 32);
		}
		phr_keccak_final(&kc, out);
		return PHR_OK;
	}
	char name[128];
	if (tl >= sizeof(name))
		return PHR_ERR_INVALID;
	memcpy(name, type, tl);
	name[tl] = 0;
	if (fields_of(types, name))
		return hash_struct(out, types, name, value, depth + 1);
	if (strcmp(name, "string") == 0) {
		if (!json_is_string(value))
			return PHR_ERR_INVALID;
		phr_keccak256(out, json_string_value(value), json_string_length(value));
		return PHR_OK;
	}
	if (strcmp(name, "bytes") == 0) {
		uint8_t *d = NULL;
		size_t n = 0;
		int rc = phr_eth_json_unhex(&d, &n, value);
		if (rc == PHR_OK)
			phr_keccak256(out, d, n);
		phr_free(d);
		return rc;
	}
	return atomic_word(out, name, value);
}

static int hash_struct(uint8_t out[32], const json_t *types, const char *type, const json_t *data,
		       unsigned depth)
{
	const json_t *fields = fields_of(types, type);
	struct phr_keccak kc;
	uint8_t th[32];
	size_t i;
	const json_t *f;
	if (depth > PHR_EIP712_MAX_DEPTH)
		return PHR_ERR_TOO_LARGE;
	if (!fields || !json_is_object(data))
		return PHR_ERR_INVALID;
	int rc = type_hash(th, types, type);
	if (rc != PHR_OK)
		return rc;
	phr_keccak_init(&kc);
	phr_keccak_update(&kc, th, 32);
	json_array_foreach(fields, i, f) {
		const char *fname, *ftype;
		uint8_t w[32];
		rc = field_parts(f, &fname, &ftype);
		if (rc == PHR_OK)
			rc = encode_field(w, types, ftype, strlen(ftype), json_object_get(data, fname), depth);
		if (rc != PHR_OK)
			return rc;
		phr_keccak_update(&kc, w, 32);
	}
	phr_keccak_final(&kc, out);
	return PHR_OK;
}

int phr_eip712_hash_struct(uint8_t out[32], const json_t *types, const char *type, const json_t *data)
{
	return hash_struct(out, types, type, data, 0);
}

int phr_eip712_domain_separator(uint8_t out[32], const json_t *typed)
{
	static const char *const dom_fields[][2] = {
		{ "name", "string" },           { "version", "string" }, { "chainId", "uint256" },
		{ "verifyingContract", "address" }, { "salt", "bytes32" },
	};
	const json_t *types = json_object_get(typed, "types");
	const json_t *domain = json_object_get(typed, "domain");
	if (!json_is_object(types) || !json_is_object(domain))
		return PHR_ERR_INVALID;
	if (fields_of(types, "EIP712Domain"))
		return hash_struct(out, types, "EIP712Domain", domain, 0);
	/* derive EIP712Domain from the fields present, in the standard order */
	json_t *t2 = json_deep_copy(types), *df = json_array();
	int rc = t2 && df ? PHR_OK : PHR_ERR_NOMEM;
	for (size_t i = 0; rc == PHR_OK && i < PHR_ARRAY_LEN(dom_fields); i++) {
		if (!json_object_get(domain, dom_fields[i][0]))
			continue;
		if (json_array_append_new(df, json_pack("{ssss}", "name", dom_fields[i][0], "type",
							dom_fields[i][1])) != 0)
			rc = PHR_ERR_NOMEM;
	}
	if (rc == PHR_OK && json_object_set(t2, "EIP712Domain", df) != 0)
		rc = PHR_ERR_NOMEM;
	if (rc == PHR_OK)
		rc = hash_struct(out, t2, "EIP712Domain", domain, 0);
	json_decref(df);
	json_decref(t2);
	return rc;
}

int phr_eip712_hash(uint8_t out[32], const json_t *typed)
{
	const json_t *types = json_object_get(typed, "types");
	const char *primary = json_string_value(json_object_get(typed, "primaryType"));
	uint8_t buf[66] = { 0x19, 0x01 };
	if (!json_is_object(types) || !primary)
		return PHR_ERR_INVALID;
	int rc = phr_eip712_domain_separator(buf + 2, typed);
	if (rc != PHR_OK)
		return rc;
	if (strcmp(primary, "EIP712Domain") == 0) {
		phr_keccak256(out, buf, 34);
		return PHR_OK;
	}
	rc = hash_struct(buf + 34, types, primary, json_object_get(typed, "message"), 0);
	if (rc != PHR_OK)
		return rc;
	phr_keccak256(out, buf, 66);
	return PHR_OK;
}

int phr_eip712_hash_json(uint8_t out[32], const char *json, size_t len)
{
	json_error_t err;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return PHR_ERR_PARSE;
	int rc = phr_eip712_hash(out, j);
	json_decref(j);
	return rc;
}

int phr_eip712_sign(uint8_t sig[PHR_ETH_SIG_BYTES], const json_t *typed, const uint8_t seckey[32])
{
	uint8_t h[32];
	int rc = phr_eip712_hash(h, typed);
	return rc == PHR_OK ? phr_eth_sign_hash(sig, h, seckey) : rc;
}

int phr_eip712_recover(uint8_t addr[20], const json_t *typed, const uint8_t sig[PHR_ETH_SIG_BYTES])
{
	uint8_t h[32];
	int rc = phr_eip712_hash(h, typed);
	return rc == PHR_OK ? phr_eth_recover_hash(addr, h, sig) : rc;
}
