/*
 * Solidity ABI (see include/phr/abi.h and the Solidity "Contract ABI
 * Specification").
 */
#include "phr/abi.h"

#include <ctype.h>
#include <string.h>

#include "eth_int.h"
#include "phr/crypto.h"

/* Static encodings larger than this are refused by the type parser. */
#define ABI_MAX_HEAD ((size_t)1 << 26)

/* ---------------------------------------------------------------- types */

struct tparser {
	const char *p;
	unsigned depth;
};

static void skip_ws(struct tparser *tp)
{
	while (*tp->p == ' ' || *tp->p == '\t')
		tp->p++;
}

void phr_abi_type_free(struct phr_abi_type *t)
{
	if (!t)
		return;
	phr_abi_type_free(t->elem);
	for (size_t i = 0; i < t->n_members; i++)
		phr_abi_type_free(t->members[i]);
	phr_free(t->members);
	phr_free(t);
}

static struct phr_abi_type *type_new(enum phr_abi_kind kind)
{
	struct phr_abi_type *t = phr_calloc(1, sizeof(*t));
	if (t) {
		t->kind = kind;
		t->head_size = 32;
	}
	return t;
}

/* Reads a decimal number without leading zeros: -1 if none or bad, -2 if above max. */
static long read_small(struct tparser *tp, long max)
{
	long v = 0;
	int digits = 0;
	if (*tp->p == '0' && isdigit((unsigned char)tp->p[1]))
		return -1;
	while (isdigit((unsigned char)*tp->p)) {
		v = v * 10 + (*tp->p - '0');
		tp->p++;
		if (++digits > 6 || v > max)
			return -2;
	}
	return digits ? v : -1;
}

static int parse_elementary(struct phr_abi_type **out, struct tparser *tp)
{
	static const struct {
		const char *name;
		enum phr_abi_kind kind;
	} names[] = {
		{ "address", PHR_ABI_ADDRESS }, { "bool", PHR_ABI_BOOL }, { "string", PHR_ABI_STRING },
		{ "bytes", PHR_ABI_BYTES },     { "uint", PHR_ABI_UINT }, { "int", PHR_ABI_INT },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(names); i++) {
		size_t nl = strlen(names[i].name);
		if (strncmp(tp->p, names[i].name, nl) != 0)
			continue;
		tp->p += nl;
		enum phr_abi_kind kind = names[i].kind;
		unsigned bits = 0;
		if (kind == PHR_ABI_UINT || kind == PHR_ABI_INT) {
			bits = 256;
			if (isdigit((unsigned char)*tp->p)) {
				long n = read_small(tp, 256);
				if (n < 8 || n % 8)
					return PHR_ERR_PARSE;
				bits = (unsigned)n;
			}
		} else if (kind == PHR_ABI_BYTES && isdigit((unsigned char)*tp->p)) {
			long n = read_small(tp, 32);
			if (n < 1)
				return PHR_ERR_PARSE;
			kind = PHR_ABI_FIXED_BYTES;
			bits = (unsigned)n * 8;
		}
		if (isalnum((unsigned char)*tp->p) || *tp->p == '_')
			return PHR_ERR_PARSE;
		struct phr_abi_type *t = type_new(kind);
		if (!t)
			return PHR_ERR_NOMEM;
		t->bits = bits;
		t->dynamic = kind == PHR_ABI_BYTES || kind == PHR_ABI_STRING;
		*out = t;
		return PHR_OK;
	}
	return PHR_ERR_PARSE;
}

static int parse_type(struct phr_abi_type **out, struct tparser *tp);

static int parse_tuple(struct phr_abi_type **out, struct tparser *tp)
{
	struct phr_abi_type *t = type_new(PHR_ABI_TUPLE);
	int rc = PHR_OK;
	if (!t)
		return PHR_ERR_NOMEM;
	t->head_size = 0;
	tp->p++; /* '(' */
	skip_ws(tp);
	if (*tp->p == ')') {
		tp->p++;
		*out = t;
		return PHR_OK;
	}
	for (;;) {
		struct phr_abi_type *m = NULL;
		rc = parse_type(&m, tp);
		if (rc != PHR_OK)
			break;
		struct phr_abi_type **mm =
			phr_realloc(t->members, (t->n_members + 1) * sizeof(*mm));
		if (!mm) {
			phr_abi_type_free(m);
			rc = PHR_ERR_NOMEM;
			break;
		}
		t->members = mm;
		mm[t->n_members++] = m;
		/* zero-size members ("()", nested) would decode to values that take no
		 * bytes, defeating the decoder's size-proportional budget; Solidity has
		 * no empty structs */
		if (!m->dynamic && m->head_size == 0) {
			rc = PHR_ERR_UNSUPPORTED;
			break;
		}
		t->dynamic |= m->dynamic;
		t->head_size += m->dynamic ? 32 : m->head_size;
		if (t->head_size > ABI_MAX_HEAD) {
			rc = PHR_ERR_TOO_LARGE;
			break;
		}
		skip_ws(tp);
		if (*tp->p == ',') {
			tp->p++;
			skip_ws(tp);
			continue;
		}
		if (*tp->p == ')') {
			tp->p++;
			break;
		}
		rc = PHR_ERR_PARSE;
		break;
	}
	if (rc != PHR_OK) {
		phr_abi_type_free(t);
		return rc;
	}
	if (t->dynamic)
		t->head_size = 32;
	*out = t;
	return PHR_OK;
}

static int parse_type(struct phr_abi_type **out, struct tparser *tp)
{
	struct phr_abi_type *t = NULL;
	int rc;
	if (++tp->depth > PHR_ABI_MAX_DEPTH)
		return PHR_ERR_TOO_LARGE;
	skip_ws(tp);
	rc = *tp->p == '(' ? parse_tuple(&t, tp) : parse_elementary(&t, tp);
	while (rc == PHR_OK && *tp->p == '[') {
		struct phr_abi_type *a;
		long k = -1;
		tp->p++;
		if (*tp->p != ']') {
			k = read_small(tp, PHR_ABI_MAX_FIXED_LEN);
			if (k < 0) {
				rc = k == -2 ? PHR_ERR_TOO_LARGE : PHR_ERR_PARSE;
				break;
			}
		}
		if (*tp->p != ']') {
			rc = PHR_ERR_PARSE;
			break;
		}
		tp->p++;
		if (++tp->depth > PHR_ABI_MAX_DEPTH) {
			rc = PHR_ERR_TOO_LARGE;
			break;
		}
		a = type_new(k < 0 ? PHR_ABI_ARRAY : PHR_ABI_FIXED_ARRAY);
		if (!a) {
			rc = PHR_ERR_NOMEM;
			break;
		}
		a->elem = t;
		t = a;
		/* zero-length arrays (Solidity rejects them) and arrays of zero-size
		 * elements: see parse_tuple */
		if (k == 0 || (!a->elem->dynamic && a->elem->head_size == 0)) {
			rc = PHR_ERR_UNSUPPORTED;
			break;
		}
		if (k < 0) {
			a->dynamic = true;
		} else {
			a->length = (size_t)k;
			a->dynamic = a->elem->dynamic;
			if (!a->dynamic) {
				if (a->elem->head_size && a->length > ABI_MAX_HEAD / a->elem->head_size) {
					rc = PHR_ERR_TOO_LARGE;
					break;
				}
				a->head_size = a->length * a->elem->head_size;
			}
		}
	}
	if (rc != PHR_OK) {
		phr_abi_type_free(t);
		return rc;
	}
	*out = t;
	return PHR_OK;
}

int phr_abi_type_parse(struct phr_abi_type **type, const char *s)
{
	struct tparser tp = { s, 0 };
	struct phr_abi_type *t = NULL;
	int rc = parse_type(&t, &tp);
	if (rc == PHR_OK) {
		skip_ws(&tp);
		if (*tp.p) {
			phr_abi_type_free(t);
			return PHR_ERR_PARSE;
		}
		*type = t;
	}
	return rc;
}

bool phr_abi_type_is_dynamic(const struct phr_abi_type *type)
{
	return type->dynamic;
}

int phr_abi_type_canonical(struct phr_buf *out, const struct phr_abi_type *t)
{
	int rc = PHR_OK;
	switch (t->kind) {
	case PHR_ABI_UINT:
		return phr_buf_appendf(out, "uint%u", t->bits);
	case PHR_ABI_INT:
		return phr_buf_appendf(out, "int%u", t->bits);
	case PHR_ABI_ADDRESS:
		return phr_buf_append_str(out, "address");
	case PHR_ABI_BOOL:
		return phr_buf_append_str(out, "bool");
	case PHR_ABI_FIXED_BYTES:
		return phr_buf_appendf(out, "bytes%u", t->bits / 8);
	case PHR_ABI_BYTES:
		return phr_buf_append_str(out, "bytes");
	case PHR_ABI_STRING:
		return phr_buf_append_str(out, "string");
	case PHR_ABI_ARRAY:
		rc = phr_abi_type_canonical(out, t->elem);
		return rc == PHR_OK ? phr_buf_append_str(out, "[]") : rc;
	case PHR_ABI_FIXED_ARRAY:
		rc = phr_abi_type_canonical(out, t->elem);
		return rc == PHR_OK ? phr_buf_appendf(out, "[%zu]", t->length) : rc;
	case PHR_ABI_TUPLE:
		rc = phr_buf_append_byte(out, '(');
		for (size_t i = 0; rc == PHR_OK && i < t->n_members; i++) {
			if (i)
				rc = phr_buf_append_byte(out, ',');
			if (rc == PHR_OK)
				rc = phr_abi_type_canonical(out, t->members[i]);
		}
		return rc == PHR_OK ? phr_buf_append_byte(out, ')') : rc;
	}
	return PHR_ERR_INTERNAL;
}

/* Type of item @p i of an array or tuple. */
static const struct phr_abi_type *item_type(const struct phr_abi_type *t, size_t i)
{
	return t->kind == PHR_ABI_TUPLE ? t->members[i] : t->elem;
}

/* ---------------------------------------------------------------- values */

static void value_release(struct phr_abi_value *v)
{
	for (size_t i = 0; i < v->n_items; i++)
		value_release(&v->items[i]);
	phr_free(v->items);
	phr_free(v->bytes);
	memset(v, 0, sizeof(*v));
}

void phr_abi_value_free(struct phr_abi_value *value)
{
	if (!value)
		return;
	value_release(value);
	phr_free(value);
}

/* Does num fit a uintN / intN of @p t? */
static bool num_fits(const struct phr_abi_type *t, const struct phr_u256 *x)
{
	if (t->kind == PHR_ABI_BOOL)
		return phr_u256_cmp(x, &(struct phr_u256){ { 1, 0, 0, 0 } }) <= 0;
	if (t->kind == PHR_ABI_UINT)
		return phr_u256_bits(x) <= t->bits;
	struct phr_u256 b = phr_u256_from_u64(t->bits / 8 - 1), e;
	phr_u256_signextend(&e, &b, x);
	return phr_u256_eq(&e, x);
}

static int set_bytes(struct phr_abi_value *v, const uint8_t *data, size_t n)
{
	v->bytes = phr_malloc(n + 1); /* +1: strings stay NUL-terminated */
	if (!v->bytes)
		return PHR_ERR_NOMEM;
	if (n)
		memcpy(v->bytes, data, n);
	v->bytes[n] = 0;
	v->len = n;
	return PHR_OK;
}

static int json_number(struct phr_u256 *out, const json_t *j)
{
	if (json_is_integer(j)) {
		json_int_t i = json_integer_value(j);
		struct phr_u256 x = phr_u256_from_u64((uint64_t)(i < 0 ? -(uint64_t)i : (uint64_t)i));
		if (i < 0)
			phr_u256_neg(&x, &x);
		*out = x;
		return PHR_OK;
	}
	if (!json_is_string(j))
		return PHR_ERR_INVALID;
	const char *s = json_string_value(j);
	bool neg = s[0] == '-';
	struct phr_u256 x;
	if (phr_u256_parse(&x, s + neg) != 0)
		return PHR_ERR_INVALID;
	if (neg) {
		/* magnitude at most 2^255 */
		struct phr_u256 lim;
		phr_u256_shl(&lim, &(struct phr_u256){ { 1, 0, 0, 0 } }, 255);
		if (phr_u256_cmp(&x, &lim) > 0)
			return PHR_ERR_INVALID;
		phr_u256_neg(&x, &x);
	}
	*out = x;
	return PHR_OK;
}

static int from_json(struct phr_abi_value *v, const struct phr_abi_type *t, const json_t *j)
{
	int rc = PHR_OK;
	v->type = t;
	switch (t->kind) {
	case PHR_ABI_UINT:
	case PHR_ABI_INT:
		rc = json_number(&v->num, j);
		if (rc == PHR_OK && (!num_fits(t, &v->num) ||
				     (t->kind == PHR_ABI_UINT && json_is_string(j) && json_string_value(j)[0] == '-') ||
				     (t->kind == PHR_ABI_UINT && json_is_integer(j) && json_integer_value(j) < 0)))
			rc = PHR_ERR_INVALID;
		return rc;
	case PHR_ABI_BOOL:
		if (!json_is_boolean(j))
			return PHR_ERR_INVALID;
		v->num = phr_u256_from_u64(json_is_true(j));
		return PHR_OK;
	case PHR_ABI_ADDRESS: {
		uint8_t a[20];
		if (!json_is_string(j) || phr_eth_address_parse(a, json_string_value(j)) != PHR_OK)
			return PHR_ERR_INVALID;
		return set_bytes(v, a, 20);
	}
	case PHR_ABI_STRING:
		if (!json_is_string(j))
			return PHR_ERR_INVALID;
		return set_bytes(v, (const uint8_t *)json_string_value(j), json_string_length(j));
	case PHR_ABI_BYTES:
	case PHR_ABI_FIXED_BYTES: {
		uint8_t *tmp = NULL;
		size_t n = 0;
		rc = phr_eth_json_unhex(&tmp, &n, j);
		if (rc == PHR_OK && t->kind == PHR_ABI_FIXED_BYTES && n != t->bits / 8)
			rc = PHR_ERR_INVALID;
		if (rc == PHR_OK)
			rc = set_bytes(v, tmp, n);
		phr_free(tmp);
		return rc;
	}
	case PHR_ABI_ARRAY:
	case PHR_ABI_FIXED_ARRAY:
	case PHR_ABI_TUPLE: {
		if (!json_is_array(j))
			return PHR_ERR_INVALID;
		size_t n = json_array_size(j);
		size_t want = t->kind == PHR_ABI_TUPLE ? t->n_members : t->length;
		if (t->kind != PHR_ABI_ARRAY && n != want)
			return PHR_ERR_INVALID;
		if (n) {
			v->items = phr_calloc(n, sizeof(*v->items));
			if (!v->items)
				return PHR_ERR_NOMEM;
		}
		v->n_items = n;
		for (size_t i = 0; rc == PHR_OK && i < n; i++)
			rc = from_json(&v->items[i], item_type(t, i), json_array_get(j, i));
		return rc;
	}
	}
	return PHR_ERR_INTERNAL;
}

int phr_abi_value_from_json(struct phr_abi_value **value, const struct phr_abi_type *type,
			    const json_t *json)
{
	struct phr_abi_value *v = phr_calloc(1, sizeof(*v));
	if (!v)
		return PHR_ERR_NOMEM;
	int rc = from_json(v, type, json);
	if (rc != PHR_OK) {
		phr_abi_value_free(v);
		return rc;
	}
	*value = v;
	return PHR_OK;
}

json_t *phr_abi_value_to_json(const struct phr_abi_value *v)
{
	const struct phr_abi_type *t = v->type;
	char dec[PHR_U256_DEC_LEN + 1];
	switch (t->kind) {
	case PHR_ABI_UINT:
		phr_u256_to_dec(dec, &v->num);
		return json_string(dec);
	case PHR_ABI_INT:
		if (phr_u256_is_neg(&v->num)) {
			struct phr_u256 m;
			phr_u256_neg(&m, &v->num);
			dec[0] = '-';
			phr_u256_to_dec(dec + 1, &m);
		} else {
			phr_u256_to_dec(dec, &v->num);
		}
		return json_string(dec);
	case PHR_ABI_BOOL:
		return json_boolean(!phr_u256_is_zero(&v->num));
	case PHR_ABI_ADDRESS: {
		char a[PHR_ETH_ADDRESS_STR_LEN];
		if (v->len != 20)
			return NULL;
		phr_eth_address_checksum(a, v->bytes);
		return json_string(a);
	}
	case PHR_ABI_STRING: {
		/* Solidity does not enforce UTF-8: render invalid text as hex */
		json_t *j = json_stringn((const char *)v->bytes, v->len);
		return j ? j : phr_eth_json_hex(v->bytes, v->len);
	}
	case PHR_ABI_BYTES:
	case PHR_ABI_FIXED_BYTES:
		return phr_eth_json_hex(v->bytes, v->len);
	case PHR_ABI_ARRAY:
	case PHR_ABI_FIXED_ARRAY:
	case PHR_ABI_TUPLE: {
		json_t *a = json_array();
		for (size_t i = 0; a && i < v->n_items; i++) {
			if (json_array_append_new(a, phr_abi_value_to_json(&v->items[i])) != 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	}
	return NULL;
}

/* ---------------------------------------------------------------- encoding */

static int put_word(struct phr_buf *b, const struct phr_u256 *x)
{
	uint8_t w[32];
	phr_u256_to_be(w, x);
	return phr_buf_append(b, w, 32);
}

/* Appends @p n bytes right-padded with zeros to a multiple of 32. */
static int put_padded(struct phr_buf *b, const uint8_t *d, size_t n)
{
	static const uint8_t zero[32];
	int rc = n ? phr_buf_append(b, d, n) : PHR_OK;
	if (rc == PHR_OK && n % 32)
		rc = phr_buf_append(b, zero, 32 - n % 32);
	return rc;
}

static int encode_value(struct phr_buf *b, const struct phr_abi_value *v);

static int encode_seq(struct phr_buf *b, const struct phr_abi_value *items, size_t n)
{
	size_t start = b->len;
	int rc = PHR_OK;
	/* heads: static items inline, dynamic ones a placeholder offset */
	for (size_t i = 0; rc == PHR_OK && i < n; i++) {
		if (items[i].type->dynamic)
			rc = put_word(b, &PHR_U256_ZERO);
		else
			rc = encode_value(b, &items[i]);
	}
	/* tails, patching each offset as its data is placed */
	size_t hp = start;
	for (size_t i = 0; rc == PHR_OK && i < n; i++) {
		if (items[i].type->dynamic) {
			struct phr_u256 off = phr_u256_from_u64((uint64_t)(b->len - start));
			uint8_t w[32];
			phr_u256_to_be(w, &off);
			memcpy(b->data + hp, w, 32);
			rc = encode_value(b, &items[i]);
		}
		hp += items[i].type->head_size;
	}
	return rc;
}

static int encode_value(struct phr_buf *b, const struct phr_abi_value *v)
{
	const struct phr_abi_type *t = v->type;
	uint8_t w[32] = { 0 };
	switch (t->kind) {
	case PHR_ABI_UINT:
	case PHR_ABI_INT:
	case PHR_ABI_BOOL:
		if (!num_fits(t, &v->num))
			return PHR_ERR_INVALID;
		return put_word(b, &v->num);
	case PHR_ABI_ADDRESS:
		if (v->len != 20)
			return PHR_ERR_INVALID;
		memcpy(w + 12, v->bytes, 20);
		return phr_buf_append(b, w, 32);
	case PHR_ABI_FIXED_BYTES:
		if (v->len != t->bits / 8)
			return PHR_ERR_INVALID;
		return put_padded(b, v->bytes, v->len);
	case PHR_ABI_BYTES:
	case PHR_ABI_STRING: {
		struct phr_u256 n = phr_u256_from_u64((uint64_t)v->len);
		int rc = put_word(b, &n);
		return rc == PHR_OK ? put_padded(b, v->bytes, v->len) : rc;
	}
	case PHR_ABI_ARRAY: {
		struct phr_u256 n = phr_u256_from_u64((uint64_t)v->n_items);
		int rc = put_word(b, &n);
		return rc == PHR_OK ? encode_seq(b, v->items, v->n_items) : rc;
	}
	case PHR_ABI_FIXED_ARRAY:
	case PHR_ABI_TUPLE:
		if (v->n_items != (t->kind == PHR_ABI_TUPLE ? t->n_members : t->length))
			return PHR_ERR_INVALID;
		return encode_seq(b, v->items, v->n_items);
	}
	return PHR_ERR_INTERNAL;
}

int phr_abi_encode(struct phr_buf *out, const struct phr_abi_value *value)
{
	/* items must carry the types of their container */
	return encode_value(out, value);
}

/* ---------------------------------------------------------------- decoding */

struct dec {
	const uint8_t *d;
	size_t n;
	size_t budget; /* values left to allocate */
};

/* Reads a word used as an offset or length: must fit in size_t and be <= n. */
static int read_size(size_t *out, const struct dec *dc, size_t at)
{
	if (at > dc->n || dc->n - at < 32)
		return PHR_ERR_TRUNCATED;
	for (size_t i = 0; i < 24; i++)
		if (dc->d[at + i])
			return PHR_ERR_TRUNCATED;
	uint64_t v = 0;
	for (size_t i = 24; i < 32; i++)
		v = (v << 8) | dc->d[at + i];
	if (v > dc->n)
		return PHR_ERR_TRUNCATED;
	*out = (size_t)v;
	return PHR_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int decode_value(struct phr_abi_value *v, const struct phr_abi_type *t, struct dec *dc,
			size_t at);

static int decode_seq(struct phr_abi_value *v, const struct phr_abi_type *t, size_t count,
		      struct dec *dc, size_t start)
{
	if (count > dc->budget)
		return PHR_ERR_TOO_LARGE;
	dc->budget -= count;
	if (count) {
		v->items = phr_calloc(count, sizeof(*v->items));
		if (!v->items)
			return PHR_ERR_NOMEM;
	}
	v->n_items = count;
	size_t hp = start;
	int rc = PHR_OK;
	for (size_t i = 0; rc == PHR_OK && i < count; i++) {
		const struct phr_abi_type *it = item_type(t, i);
		if (it->dynamic) {
			size_t off;
			rc = read_size(&off, dc, hp);
			if (rc == PHR_OK && off > dc->n - start)
				rc = PHR_ERR_TRUNCATED;
			if (rc == PHR_OK)
				rc = decode_value(&v->items[i], it, dc, start + off);
		} else {
			rc = decode_value(&v->items[i], it, dc, hp);
		}
		hp += it->head_size;
	}
	return rc;
}

static int decode_value(struct phr_abi_value *v, const struct phr_abi_type *t, struct dec *dc,
			size_t at)
{
	v->type = t;
	if (at > dc->n)
		return PHR_ERR_TRUNCATED;
	size_t left = dc->n - at;
	const uint8_t *p = dc->d + at;
	size_t len;
	int rc;
	switch (t->kind) {
	case PHR_ABI_UINT:
	case PHR_ABI_INT:
	case PHR_ABI_BOOL:
		if (left < 32)
			return PHR_ERR_TRUNCATED;
		phr_u256_from_be(&v->num, p);
		return num_fits(t, &v->num) ? PHR_OK : PHR_ERR_NONCANONICAL;
	case PHR_ABI_ADDRESS:
		if (left < 32)
			return PHR_ERR_TRUNCATED;
		if (!all_zero(p, 12))
			return PHR_ERR_NONCANONICAL;
		return set_bytes(v, p + 12, 20);
	case PHR_ABI_FIXED_BYTES:
		if (left < 32)
			return PHR_ERR_TRUNCATED;
		if (!all_zero(p + t->bits / 8, 32 - t->bits / 8))
			return PHR_ERR_NONCANONICAL;
		return set_bytes(v, p, t->bits / 8);
	case PHR_ABI_BYTES:
	case PHR_ABI_STRING: {
		rc = read_size(&len, dc, at);
		if (rc != PHR_OK)
			return rc;
		size_t padded = (len + 31) / 32 * 32;
		if (padded < len || left - 32 < padded)
			return PHR_ERR_TRUNCATED;
		if (!all_zero(p + 32 + len, padded - len))
			return PHR_ERR_NONCANONICAL;
		return set_bytes(v, p + 32, len);
	}
	case PHR_ABI_ARRAY:
		rc = read_size(&len, dc, at);
		if (rc != PHR_OK)
			return rc;
		/* each element's head takes at least its head size in the data */
		if (t->elem->head_size && len > (left - 32) / t->elem->head_size)
			return PHR_ERR_TRUNCATED;
		return decode_seq(v, t, len, dc, at + 32);
	case PHR_ABI_FIXED_ARRAY:
		return decode_seq(v, t, t->length, dc, at);
	case PHR_ABI_TUPLE:
		return decode_seq(v, t, t->n_members, dc, at);
	}
	return PHR_ERR_INTERNAL;
}

int phr_abi_decode(struct phr_abi_value **value, const struct phr_abi_type *type,
		   const uint8_t *data, size_t n)
{
	/*
	 * Every value other than a static tuple or fixed array owns at least one
	 * 32-byte word of its canonical encoding, and static containers nest at
	 * most PHR_ABI_MAX_DEPTH deep, so a canonical encoding of n bytes holds at
	 * most 33 * n / 32 values. Aliased offsets can make a small input decode
	 * to more; the budget refuses that, and never refuses a canonical input.
	 */
	struct dec dc = { data, n, (n / 32 + 1) * (PHR_ABI_MAX_DEPTH + 1) };
	struct phr_abi_value *v = phr_calloc(1, sizeof(*v));
	if (!v)
		return PHR_ERR_NOMEM;
	int rc = decode_value(v, type, &dc, 0);
	if (rc != PHR_OK) {
		phr_abi_value_free(v);
		return rc;
	}
	*value = v;
	return PHR_OK;
}

/* ---------------------------------------------------------------- selectors */

void phr_abi_selector(uint8_t out[4], const char *signature)
{
	uint8_t h[32];
	phr_keccak256(h, signature, strlen(signature));
	memcpy(out, h, 4);
}

void phr_abi_event_topic(uint8_t out[32], const char *signature)
{
	phr_keccak256(out, signature, strlen(signature));
}

int phr_abi_encode_call(struct phr_buf *out, const char *signature, const json_t *args)
{
	const char *paren = strchr(signature, '(');
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	struct phr_buf canon;
	uint8_t sel[4];
	int rc;
	if (!paren || paren == signature)
		return PHR_ERR_PARSE;
	for (const char *c = signature; c < paren; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '$')
			return PHR_ERR_PARSE;
	rc = phr_abi_type_parse(&t, paren);
	if (rc == PHR_OK && t->kind != PHR_ABI_TUPLE)
		rc = PHR_ERR_PARSE;
	phr_buf_init(&canon, 0);
	if (rc == PHR_OK)
		rc = phr_buf_append(&canon, signature, (size_t)(paren - signature));
	if (rc == PHR_OK)
		rc = phr_abi_type_canonical(&canon, t);
	if (rc == PHR_OK)
		rc = phr_abi_value_from_json(&v, t, args);
	if (rc == PHR_OK) {
		phr_abi_selector(sel, (const char *)canon.data);
		rc = phr_buf_append(out, sel, 4);
	}
	if (rc == PHR_OK)
		rc = phr_abi_encode(out, v);
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	phr_buf_release(&canon);
	return rc;
}

/* ---------------------------------------------------------------- reverts */

static const uint8_t SEL_ERROR[4] = { 0x08, 0xc3, 0x79, 0xa0 }; /* Error(string) */
static const uint8_t SEL_PANIC[4] = { 0x4e, 0x48, 0x7b, 0x71 }; /* Panic(uint256) */

int phr_abi_revert_decode(struct phr_abi_revert *r, const uint8_t *data, size_t n)
{
	memset(r, 0, sizeof(*r));
	if (n == 0) {
		r->kind = PHR_ABI_REVERT_EMPTY;
		return PHR_OK;
	}
	if (n < 4)
		return PHR_ERR_PARSE;
	bool is_err = memcmp(data, SEL_ERROR, 4) == 0, is_panic = memcmp(data, SEL_PANIC, 4) == 0;
	if (!is_err && !is_panic) {
		r->kind = PHR_ABI_REVERT_CUSTOM;
		memcpy(r->selector, data, 4);
		return PHR_OK;
	}
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	int rc = phr_abi_type_parse(&t, is_err ? "(string)" : "(uint256)");
	if (rc == PHR_OK)
		rc = phr_abi_decode(&v, t, data + 4, n - 4);
	if (rc == PHR_ERR_TRUNCATED || rc == PHR_ERR_NONCANONICAL || rc == PHR_ERR_TOO_LARGE)
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK && is_err) {
		r->kind = PHR_ABI_REVERT_ERROR;
		r->message = phr_malloc(v->items[0].len + 1);
		if (!r->message) {
			rc = PHR_ERR_NOMEM;
		} else {
			memcpy(r->message, v->items[0].bytes, v->items[0].len + 1);
		}
	} else if (rc == PHR_OK) {
		r->kind = PHR_ABI_REVERT_PANIC;
		r->code = v->items[0].num;
	}
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	return rc;
}

void phr_abi_revert_release(struct phr_abi_revert *r)
{
	phr_free(r->message);
	r->message = NULL;
}
