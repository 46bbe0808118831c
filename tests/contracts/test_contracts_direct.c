/*
 * The directly generated encoders and decoders (calls with static arguments or one bytes tail,
 * static results: see contracts/gen_bindings.mjs) against the eth module's generic codec:
 * for every such function, the calldata must equal phr_abi_encode_call's on zero, maximal
 * and random arguments, out-of-range arguments must be refused as the JSON path refuses them,
 * and every result decoder must give phr_abi_decode's result or error on valid, short,
 * over-long, corrupted (padding, bool 2, uintN overflow, offsets, lengths) and random
 * inputs, leaving its outputs untouched on error. The table of functions is generated (bindings_direct_gen.h).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "phr/abi.h"
#include "phr/contracts.h"
#include "phr/u256.h"

/* One argument of any kind the direct encoders take. */
struct targ {
	uint8_t b[32];        /* address, bytesN */
	uint64_t u;           /* uintN (N <= 64), bool */
	struct phr_u256 x;    /* uintN (N > 64) */
	const uint8_t *p;     /* bytes, string (NUL-terminated) */
	size_t len;
	bool null_ptr;        /* pass NULL for a pointer argument */
};

/* One output of any kind the direct decoders give. */
struct tout {
	uint8_t b[32];
	bool o;
	uint64_t u;
	struct phr_u256 x;
	struct phr_buf buf; /* string, bytes */
};

struct direct_fn {
	const char *name;
	const char *sig;      /* canonical signature, for phr_abi_encode_call */
	const char *out_type; /* result tuple type, for phr_abi_decode */
	int (*enc)(struct phr_buf *out, const struct targ *a);
	int (*dec)(struct tout *r, const uint8_t *d, size_t n);
};

#include "bindings_direct_gen.h"

#define MAX_ARGS 16
#define MAX_LEAVES 16

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

enum trial { T_ZERO, T_MAX, T_RANDOM };

static uint64_t u64_mask(unsigned bits)
{
	return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

/* 2^bits - 1 (bits <= 256), or 2^bits when @p over (bits < 256). */
static struct phr_u256 u256_edge(unsigned bits, bool over)
{
	struct phr_u256 one = phr_u256_from_u64(1), r;

	if (bits >= 256) {
		r = PHR_U256_ZERO;
		phr_u256_not(&r, &r);
		return r;
	}
	phr_u256_shl(&r, &one, bits);
	if (!over)
		phr_u256_sub(&r, &r, &one);
	return r;
}

static json_t *json_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_t *j;

	assert_non_null(s);
	assert_int_equal(phr_hex_encode(s, 2 * n + 3, p ? p : (const uint8_t *)"", n, true), PHR_OK);
	j = json_string(s);
	free(s);
	return j;
}

static json_t *json_u256(const struct phr_u256 *x)
{
	char s[PHR_U256_DEC_LEN];

	phr_u256_to_dec(s, x);
	return json_string(s);
}

/* Fills argument @p a of type @p t for trial @p tr and returns its JSON (as the old runtime built it). */
static json_t *make_arg(struct targ *a, uint8_t *store, const struct phr_abi_type *t, enum trial tr)
{
	char dec[24];

	memset(a, 0, sizeof(*a));
	switch (t->kind) {
	case PHR_ABI_UINT:
		if (t->bits <= 64) {
			a->u = tr == T_ZERO ? 0 : tr == T_MAX ? u64_mask(t->bits) : rnd() & u64_mask(t->bits);
			snprintf(dec, sizeof(dec), "%" PRIu64, a->u);
			return json_string(dec);
		}
		if (tr == T_ZERO) {
			a->x = PHR_U256_ZERO;
		} else if (tr == T_MAX) {
			a->x = u256_edge(t->bits, false);
		} else {
			struct phr_u256 m = u256_edge(t->bits, false);
			uint8_t w[32];

			rnd_bytes(w, 32);
			phr_u256_from_be(&a->x, w);
			phr_u256_and(&a->x, &a->x, &m);
		}
		return json_u256(&a->x);
	case PHR_ABI_BOOL:
		a->u = tr == T_ZERO ? 0 : tr == T_MAX ? 1 : rnd() & 1;
		return json_boolean(a->u != 0);
	case PHR_ABI_ADDRESS:
	case PHR_ABI_FIXED_BYTES: {
		size_t n = t->kind == PHR_ABI_ADDRESS ? 20 : t->bits / 8;

		if (tr == T_RANDOM)
			rnd_bytes(a->b, n);
		else
			memset(a->b, tr == T_MAX ? 0xff : 0, n);
		return json_hex(a->b, n);
	}
	case PHR_ABI_STRING: {
		/* ASCII and valid 2-, 3- and 4-byte UTF-8 characters */
		static const char *const pieces[] = { "a", "Z", "0", " ", "\xc3\xa9", "\xe2\x82\xac",
						      "\xf0\x9d\x84\x9e", "\xdf\xbf", "\xef\xbf\xbf",
						      "\xf4\x8f\xbf\xbf" };
		size_t n = 0, k = tr == T_ZERO ? 0 : tr == T_MAX ? 40 : (size_t)(rnd() % 30);

		for (size_t i = 0; i < k; i++) {
			const char *pc = tr == T_MAX ? pieces[i % PHR_ARRAY_LEN(pieces)]
						     : pieces[rnd() % PHR_ARRAY_LEN(pieces)];
			memcpy(store + n, pc, strlen(pc));
			n += strlen(pc);
		}
		store[n] = 0;
		a->p = store;
		return json_string((const char *)store);
	}
	case PHR_ABI_BYTES:
		a->len = tr == T_ZERO ? 0 : tr == T_MAX ? 200 : (size_t)(rnd() % 97);
		if (tr == T_RANDOM)
			rnd_bytes(store, a->len);
		else
			memset(store, 0xff, a->len);
		a->p = tr == T_ZERO ? NULL : store;
		return json_hex(a->p, a->len);
	default:
		fail_msg("unexpected argument kind %d", (int)t->kind);
		return NULL;
	}
}

static struct phr_abi_type *parse_args(const char *sig)
{
	struct phr_abi_type *t = NULL;

	assert_int_equal(phr_abi_type_parse(&t, strchr(sig, '(')), PHR_OK);
	assert_int_equal(t->kind, PHR_ABI_TUPLE);
	assert_true(t->n_members <= MAX_ARGS);
	return t;
}

/* Both encoders on the same arguments: same code and, on success, the same bytes after a prefix. */
static int both_encode(const struct direct_fn *f, const struct targ *a, const json_t *args)
{
	static const uint8_t prefix[3] = { 1, 2, 3 };
	struct phr_buf g, d;
	int rg, rd;

	phr_buf_init(&g, 0);
	phr_buf_init(&d, 0);
	assert_int_equal(phr_buf_append(&g, prefix, 3), PHR_OK);
	assert_int_equal(phr_buf_append(&d, prefix, 3), PHR_OK);
	rg = phr_abi_encode_call(&g, f->sig, args);
	rd = f->enc(&d, a);
	if (rg != rd)
		fail_msg("%s: generic %d direct %d", f->name, rg, rd);
	if (rd == PHR_OK) {
		if (g.len != d.len || memcmp(g.data, d.data, g.len) != 0)
			fail_msg("%s: calldata differs", f->name);
	} else {
		assert_int_equal(d.len, 3); /* nothing appended on a refused argument */
	}
	phr_buf_release(&g);
	phr_buf_release(&d);
	return rd;
}

/* String argument @p m: edge and invalid UTF-8, and random bytes, accepted as jansson accepts them. */
static void string_cases(const struct direct_fn *f, struct targ *a, size_t m, json_t *args)
{
	static const char *const cases[] = {
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf", /* valid edges */
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80",
		"\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\xff", "\xc3", "a\xc3", "\xe2\x82", "\xf0\x9d\x84", "\xc3\x28", "\xe2\x28\xa1", /* invalid */
	};
	uint8_t s[16];

	for (size_t i = 0; i < PHR_ARRAY_LEN(cases) + 400; i++) {
		json_t *j;

		if (i < PHR_ARRAY_LEN(cases)) {
			memcpy(s, cases[i], strlen(cases[i]) + 1);
		} else {
			size_t n = (size_t)(rnd() % 6);

			for (size_t k = 0; k < n; k++)
				s[k] = (uint8_t)(rnd() % 255 + 1);
			s[n] = 0;
		}
		a[m].p = s;
		a[m].null_ptr = false;
		j = json_string((const char *)s);
		if (j) {
			assert_int_equal(json_array_set_new(args, m, j), 0);
			assert_int_equal(both_encode(f, a, args), PHR_OK);
		} else {
			struct phr_buf d;

			phr_buf_init(&d, 0);
			assert_int_equal(f->enc(&d, a), PHR_ERR_INVALID);
			assert_int_equal(d.len, 0);
			phr_buf_release(&d);
		}
	}
}

static void test_encoders(void **state)
{
	static uint8_t store[MAX_ARGS][256];
	size_t n_fns = 0, n_calls = 0;

	(void)state;
	for (size_t i = 0; i < PHR_ARRAY_LEN(direct_fns); i++) {
		const struct direct_fn *f = &direct_fns[i];
		struct phr_abi_type *t;
		struct targ a[MAX_ARGS];

		if (!f->enc)
			continue;
		n_fns++;
		t = parse_args(f->sig);
		for (int k = 0; k < 8; k++) {
			enum trial tr = k == 0 ? T_ZERO : k == 1 ? T_MAX : T_RANDOM;
			json_t *args = json_array();

			assert_non_null(args);
			for (size_t m = 0; m < t->n_members; m++)
				assert_int_equal(json_array_append_new(args, make_arg(&a[m], store[m], t->members[m], tr)), 0);
			assert_int_equal(both_encode(f, a, args), PHR_OK);
			n_calls++;

			/* each argument out of range or NULL in turn, the others valid */
			for (size_t m = 0; m < t->n_members; m++) {
				const struct phr_abi_type *mt = t->members[m];
				struct targ save = a[m];
				json_t *orig = json_incref(json_array_get(args, m));
				struct phr_buf d;

				if (mt->kind == PHR_ABI_UINT && mt->bits < 256) {
					char s[PHR_U256_DEC_LEN];

					if (mt->bits < 64) {
						a[m].u = (k == 0 ? UINT64_C(1) << mt->bits : rnd() | (UINT64_C(1) << mt->bits));
						snprintf(s, sizeof(s), "%" PRIu64, a[m].u);
					} else if (mt->bits > 64) {
						a[m].x = u256_edge(mt->bits, true);
						phr_u256_to_dec(s, &a[m].x);
					} else {
						json_decref(orig);
						continue;
					}
					assert_int_equal(json_array_set_new(args, m, json_string(s)), 0);
					assert_int_equal(both_encode(f, a, args), PHR_ERR_INVALID);
				} else if (mt->kind == PHR_ABI_ADDRESS || mt->kind == PHR_ABI_FIXED_BYTES ||
					   (mt->kind == PHR_ABI_UINT && mt->bits > 64) || mt->kind == PHR_ABI_BYTES ||
					   mt->kind == PHR_ABI_STRING) {
					if (mt->kind == PHR_ABI_STRING)
						string_cases(f, a, m, args);
					/* NULL (with a length for bytes): refused before any JSON in the old path */
					a[m].null_ptr = true;
					a[m].p = NULL;
					a[m].len = 1;
					phr_buf_init(&d, 0);
					assert_int_equal(f->enc(&d, a), PHR_ERR_INVALID);
					assert_int_equal(d.len, 0);
					phr_buf_release(&d);
				}
				a[m] = save;
				assert_int_equal(json_array_set_new(args, m, orig), 0);
			}
			json_decref(args);
		}
		phr_abi_type_free(t);
	}
	print_message("direct encoders: %zu functions, %zu valid calls compared\n", n_fns, n_calls);
	assert_true(n_fns >= 100);
}

/* Leaves of a static result type, in word order. */
static void flatten_types(const struct phr_abi_type **out, size_t *n, const struct phr_abi_type *t)
{
	if (t->kind == PHR_ABI_TUPLE) {
		for (size_t i = 0; i < t->n_members; i++)
			flatten_types(out, n, t->members[i]);
		return;
	}
	assert_true(*n < MAX_LEAVES);
	out[(*n)++] = t;
}

static void flatten_values(const struct phr_abi_value **out, size_t *n, const struct phr_abi_value *v)
{
	if (v->type->kind == PHR_ABI_TUPLE) {
		for (size_t i = 0; i < v->n_items; i++)
			flatten_values(out, n, &v->items[i]);
		return;
	}
	assert_true(*n < MAX_LEAVES);
	out[(*n)++] = v;
}

/* A canonical word of leaf type @p t. */
static void make_word(uint8_t w[32], const struct phr_abi_type *t, enum trial tr)
{
	memset(w, 0, 32);
	switch (t->kind) {
	case PHR_ABI_UINT: {
		struct phr_u256 x = tr == T_ZERO ? PHR_U256_ZERO : u256_edge(t->bits, false);

		if (tr == T_RANDOM) {
			struct phr_u256 r;

			rnd_bytes(w, 32);
			phr_u256_from_be(&r, w);
			phr_u256_and(&x, &x, &r);
		}
		phr_u256_to_be(w, &x);
		break;
	}
	case PHR_ABI_BOOL:
		w[31] = tr == T_ZERO ? 0 : tr == T_MAX ? 1 : (uint8_t)(rnd() & 1);
		break;
	case PHR_ABI_ADDRESS:
		if (tr == T_RANDOM)
			rnd_bytes(w + 12, 20);
		else
			memset(w + 12, tr == T_MAX ? 0xff : 0, 20);
		break;
	case PHR_ABI_FIXED_BYTES:
		if (tr == T_RANDOM)
			rnd_bytes(w, t->bits / 8);
		else
			memset(w, tr == T_MAX ? 0xff : 0, t->bits / 8);
		break;
	default:
		fail_msg("unexpected result kind %d", (int)t->kind);
	}
}

static bool has_dynamic(const struct phr_abi_type *t)
{
	return t->dynamic;
}

/* A JSON value of result type @p t (for phr_abi_value_from_json + phr_abi_encode). */
static json_t *make_json(const struct phr_abi_type *t, enum trial tr)
{
	uint8_t w[32];

	switch (t->kind) {
	case PHR_ABI_TUPLE: {
		json_t *a = json_array();

		assert_non_null(a);
		for (size_t i = 0; i < t->n_members; i++)
			assert_int_equal(json_array_append_new(a, make_json(t->members[i], tr)), 0);
		return a;
	}
	case PHR_ABI_STRING: {
		char str[80];
		size_t n = tr == T_ZERO ? 0 : tr == T_MAX ? 64 : (size_t)(rnd() % 70);

		for (size_t i = 0; i < n; i++)
			str[i] = (char)('a' + rnd() % 26);
		str[n] = 0;
		return json_string(str);
	}
	case PHR_ABI_BYTES: {
		uint8_t b[80];
		size_t n = tr == T_ZERO ? 0 : tr == T_MAX ? 64 : (size_t)(rnd() % 70);

		rnd_bytes(b, n);
		return json_hex(b, n);
	}
	case PHR_ABI_BOOL:
		return json_boolean(tr == T_MAX || (tr == T_RANDOM && (rnd() & 1)));
	case PHR_ABI_ADDRESS:
		make_word(w, t, tr);
		return json_hex(w + 12, 20);
	case PHR_ABI_FIXED_BYTES:
		make_word(w, t, tr);
		return json_hex(w, t->bits / 8);
	case PHR_ABI_UINT: {
		struct phr_u256 x;

		make_word(w, t, tr);
		phr_u256_from_be(&x, w);
		return json_u256(&x);
	}
	default:
		fail_msg("unexpected result kind %d", (int)t->kind);
		return NULL;
	}
}

/* A valid encoding of @p t for trial @p tr into @p d (at most @p cap bytes); returns its length. */
static size_t make_result(uint8_t *d, size_t cap, const struct phr_abi_type *t, const struct phr_abi_type **lt,
			  size_t nl, enum trial tr)
{
	struct phr_abi_value *v = NULL;
	struct phr_buf b;
	json_t *j;
	size_t n;

	if (!has_dynamic(t)) {
		for (size_t l = 0; l < nl; l++)
			make_word(d + 32 * l, lt[l], tr);
		return 32 * nl;
	}
	j = make_json(t, tr);
	assert_int_equal(phr_abi_value_from_json(&v, t, j), PHR_OK);
	phr_buf_init(&b, 0);
	assert_int_equal(phr_abi_encode(&b, v), PHR_OK);
	assert_true(b.len <= cap);
	memcpy(d, b.data, b.len);
	n = b.len;
	phr_buf_release(&b);
	phr_abi_value_free(v);
	json_decref(j);
	return n;
}

/* Direct and generic decoders on @p d: same code, same values, outputs untouched on error. */
static int both_decode(const struct direct_fn *f, const struct phr_abi_type *t, const struct phr_abi_type **lt,
		       size_t nl, const uint8_t *d, size_t n)
{
	struct tout r[MAX_LEAVES], before[MAX_LEAVES];
	struct phr_abi_value *v = NULL;
	const struct phr_abi_value *lv[MAX_LEAVES];
	size_t nv = 0;
	int rg, rd;

	memset(r, 0xa5, sizeof(r));
	for (size_t k = 0; k < MAX_LEAVES; k++)
		phr_buf_init(&r[k].buf, 0);
	memcpy(before, r, sizeof(r));
	rg = phr_abi_decode(&v, t, d ? d : (const uint8_t *)"", n);
	rd = f->dec(r, d, n);
	if (rg != rd)
		fail_msg("%s: generic %d direct %d on %zu bytes", f->name, rg, rd, n);
	if (rd != PHR_OK) {
		assert_memory_equal(r, before, sizeof(r));
		return rd;
	}
	assert_non_null(v);
	flatten_values(lv, &nv, v);
	assert_int_equal(nv, nl);
	for (size_t k = 0; k < nl; k++) {
		switch (lt[k]->kind) {
		case PHR_ABI_ADDRESS:
		case PHR_ABI_FIXED_BYTES:
			assert_memory_equal(r[k].b, lv[k]->bytes, lv[k]->len);
			break;
		case PHR_ABI_BOOL:
			assert_int_equal(r[k].o, !phr_u256_is_zero(&lv[k]->num));
			break;
		case PHR_ABI_UINT:
			if (lt[k]->bits <= 64) {
				assert_true(phr_u256_fits_u64(&lv[k]->num));
				assert_int_equal(r[k].u, lv[k]->num.w[0]);
			} else {
				assert_true(phr_u256_eq(&r[k].x, &lv[k]->num));
			}
			break;
		case PHR_ABI_STRING:
		case PHR_ABI_BYTES:
			assert_int_equal(r[k].buf.len, lv[k]->len);
			if (lv[k]->len)
				assert_memory_equal(r[k].buf.data, lv[k]->bytes, lv[k]->len);
			break;
		default:
			fail();
		}
	}
	for (size_t k = 0; k < MAX_LEAVES; k++)
		phr_buf_release(&r[k].buf);
	phr_abi_value_free(v);
	return rd;
}

static void test_decoders(void **state)
{
	size_t n_fns = 0, n_dyn = 0, n_inputs = 0, n_refused = 0;

	(void)state;
	for (size_t i = 0; i < PHR_ARRAY_LEN(direct_fns); i++) {
		const struct direct_fn *f = &direct_fns[i];
		const struct phr_abi_type *lt[MAX_LEAVES];
		struct phr_abi_type *t = NULL;
		uint8_t d[1024], c[sizeof(d)];
		size_t nl = 0, full;

		if (!f->dec)
			continue;
		n_fns++;
		assert_int_equal(phr_abi_type_parse(&t, f->out_type), PHR_OK);
		flatten_types(lt, &nl, t);
		if (has_dynamic(t))
			n_dyn++;
		/* no data at all, and NULL with a length */
		assert_int_equal(both_decode(f, t, lt, nl, NULL, 0), PHR_ERR_TRUNCATED);
		{
			struct tout r[MAX_LEAVES];

			assert_int_equal(f->dec(r, NULL, 5), PHR_ERR_INVALID);
		}
		for (int k = 0; k < 6; k++) {
			enum trial tr = k == 0 ? T_ZERO : k == 1 ? T_MAX : T_RANDOM;

			full = make_result(d, sizeof(d) - 40, t, lt, nl, tr);
			rnd_bytes(d + full, 40);
			/* valid, with and without trailing data */
			assert_int_equal(both_decode(f, t, lt, nl, d, full), PHR_OK);
			assert_int_equal(both_decode(f, t, lt, nl, d, full + 40), PHR_OK);
			n_inputs += 2;
			/* every short length */
			for (size_t n = 0; n < full; n++, n_inputs++, n_refused++)
				assert_int_not_equal(both_decode(f, t, lt, nl, d, n), PHR_OK);
			/* one byte changed anywhere (padding, bool 2, uintN overflow, value bytes) */
			for (size_t j = 0; j < full; j++) {
				memcpy(c, d, full);
				c[j] ^= (uint8_t)(1 + rnd() % 255);
				if (both_decode(f, t, lt, nl, c, full) != PHR_OK)
					n_refused++;
				/* and the same with the input cut inside a later word */
				if (j + 33 < full)
					(void)both_decode(f, t, lt, nl, c, full - 1);
				n_inputs += 2;
			}
			/* random words */
			rnd_bytes(c, full);
			(void)both_decode(f, t, lt, nl, c, full);
			n_inputs++;
		}
		phr_abi_type_free(t);
	}
	print_message("direct decoders: %zu functions (%zu with string/bytes), %zu inputs compared, %zu refused\n",
		      n_fns, n_dyn, n_inputs, n_refused);
	assert_true(n_fns >= 40);
	assert_true(n_dyn >= 5);
	assert_true(n_refused > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoders),
		cmocka_unit_test(test_decoders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
