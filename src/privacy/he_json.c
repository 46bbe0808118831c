/*
 * JSON forms of studies, shares, submissions, aggregates and partial
 * decryptions (points and scalars as "0x" hex; every one validated on input).
 */
#include <string.h>

#include <sodium.h>

#include "phr/he.h"
#include "phr/json.h"
#include "he_internal.h"

#define B PHR_HE_BYTES

enum kind { POINT, SCALAR };

static int get32(uint8_t out[B], const json_t *obj, const char *key, enum kind k)
{
	size_t n = 0;
	int rc = phr_json_get_hex(out, B, &n, obj, key);
	if (rc == PHR_ERR_NOT_FOUND || rc == PHR_ERR_INVALID)
		return PHR_ERR_PARSE;
	if (rc || n != B)
		return PHR_ERR_PARSE;
	if (k == POINT ? !phr_he_point_ok(out) : !phr_he_scalar_ok(out))
		return PHR_ERR_INVALID;
	return PHR_OK;
}

static int get_u32(uint32_t *out, const json_t *obj, const char *key, uint32_t max)
{
	uint64_t v;
	if (phr_json_get_u64(&v, obj, key) != PHR_OK)
		return PHR_ERR_PARSE;
	if (v > max)
		return PHR_ERR_INVALID;
	*out = (uint32_t)v;
	return PHR_OK;
}

static int get_id(char out[PHR_HE_ID_MAX + 1], const json_t *obj, const char *key)
{
	const char *s;
	if (phr_json_get_str(&s, obj, key) != PHR_OK)
		return PHR_ERR_PARSE;
	size_t n = strlen(s);
	if (n == 0 || n > PHR_HE_ID_MAX)
		return PHR_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return PHR_ERR_INVALID;
	memcpy(out, s, n + 1);
	return PHR_OK;
}

static int check_type(const json_t *j, const char *type)
{
	const char *t;
	if (!json_is_object(j) || phr_json_get_str(&t, j, "type") != PHR_OK)
		return PHR_ERR_PARSE;
	return strcmp(t, type) == 0 ? PHR_OK : PHR_ERR_INVALID;
}

static json_t *new_obj(const char *type)
{
	json_t *o = json_object();
	if (o && json_object_set_new(o, "type", json_string(type)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

static int set_ct(json_t *o, const char *key, const struct phr_he_ct *ct)
{
	json_t *c = json_object();
	if (!c)
		return PHR_ERR_NOMEM;
	if (phr_json_set_hex(c, "a", ct->a, B) || phr_json_set_hex(c, "b", ct->b, B) ||
	    json_object_set_new(o, key, c) != 0) {
		json_decref(c);
		return PHR_ERR_NOMEM;
	}
	return PHR_OK;
}

static int get_ct(struct phr_he_ct *ct, const json_t *o, const char *key)
{
	const json_t *c = json_object_get(o, key);
	if (!json_is_object(c))
		return PHR_ERR_PARSE;
	int rc = get32(ct->a, c, "a", POINT);
	if (!rc)
		rc = get32(ct->b, c, "b", POINT);
	return rc;
}

/* appends a new object to array @p arr and returns it (borrowed), NULL on failure */
static json_t *push_obj(json_t *arr)
{
	json_t *o = json_object();
	if (!o || json_array_append_new(arr, o) != 0)
		return NULL;
	return o;
}

static int finish(json_t **out, json_t *o, int rc)
{
	if (rc) {
		json_decref(o);
		*out = NULL;
		return rc;
	}
	*out = o;
	return PHR_OK;
}

/* ---- study ----------------------------------------------------------------- */

static int set_points(json_t *o, const char *key, const uint8_t (*pts)[B], uint32_t n)
{
	json_t *arr = json_array();
	if (!arr || json_object_set_new(o, key, arr) != 0)
		return PHR_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		char hex[PHR_HEX_LEN(B, true)];
		if (phr_hex_encode(hex, sizeof(hex), pts[i], B, true) || json_array_append_new(arr, json_string(hex)))
			return PHR_ERR_NOMEM;
	}
	return PHR_OK;
}

static int get_points(uint8_t (*pts)[B], uint32_t n, const json_t *o, const char *key)
{
	const json_t *arr = json_object_get(o, key);
	if (!json_is_array(arr))
		return PHR_ERR_PARSE;
	if (json_array_size(arr) != n)
		return PHR_ERR_INVALID;
	for (uint32_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s || phr_hex_decode_exact(pts[i], B, s[0] == '0' && s[1] == 'x' ? s + 2 : s) != PHR_OK)
			return PHR_ERR_PARSE;
		if (!phr_he_point_ok(pts[i]))
			return PHR_ERR_INVALID;
	}
	return PHR_OK;
}

int phr_he_study_to_json(json_t **out, const struct phr_he_study *s)
{
	json_t *o = new_obj("phr-he-study");
	if (!o)
		return PHR_ERR_NOMEM;
	int rc = json_object_set_new(o, "id", json_string(s->id)) ? PHR_ERR_NOMEM : PHR_OK;
	if (!rc && !(rc = set_u64(o, "bits", s->bits)) && !(rc = set_u64(o, "threshold", s->t)) &&
	    !(rc = set_u64(o, "custodians", s->n)) && !(rc = phr_json_set_hex(o, "publicKey", s->pk, B)) &&
	    !(rc = set_points(o, "commitments", (const uint8_t(*)[B])s->commit, s->t)))
		rc = set_points(o, "verificationKeys", (const uint8_t(*)[B])s->vk, s->n);
	return finish(out, o, rc);
}

int phr_he_study_from_json(struct phr_he_study *s, const json_t *j)
{
	memset(s, 0, sizeof(*s));
	int rc = check_type(j, "phr-he-study");
	if (!rc && !(rc = get_id(s->id, j, "id")) && !(rc = get_u32(&s->bits, j, "bits", PHR_HE_MAX_BITS)) &&
	    !(rc = get_u32(&s->n, j, "custodians", PHR_HE_MAX_CUSTODIANS)) &&
	    !(rc = get_u32(&s->t, j, "threshold", s->n)) && !(rc = get32(s->pk, j, "publicKey", POINT)) &&
	    !(rc = get_points(s->commit, s->t, j, "commitments")))
		rc = get_points(s->vk, s->n, j, "verificationKeys");
	if (!rc)
		rc = phr_he_study_check(s);
	return rc;
}

/* ---- share ----------------------------------------------------------------- */

int phr_he_share_to_json(json_t **out, const struct phr_he_study *s, const struct phr_he_share *sh)
{
	json_t *o = new_obj("phr-he-share");
	if (!o)
		return PHR_ERR_NOMEM;
	int rc = json_object_set_new(o, "study", json_string(s->id)) ? PHR_ERR_NOMEM : PHR_OK;
	if (!rc && !(rc = set_u64(o, "index", sh->index)))
		rc = phr_json_set_hex(o, "share", sh->x, B);
	return finish(out, o, rc);
}

int phr_he_share_from_json(struct phr_he_share *sh, const json_t *j)
{
	memset(sh, 0, sizeof(*sh));
	int rc = check_type(j, "phr-he-share");
	if (!rc && !(rc = get_u32(&sh->index, j, "index", PHR_HE_MAX_CUSTODIANS)))
		rc = get32(sh->x, j, "share", SCALAR);
	if (!rc && sh->index == 0)
		rc = PHR_ERR_INVALID;
	return rc;
}

/* ---- submission ------------------------------------------------------------ */

int phr_he_submission_to_json(json_t **out, const struct phr_he_submission *sub)
{
	json_t *o = new_obj("phr-he-submission");
	if (!o)
		return PHR_ERR_NOMEM;
	int rc = json_object_set_new(o, "patient", json_string(sub->patient)) ? PHR_ERR_NOMEM : PHR_OK;
	if (!rc && !(rc = set_u64(o, "bits", sub->bits)) && !(rc = set_ct(o, "v", &sub->v)) &&
	    !(rc = set_ct(o, "v2", &sub->v2)))
		rc = set_ct(o, "one", &sub->one);
	json_t *bits = json_array();
	if (!rc && (!bits || json_object_set_new(o, "bitProofs", bits) != 0))
		rc = PHR_ERR_NOMEM;
	for (uint32_t i = 0; !rc && i < sub->bits && i < PHR_HE_MAX_BITS; i++) {
		const struct phr_he_bit *b = &sub->bit[i];
		json_t *e = push_obj(bits);
		if (!e || phr_json_set_hex(e, "a", b->ct.a, B) || phr_json_set_hex(e, "b", b->ct.b, B) ||
		    phr_json_set_hex(e, "c0", b->c0, B) || phr_json_set_hex(e, "c1", b->c1, B) ||
		    phr_json_set_hex(e, "z0", b->z0, B) || phr_json_set_hex(e, "z1", b->z1, B))
			rc = PHR_ERR_NOMEM;
	}
	json_t *sq = json_object(), *one = json_object();
	if (!rc && (!sq || json_object_set(o, "square", sq) || phr_json_set_hex(sq, "c", sub->sq_c, B) ||
		    phr_json_set_hex(sq, "zv", sub->sq_zv, B) || phr_json_set_hex(sq, "zr", sub->sq_zr, B) ||
		    phr_json_set_hex(sq, "zs", sub->sq_zs, B)))
		rc = PHR_ERR_NOMEM;
	if (!rc && (!one || json_object_set(o, "oneProof", one) || phr_json_set_hex(one, "c", sub->one_c, B) ||
		    phr_json_set_hex(one, "z", sub->one_z, B)))
		rc = PHR_ERR_NOMEM;
	json_decref(sq);
	json_decref(one);
	return finish(out, o, rc);
}

int phr_he_submission_from_json(struct phr_he_submission *sub, const json_t *j)
{
	memset(sub, 0, sizeof(*sub));
	int rc = check_type(j, "phr-he-submission");
	if (!rc && !(rc = get_id(sub->patient, j, "patient")) &&
	    !(rc = get_u32(&sub->bits, j, "bits", PHR_HE_MAX_BITS)) && !(rc = get_ct(&sub->v, j, "v")) &&
	    !(rc = get_ct(&sub->v2, j, "v2")))
		rc = get_ct(&sub->one, j, "one");
	if (rc)
		return rc;
	const json_t *bits = json_object_get(j, "bitProofs");
	if (!json_is_array(bits))
		return PHR_ERR_PARSE;
	if (sub->bits == 0 || json_array_size(bits) != sub->bits)
		return PHR_ERR_INVALID;
	for (uint32_t i = 0; i < sub->bits; i++) {
		struct phr_he_bit *b = &sub->bit[i];
		const json_t *e = json_array_get(bits, i);
		if (!json_is_object(e))
			return PHR_ERR_PARSE;
		if ((rc = get32(b->ct.a, e, "a", POINT)) || (rc = get32(b->ct.b, e, "b", POINT)) ||
		    (rc = get32(b->c0, e, "c0", SCALAR)) || (rc = get32(b->c1, e, "c1", SCALAR)) ||
		    (rc = get32(b->z0, e, "z0", SCALAR)) || (rc = get32(b->z1, e, "z1", SCALAR)))
			return rc;
	}
	const json_t *sq = json_object_get(j, "square"), *one = json_object_get(j, "oneProof");
	if (!json_is_object(sq) || !json_is_object(one))
		return PHR_ERR_PARSE;
	if ((rc = get32(sub->sq_c, sq, "c", SCALAR)) || (rc = get32(sub->sq_zv, sq, "zv", SCALAR)) ||
	    (rc = get32(sub->sq_zr, sq, "zr", SCALAR)) || (rc = get32(sub->sq_zs, sq, "zs", SCALAR)) ||
	    (rc = get32(sub->one_c, one, "c", SCALAR)) || (rc = get32(sub->one_z, one, "z", SCALAR)))
		return rc;
	return PHR_OK;
}

/* ---- aggregate and partial decryption ------------------------------------- */

int phr_he_aggregate_to_json(json_t **out, const struct phr_he_aggregate *agg)
{
	json_t *o = new_obj("phr-he-aggregate");
	if (!o)
		return PHR_ERR_NOMEM;
	int rc = set_u64(o, "count", agg->count);
	if (!rc && !(rc = set_ct(o, "sum", &agg->sum)) && !(rc = set_ct(o, "sumsq", &agg->sumsq)))
		rc = set_ct(o, "ones", &agg->ones);
	return finish(out, o, rc);
}

int phr_he_aggregate_from_json(struct phr_he_aggregate *agg, const json_t *j)
{
	memset(agg, 0, sizeof(*agg));
	int rc = check_type(j, "phr-he-aggregate");
	if (!rc && phr_json_get_u64(&agg->count, j, "count") != PHR_OK)
		rc = PHR_ERR_PARSE;
	if (!rc && agg->count > ((uint64_t)1 << 32))
		rc = PHR_ERR_INVALID;
	if (!rc && !(rc = get_ct(&agg->sum, j, "sum")) && !(rc = get_ct(&agg->sumsq, j, "sumsq")))
		rc = get_ct(&agg->ones, j, "ones");
	return rc;
}

int phr_he_partial_to_json(json_t **out, const struct phr_he_partial *p)
{
	json_t *o = new_obj("phr-he-partial");
	if (!o)
		return PHR_ERR_NOMEM;
	int rc = set_u64(o, "index", p->index);
	json_t *parts = json_array();
	if (!rc && (!parts || json_object_set_new(o, "parts", parts) != 0))
		rc = PHR_ERR_NOMEM;
	for (int i = 0; !rc && i < 3; i++) {
		json_t *e = push_obj(parts);
		if (!e || phr_json_set_hex(e, "d", p->d[i], B) || phr_json_set_hex(e, "c", p->c[i], B) ||
		    phr_json_set_hex(e, "z", p->z[i], B))
			rc = PHR_ERR_NOMEM;
	}
	return finish(out, o, rc);
}

int phr_he_partial_from_json(struct phr_he_partial *p, const json_t *j)
{
	memset(p, 0, sizeof(*p));
	int rc = check_type(j, "phr-he-partial");
	if (!rc)
		rc = get_u32(&p->index, j, "index", PHR_HE_MAX_CUSTODIANS);
	if (rc)
		return rc;
	const json_t *parts = json_object_get(j, "parts");
	if (!json_is_array(parts))
		return PHR_ERR_PARSE;
	if (json_array_size(parts) != 3 || p->index == 0)
		return PHR_ERR_INVALID;
	for (size_t i = 0; i < 3; i++) {
		const json_t *e = json_array_get(parts, i);
		if (!json_is_object(e))
			return PHR_ERR_PARSE;
		if ((rc = get32(p->d[i], e, "d", POINT)) || (rc = get32(p->c[i], e, "c", SCALAR)) ||
		    (rc = get32(p->z[i], e, "z", SCALAR)))
			return rc;
	}
	return PHR_OK;
}
