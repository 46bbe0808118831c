/*
 * FHIR request parsing (paths, query strings), dates and search-key
 * extraction: the pure part of the FHIR server (phr/fhir.h).
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phr/fhir.h"
#include "phr/json.h"

bool phr_fhir_type_supported(const char *type)
{
	for (size_t i = 0; phr_fhir_types[i] != NULL; i++)
		if (strcmp(phr_fhir_types[i], type) == 0)
			return true;
	return false;
}

const struct phr_fhir_sp *phr_fhir_sp_find(const char *type, const char *code)
{
	for (const struct phr_fhir_sp *p = phr_fhir_sp_table; p->type != NULL; p++)
		if (strcmp(p->type, type) == 0 && strcmp(p->code, code) == 0)
			return p;
	return NULL;
}

bool phr_fhir_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '.')
			return false;
	return n >= 1 && n <= 64;
}

void phr_fhir_req_init(struct phr_fhir_req *r)
{
	memset(r, 0, sizeof(*r));
}

void phr_fhir_req_release(struct phr_fhir_req *r)
{
	for (size_t i = 0; i < r->n_params; i++) {
		phr_free(r->params[i].name);
		phr_free(r->params[i].modifier);
		phr_free(r->params[i].value);
	}
	r->n_params = 0;
}

int phr_fhir_req_add_param(struct phr_fhir_req *r, const char *name, const char *value)
{
	struct phr_fhir_param *p;
	const char *colon = strchr(name, ':');

	if (r->n_params == PHR_FHIR_MAX_PARAMS)
		return PHR_ERR_TOO_LARGE;
	p = &r->params[r->n_params];
	memset(p, 0, sizeof(*p));
	if (colon != NULL) {
		size_t n = (size_t)(colon - name);
		p->name = phr_malloc(n + 1);
		if (p->name != NULL) {
			memcpy(p->name, name, n);
			p->name[n] = '\0';
		}
		p->modifier = phr_strdup(colon + 1);
	} else {
		p->name = phr_strdup(name);
	}
	p->value = phr_strdup(value != NULL ? value : "");
	if (p->name == NULL || p->value == NULL || (colon != NULL && p->modifier == NULL)) {
		phr_free(p->name);
		phr_free(p->modifier);
		phr_free(p->value);
		return PHR_ERR_NOMEM;
	}
	r->n_params++;
	return PHR_OK;
}

const char *phr_fhir_req_param(const struct phr_fhir_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].name, name) == 0 && r->params[i].modifier == NULL)
			return r->params[i].value;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent- and '+'-decodes s[0..n) into a new string. */
static int decode(char **out, const char *s, size_t n)
{
	char *d = phr_malloc(n + 1);
	size_t j = 0;

	if (d == NULL)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;
			if (i + 2 >= n) {
				phr_free(d);
				return PHR_ERR_PARSE;
			}
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0) {
				phr_free(d);
				return PHR_ERR_PARSE;
			}
			d[j++] = (char)(h * 16 + l);
			i += 2;
		} else {
			d[j++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	d[j] = '\0';
	if (strlen(d) != j) { /* %00 */
		phr_free(d);
		return PHR_ERR_PARSE;
	}
	*out = d;
	return PHR_OK;
}

static int parse_query(struct phr_fhir_req *r, const char *q)
{
	while (*q != '\0') {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		char *name = NULL, *value = NULL;
		int rv;
		if (n > 0) {
			size_t kn = eq ? (size_t)(eq - q) : n;
			rv = decode(&name, q, kn);
			if (rv == PHR_OK)
				rv = decode(&value, eq ? eq + 1 : q + n, eq ? n - kn - 1 : 0);
			if (rv == PHR_OK && name[0] == '\0')
				rv = PHR_ERR_PARSE;
			if (rv == PHR_OK)
				rv = phr_fhir_req_add_param(r, name, value);
			phr_free(name);
			phr_free(value);
			if (rv != PHR_OK)
				return rv;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return PHR_OK;
}

int phr_fhir_req_add_query(struct phr_fhir_req *r, const char *query)
{
	return parse_query(r, query);
}

/* Copies path segment s[0..n) into dst (cap bytes). */
static int seg_copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return PHR_ERR_TOO_LARGE;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return PHR_OK;
}

int phr_fhir_req_parse(struct phr_fhir_req *r, const char *url)
{
	const char *seg[5];
	size_t len[5], ns = 0, plen;
	const char *q = strchr(url, '?');
	char vbuf[24];
	int rv;

	plen = q ? (size_t)(q - url) : strlen(url);
	while (plen > 0 && *url == '/') {
		url++;
		plen--;
	}
	while (plen > 0 && url[plen - 1] == '/')
		plen--;
	for (size_t i = 0; i < plen;) {
		size_t n = 0;
		while (i + n < plen && url[i + n] != '/')
			n++;
		if (n == 0 || ns == 5)
			return PHR_ERR_NOT_FOUND;
		seg[ns] = url + i;
		len[ns++] = n;
		i += n + 1;
	}
	if (q != NULL && (rv = parse_query(r, q + 1)) != PHR_OK)
		return rv;
	if (ns == 0) {
		r->target = PHR_FHIR_T_BASE;
		return PHR_OK;
	}
	if (ns == 1 && len[0] == 8 && memcmp(seg[0], "metadata", 8) == 0) {
		r->target = PHR_FHIR_T_METADATA;
		return PHR_OK;
	}
	if (ns == 1 && len[0] == 8 && memcmp(seg[0], "_history", 8) == 0) {
		r->target = PHR_FHIR_T_HISTORY_TYPE; /* whole system: type "" */
		return PHR_OK;
	}
	if (seg_copy(r->type, sizeof(r->type), seg[0], len[0]) != PHR_OK ||
	    !phr_fhir_type_supported(r->type))
		return PHR_ERR_NOT_FOUND;
	if (ns == 1) {
		r->target = PHR_FHIR_T_TYPE;
		return PHR_OK;
	}
	if (len[1] == 7 && memcmp(seg[1], "_search", 7) == 0 && ns == 2) {
		r->target = PHR_FHIR_T_SEARCH;
		return PHR_OK;
	}
	if (len[1] == 8 && memcmp(seg[1], "_history", 8) == 0 && ns == 2) {
		r->target = PHR_FHIR_T_HISTORY_TYPE;
		return PHR_OK;
	}
	if (seg_copy(r->id, sizeof(r->id), seg[1], len[1]) != PHR_OK)
		return PHR_ERR_INVALID;
	if (r->id[0] == '$' && ns == 2) {
		/* type-level operation: Patient/$everything */
		if (seg_copy(r->op, sizeof(r->op), seg[1] + 1, len[1] - 1) != PHR_OK)
			return PHR_ERR_NOT_FOUND;
		r->id[0] = '\0';
		r->target = PHR_FHIR_T_OPERATION;
		return PHR_OK;
	}
	if (!phr_fhir_id_valid(r->id))
		return PHR_ERR_INVALID;
	if (ns == 2) {
		r->target = PHR_FHIR_T_INSTANCE;
		return PHR_OK;
	}
	if (ns == 3 && seg[2][0] == '$') {
		if (seg_copy(r->op, sizeof(r->op), seg[2] + 1, len[2] - 1) != PHR_OK)
			return PHR_ERR_NOT_FOUND;
		r->target = PHR_FHIR_T_OPERATION;
		return PHR_OK;
	}
	if (len[2] != 8 || memcmp(seg[2], "_history", 8) != 0)
		return PHR_ERR_NOT_FOUND;
	if (ns == 3) {
		r->target = PHR_FHIR_T_HISTORY;
		return PHR_OK;
	}
	if (ns != 4 || seg_copy(vbuf, sizeof(vbuf), seg[3], len[3]) != PHR_OK ||
	    phr_parse_u64(&r->vid, vbuf) != PHR_OK || r->vid == 0)
		return PHR_ERR_INVALID;
	r->target = PHR_FHIR_T_VREAD;
	return PHR_OK;
}

/* --- dates ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static unsigned num(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

static unsigned mdays(int64_t y, unsigned m)
{
	static const unsigned d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

int phr_fhir_date_range(int64_t *lo, int64_t *hi, const char *s)
{
	size_t n = strlen(s);
	int64_t y, day, t;
	unsigned mo = 1, d = 1, hh, mi, ss = 0;
	int64_t off = 0;
	const char *p;

	if (n < 4 || !digits(s, 4))
		return PHR_ERR_PARSE;
	y = num(s, 4);
	if (n == 4) {
		*lo = days_from_civil(y, 1, 1) * 86400;
		*hi = days_from_civil(y + 1, 1, 1) * 86400 - 1;
		return PHR_OK;
	}
	if (n < 7 || s[4] != '-' || !digits(s + 5, 2) || (mo = num(s + 5, 2)) < 1 || mo > 12)
		return PHR_ERR_PARSE;
	if (n == 7) {
		*lo = days_from_civil(y, mo, 1) * 86400;
		*hi = *lo + (int64_t)mdays(y, mo) * 86400 - 1;
		return PHR_OK;
	}
	if (n < 10 || s[7] != '-' || !digits(s + 8, 2) || (d = num(s + 8, 2)) < 1 || d > mdays(y, mo))
		return PHR_ERR_PARSE;
	day = days_from_civil(y, mo, d) * 86400;
	if (n == 10) {
		*lo = day;
		*hi = day + 86399;
		return PHR_OK;
	}
	/* Thh:mm[:ss[.fff]][Z|+hh:mm] */
	if (n < 16 || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2))
		return PHR_ERR_PARSE;
	hh = num(s + 11, 2);
	mi = num(s + 14, 2);
	p = s + 16;
	if (*p == ':') {
		if (!digits(p + 1, 2) || strlen(p) < 3)
			return PHR_ERR_PARSE;
		ss = num(p + 1, 2);
		p += 3;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return PHR_ERR_PARSE;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (hh > 24 || mi > 59 || ss > 60)
		return PHR_ERR_PARSE;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (strlen(p) != 6 || !digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2))
			return PHR_ERR_PARSE;
		off = (int64_t)num(p + 1, 2) * 3600 + (int64_t)num(p + 4, 2) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	}
	if (*p != '\0')
		return PHR_ERR_PARSE;
	t = day + (int64_t)hh * 3600 + (int64_t)mi * 60 + ss - off;
	*lo = t;
	*hi = t;
	return PHR_OK;
}

void phr_fhir_str_norm(char *out, const char *s)
{
	size_t j = 0;

	for (; *s != '\0'; s++)
		out[j++] = (char)tolower((unsigned char)*s);
	out[j] = '\0';
}

/* --- key extraction ----------------------------------------------------------- */

struct xctx {
	const struct phr_fhir_sp *sp;
	phr_fhir_key_fn fn;
	void *ctx;
};

static int emit(struct xctx *x, const char *sys, const char *value, double nv, int64_t lo, int64_t hi)
{
	struct phr_fhir_key k;

	k.param = x->sp->code;
	k.kind = x->sp->kind;
	k.system = sys;
	k.value = value;
	k.num = nv;
	k.lo = lo;
	k.hi = hi;
	return x->fn(x->ctx, &k);
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int emit_str(struct xctx *x, const char *s)
{
	size_t n = strlen(s);
	char buf[512];
	char *b = n < sizeof(buf) ? buf : phr_malloc(n + 1);
	int rv;

	if (b == NULL)
		return PHR_ERR_NOMEM;
	phr_fhir_str_norm(b, s);
	rv = emit(x, NULL, b, 0, 0, 0);
	if (b != buf)
		phr_free(b);
	return rv;
}

/* Reference "…/Type/id[/_history/v]" -> "Type/id" (absolute URLs keep their last two segments). */
static int emit_ref(struct xctx *x, const char *ref)
{
	char buf[256];
	const char *h = strstr(ref, "/_history/");
	size_t n = h ? (size_t)(h - ref) : strlen(ref);
	const char *slash1 = NULL, *slash2 = NULL;

	if (n == 0 || n >= sizeof(buf) || ref[0] == '#')
		return PHR_OK;
	memcpy(buf, ref, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '/') {
			slash2 = slash1;
			slash1 = buf + i;
		}
	if (slash1 == NULL)
		return PHR_OK; /* urn:uuid: etc. are not indexed */
	if (x->sp->filter[0] != '\0' && strncmp(x->sp->filter, "system=", 7) != 0) {
		size_t tl = (size_t)(slash1 - (slash2 ? slash2 + 1 : buf));
		const char *t = slash2 ? slash2 + 1 : buf;
		if (strlen(x->sp->filter) != tl || strncmp(t, x->sp->filter, tl) != 0)
			return PHR_OK;
	}
	return emit(x, NULL, slash2 ? slash2 + 1 : buf, 0, 0, 0);
}

static int emit_date(struct xctx *x, const char *s1, const char *s2)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX, l2, h2;

	if (s1 != NULL && phr_fhir_date_range(&lo, &h2, s1) != PHR_OK)
		return PHR_OK;
	if (s2 != NULL && phr_fhir_date_range(&l2, &hi, s2) != PHR_OK)
		return PHR_OK;
	if (s2 == NULL && s1 != NULL && x->sp->kind == PHR_FHIR_SP_DATE && hi == INT64_MAX)
		hi = h2;
	if (s1 == NULL && s2 == NULL)
		return PHR_OK;
	return emit(x, NULL, NULL, 0, lo, hi);
}

/* A value reached by the path: emit its keys by kind. */
static int value_keys(struct xctx *x, const json_t *v)
{
	const char *filt = x->sp->filter;
	int rv = PHR_OK;

	switch (x->sp->kind) {
	case PHR_FHIR_SP_TOKEN:
		if (json_is_string(v))
			return emit(x, NULL, json_string_value(v), 0, 0, 0);
		if (json_is_boolean(v))
			return emit(x, NULL, json_is_true(v) ? "true" : "false", 0, 0, 0);
		if (!json_is_object(v))
			return PHR_OK;
		if (strncmp(filt, "system=", 7) == 0) {
			const char *s = jstr(v, "system");
			if (s == NULL || strcmp(s, filt + 7) != 0)
				return PHR_OK;
		}
		if (json_is_array(json_object_get(v, "coding"))) {
			size_t i;
			json_t *c;
			json_array_foreach (json_object_get(v, "coding"), i, c)
				if (rv == PHR_OK && jstr(c, "code") != NULL)
					rv = emit(x, jstr(c, "system"), jstr(c, "code"), 0, 0, 0);
			return rv;
		}
		if (jstr(v, "code") != NULL)
			return emit(x, jstr(v, "system"), jstr(v, "code"), 0, 0, 0);
		if (jstr(v, "value") != NULL) /* Identifier, ContactPoint */
			return emit(x, jstr(v, "system"), jstr(v, "value"), 0, 0, 0);
		return PHR_OK;
	case PHR_FHIR_SP_STRING:
		if (json_is_string(v))
			return emit_str(x, json_string_value(v));
		if (json_is_object(v)) {
			static const char *const keys[] = { "text", "family", "given", "prefix", "suffix",
							    "line", "city", "district", "state",
							    "postalCode", "country" };
			for (size_t k = 0; k < PHR_ARRAY_LEN(keys) && rv == PHR_OK; k++) {
				const json_t *e = json_object_get(v, keys[k]);
				size_t i;
				json_t *s;
				if (json_is_string(e))
					rv = emit_str(x, json_string_value(e));
				else if (json_is_array(e))
					json_array_foreach ((json_t *)e, i, s)
						if (rv == PHR_OK && json_is_string(s))
							rv = emit_str(x, json_string_value(s));
			}
		}
		return rv;
	case PHR_FHIR_SP_DATE:
		if (json_is_string(v))
			return emit_date(x, json_string_value(v), NULL);
		if (json_is_object(v)) {
			if (jstr(v, "start") != NULL || jstr(v, "end") != NULL)
				return emit_date(x, jstr(v, "start"), jstr(v, "end"));
			if (json_is_array(json_object_get(v, "event"))) { /* Timing */
				size_t i;
				json_t *e;
				json_array_foreach (json_object_get(v, "event"), i, e)
					if (rv == PHR_OK && json_is_string(e))
						rv = emit_date(x, json_string_value(e), NULL);
			}
		}
		return rv;
	case PHR_FHIR_SP_REFERENCE:
		if (json_is_object(v) && jstr(v, "reference") != NULL)
			return emit_ref(x, jstr(v, "reference"));
		if (json_is_string(v)) /* canonical */
			return emit(x, NULL, json_string_value(v), 0, 0, 0);
		return PHR_OK;
	case PHR_FHIR_SP_QUANTITY:
		if (json_is_object(v) && json_is_number(json_object_get(v, "value"))) {
			const char *code = jstr(v, "code") ? jstr(v, "code") : jstr(v, "unit");
			return emit(x, jstr(v, "system"), code,
				    json_number_value(json_object_get(v, "value")), 0, 0);
		}
		return PHR_OK;
	case PHR_FHIR_SP_URI:
		if (json_is_string(v))
			return emit(x, NULL, json_string_value(v), 0, 0, 0);
		return PHR_OK;
	case PHR_FHIR_SP_NUMBER:
		if (json_is_number(v))
			return emit(x, NULL, NULL, json_number_value(v), 0, 0);
		return PHR_OK;
	}
	return PHR_OK;
}

/* Follows the dotted path from @p v; arrays are flattened; a segment that is
 * the stem of a choice element ("effective") matches its typed names. */
static int walk(struct xctx *x, const json_t *v, const char *path, int depth)
{
	size_t n;
	const char *key;
	const json_t *e;
	char name[64];
	int rv = PHR_OK;

	if (depth > 16)
		return PHR_OK;
	if (json_is_array(v)) {
		size_t i;
		json_t *it;
		json_array_foreach ((json_t *)v, i, it)
			if (rv == PHR_OK)
				rv = walk(x, it, path, depth + 1);
		return rv;
	}
	if (*path == '\0')
		return value_keys(x, v);
	if (!json_is_object(v))
		return PHR_OK;
	n = strcspn(path, ".");
	if (n >= sizeof(name))
		return PHR_OK;
	memcpy(name, path, n);
	name[n] = '\0';
	path += n;
	if (*path == '.')
		path++;
	e = json_object_get(v, name);
	if (e != NULL)
		return walk(x, e, path, depth + 1);
	json_object_foreach ((json_t *)v, key, e) {
		if (strncmp(key, name, n) == 0 && isupper((unsigned char)key[n]) && rv == PHR_OK)
			rv = walk(x, e, path, depth + 1);
	}
	return rv;
}

int phr_fhir_keys_extract(const json_t *resource, phr_fhir_key_fn fn, void *ctx)
{
	const char *type = jstr(resource, "resourceType");
	struct xctx x = { NULL, fn, ctx };
	int rv;

	if (type == NULL || !phr_fhir_type_supported(type))
		return PHR_ERR_INVALID;
	for (const struct phr_fhir_sp *p = phr_fhir_sp_table; p->type != NULL; p++) {
		if (strcmp(p->type, type) != 0)
			continue;
		x.sp = p;
		if ((rv = walk(&x, resource, p->path, 0)) != PHR_OK)
			return rv;
	}
	return PHR_OK;
}

/* --- transaction planning --------------------------------------------------------- */

/* Rewrites every "reference" found in @p map (fullUrl -> "Type/id"). */
static int rewrite_refs(json_t *v, const json_t *map, int depth)
{
	int rv = PHR_OK;

	if (depth > 64)
		return PHR_OK;
	if (json_is_object(v)) {
		const char *k;
		json_t *e;
		json_object_foreach (v, k, e) {
			const json_t *to;
			if (strcmp(k, "reference") == 0 && json_is_string(e) &&
			    (to = json_object_get(map, json_string_value(e))) != NULL) {
				if (json_string_set(e, json_string_value(to)) != 0)
					return PHR_ERR_NOMEM;
			} else if (rv == PHR_OK) {
				rv = rewrite_refs(e, map, depth + 1);
			}
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e)
			if (rv == PHR_OK)
				rv = rewrite_refs(e, map, depth + 1);
	}
	return rv;
}

static int method_rank(const char *m)
{
	if (m == NULL)
		return 3;
	if (strcmp(m, "DELETE") == 0)
		return 0;
	if (strcmp(m, "POST") == 0)
		return 1;
	if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0)
		return 2;
	return 3;
}

int phr_fhir_tx_plan(size_t *order, char *detail, size_t detail_cap, json_t *entries)
{
	size_t n = json_array_size(entries), k = 0;
	json_t *map, *e;
	size_t i;
	int rv = PHR_OK;

	detail[0] = '\0';
	if (n > PHR_FHIR_MAX_ENTRIES) {
		snprintf(detail, detail_cap, "at most %d entries", PHR_FHIR_MAX_ENTRIES);
		return PHR_ERR_TOO_LARGE;
	}
	map = json_object();
	if (map == NULL)
		return PHR_ERR_NOMEM;
	json_array_foreach (entries, i, e) {
		const json_t *req = json_object_get(e, "request");
		const char *m = json_string_value(json_object_get(req, "method"));
		const char *u = json_string_value(json_object_get(req, "url"));
		json_t *res = json_object_get(e, "resource");
		const char *rt = json_string_value(json_object_get(res, "resourceType"));
		const char *full = json_string_value(json_object_get(e, "fullUrl"));
		uint8_t rnd[16];
		char id[PHR_FHIR_ID_MAX], to[PHR_FHIR_TYPE_MAX + PHR_FHIR_ID_MAX + 2];

		if (!json_is_object(e) || m == NULL || u == NULL) {
			snprintf(detail, detail_cap, "entry %zu: request.method and request.url are required", i);
			rv = PHR_ERR_INVALID;
			break;
		}
		if (strcmp(m, "POST") != 0)
			continue;
		if (rt == NULL || !json_is_object(res) || strlen(rt) >= PHR_FHIR_TYPE_MAX) {
			snprintf(detail, detail_cap, "entry %zu: a POST needs a resource", i);
			rv = PHR_ERR_INVALID;
			break;
		}
		randombytes_buf(rnd, sizeof(rnd));
		if (phr_hex_encode(id, sizeof(id), rnd, sizeof(rnd), false) != PHR_OK ||
		    json_object_set_new(res, "id", json_string(id)) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
		snprintf(to, sizeof(to), "%s/%s", rt, id);
		if (full != NULL && json_object_set_new(map, full, json_string(to)) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
	}
	if (rv == PHR_OK && json_object_size(map) > 0)
		rv = rewrite_refs(entries, map, 0);
	json_decref(map);
	if (rv != PHR_OK)
		return rv;
	/* stable order by rank: one pass per rank */
	for (int rank = 0; rank <= 3; rank++)
		json_array_foreach (entries, i, e) {
			const char *m = json_string_value(json_object_get(json_object_get(e, "request"), "method"));
			if (method_rank(m) == rank)
				order[k++] = i;
		}
	return PHR_OK;
}
