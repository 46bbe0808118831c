/*
 * Conformance: every official R4 example (npm hl7.fhir.r4.examples, CC0) of
 * the 18 resource types the server holds passes phr_fhir_validate (all 255;
 * ImagingStudy-example-xr with a warning: its bodySite code T-15460 is a
 * legacy SNOMED RT id, not a SNOMED CT one) and is imported by transaction Bundles
 * (PUT Type/id, so the examples' references between each other hold), read
 * back semantically unchanged (meta.versionId and meta.lastUpdated aside),
 * and found by a search on every one of its indexed search keys
 * (`_id=<id>&<param>=<value>&_summary=count` answers total 1). A copy with
 * a corrupted SNOMED CT code is refused with the issue and its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/api_test_util.h"
#include "phr/crypto.h"
#include "phr/fhir.h"
#include "phr/fhir_validate.h"

#define CHUNK 64

static struct api_fx fx;
static char t_provider[PHR_API_TOKEN_LEN];
static char hdr_patient[128];
static json_t *examples; /* array of resources the validator accepts */
static json_t *rejected; /* and those it rejects */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_examples(void)
{
	const char *src = getenv("PHR_SOURCE_DIR");
	char dir[1024], path[2048];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	snprintf(dir, sizeof(dir), "%s/node_modules/hl7.fhir.r4.examples", src ? src : ".");
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char type[PHR_FHIR_TYPE_MAX];
		size_t tl = strcspn(e->d_name, "-");
		if (tl >= sizeof(type) || e->d_name[tl] != '-' || strstr(e->d_name, ".json") == NULL)
			continue;
		memcpy(type, e->d_name, tl);
		type[tl] = '\0';
		if (!phr_fhir_type_supported(type))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	examples = json_array();
	rejected = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		j = json_load_file(path, 0, NULL);
		free(names[i]);
		if (j != NULL && json_is_string(json_object_get(j, "id")))
			json_array_append_new(phr_fhir_validate(NULL, j) == PHR_OK ? examples : rejected, j);
		else
			json_decref(j);
	}
	free(names);
	return json_array_size(examples) + json_array_size(rejected) > 200 ? 0 : -1;
}

static int setup(void **state)
{
	char addr[PHR_ETH_ADDRESS_STR_LEN];

	(void)state;
	if (load_examples() != 0) {
		fprintf(stderr, "npm hl7.fhir.r4.examples missing\n");
		return -1;
	}
	if (api_fx_start(&fx, true) != 0)
		return -1;
	api_fx_token(&fx, t_provider, "provider");
	phr_eth_address_checksum(addr, phr_node_identity_by_name(fx.node, "patient")->address);
	snprintf(hdr_patient, sizeof(hdr_patient), "X-Phr-Patient: %s", addr);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	json_decref(examples);
	json_decref(rejected);
	return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void strip_meta(json_t *r)
{
	json_t *m = json_object_get(r, "meta");

	if (m == NULL)
		return;
	json_object_del(m, "versionId");
	json_object_del(m, "lastUpdated");
	if (json_object_size(m) == 0)
		json_object_del(r, "meta");
}

static void test_import_and_round_trip(void **state)
{
	size_t n = json_array_size(examples), ok = 0;
	struct timespec t0, t1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t off = 0; off < n; off += CHUNK) {
		json_t *b = json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type", "transaction", "entry");
		struct http_res r;
		char url[256], *body;
		for (size_t i = off; i < n && i < off + CHUNK; i++) {
			json_t *res = json_array_get(examples, i);
			char u[200];
			snprintf(u, sizeof(u), "%s/%s", jstr(res, "resourceType"), jstr(res, "id"));
			json_array_append_new(json_object_get(b, "entry"),
					      json_pack("{s:O,s:{s:s,s:s}}", "resource", res, "request", "method",
							"PUT", "url", u));
		}
		body = json_dumps(b, JSON_COMPACT);
		json_decref(b);
		snprintf(url, sizeof(url), "%s/fhir", fx.base);
		assert_int_equal(http_do(&r, "POST", url, t_provider, "application/fhir+json", body, strlen(body),
					 hdr_patient),
				 0);
		free(body);
		if (r.status != 200)
			fprintf(stderr, "chunk at %zu: %ld %.*s\n", off, r.status, (int)(r.len > 2000 ? 2000 : r.len),
				r.body ? (char *)r.body : "");
		assert_int_equal(r.status, 200);
		http_res_release(&r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "imported %zu official examples in %.1f s\n", n,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (size_t i = 0; i < n; i++) {
		json_t *orig = json_deep_copy(json_array_get(examples, i));
		struct http_res r;
		char url[512];
		snprintf(url, sizeof(url), "%s/fhir/%s/%s", fx.base, jstr(orig, "resourceType"), jstr(orig, "id"));
		assert_int_equal(http_do(&r, "GET", url, t_provider, NULL, NULL, 0, NULL), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(r.json);
		strip_meta(orig);
		strip_meta(r.json);
		if (json_equal(orig, r.json))
			ok++;
		else
			fprintf(stderr, "round trip differs: %s\n", url);
		json_decref(orig);
		http_res_release(&r);
	}
	fprintf(stderr, "%zu/%zu examples round-trip unchanged\n", ok, n);
	assert_int_equal(ok, n);
}

/* The example whose bodySite code is a legacy SNOMED RT id (T-15460), or NULL. */
static json_t *example_xr(void)
{
	size_t i;
	json_t *res;

	json_array_foreach (examples, i, res)
		if (strcmp(jstr(res, "resourceType"), "ImagingStudy") == 0 && strcmp(jstr(res, "id"), "example-xr") == 0)
			return res;
	return NULL;
}

/*
 * Every official example of the 18 types passes the validator (so all were
 * imported above). A legacy SNOMED RT code is a warning, which the server
 * returns with Prefer: return=OperationOutcome; a corrupted SNOMED CT code in
 * its place is an error: the server refuses the resource with the issue and
 * its element path, and stores nothing.
 */
static void test_validator_verdicts(void **state)
{
	struct http_res r;
	char url[512], *body;
	json_t *xr = example_xr(), *bad, *issues, *is, *code;
	size_t i, warnings = 0;

	(void)state;
	fprintf(stderr, "%zu examples rejected by the validator\n", json_array_size(rejected));
	assert_int_equal(json_array_size(rejected), 0);
	assert_non_null(xr);
	/* the example as it is (its Patient was imported above: the subject names it) */
	snprintf(url, sizeof(url), "%s/fhir/ImagingStudy/example-xr", fx.base);
	body = json_dumps(xr, JSON_COMPACT);
	assert_int_equal(http_do(&r, "PUT", url, t_provider, "application/fhir+json", body, strlen(body),
				 "Prefer: return=OperationOutcome"),
			 0);
	free(body);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "resourceType"), "OperationOutcome");
	issues = json_object_get(r.json, "issue");
	json_array_foreach (issues, i, is)
		if (strcmp(jstr(is, "severity"), "warning") == 0) {
			warnings++;
			assert_string_equal(jstr(is, "code"), "code-invalid");
			assert_non_null(strstr(jstr(is, "diagnostics"), "T-15460"));
			assert_string_equal(json_string_value(json_array_get(json_object_get(is, "expression"), 0)),
					    "ImagingStudy.series[0].bodySite.code");
		}
	assert_int_equal(warnings, 1);
	http_res_release(&r);
	/* a copy with a SNOMED CT id whose Verhoeff digit is wrong (71341001 -> 71341002) */
	bad = json_deep_copy(xr);
	json_object_set_new(bad, "id", json_string("example-xr-bad"));
	code = json_object_get(json_array_get(json_object_get(bad, "series"), 0), "bodySite");
	assert_non_null(code);
	json_object_set_new(code, "code", json_string("71341002"));
	snprintf(url, sizeof(url), "%s/fhir/ImagingStudy/example-xr-bad", fx.base);
	body = json_dumps(bad, JSON_COMPACT);
	json_decref(bad);
	assert_int_equal(http_do(&r, "PUT", url, t_provider, "application/fhir+json", body, strlen(body), hdr_patient),
			 0);
	free(body);
	assert_int_equal(r.status, 400);
	assert_string_equal(jstr(r.json, "resourceType"), "OperationOutcome");
	is = json_array_get(json_object_get(r.json, "issue"), 0);
	assert_string_equal(jstr(is, "severity"), "error");
	assert_string_equal(jstr(is, "code"), "code-invalid");
	assert_string_equal(json_string_value(json_array_get(json_object_get(is, "expression"), 0)),
			    "ImagingStudy.series[0].bodySite.code");
	http_res_release(&r);
	assert_int_equal(http_do(&r, "GET", url, t_provider, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 404);
	http_res_release(&r);
}

/* --- a search for each key ---------------------------------------------------- */

struct kctx {
	struct phr_buf q;
	size_t searched, skipped, failed;
	const char *type, *id;
};

static void enc(struct phr_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
			assert_int_equal(phr_buf_append_byte(b, c), PHR_OK);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			assert_int_equal(phr_buf_append(b, e, 3), PHR_OK);
		}
	}
}

/* Escapes the FHIR search specials , | $ \ in a value. */
static void esc(char *out, size_t cap, const char *s)
{
	size_t j = 0;
	for (; *s && j + 2 < cap; s++) {
		if (*s == ',' || *s == '|' || *s == '$' || *s == '\\')
			out[j++] = '\\';
		out[j++] = *s;
	}
	out[j] = '\0';
}

static void iso(char out[40], int64_t t)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_param(struct phr_buf *b, const char *name, const char *value)
{
	assert_int_equal(phr_buf_append_byte(b, '&'), PHR_OK);
	enc(b, name);
	assert_int_equal(phr_buf_append_byte(b, '='), PHR_OK);
	enc(b, value);
}

static int search_key(void *ctx, const struct phr_fhir_key *k)
{
	struct kctx *x = ctx;
	char v[1024], s1[512], s2[512];
	struct http_res r;

	phr_buf_reset(&x->q);
	assert_int_equal(phr_buf_appendf(&x->q, "%s/fhir/%s?_summary=count", fx.base, x->type), PHR_OK);
	add_param(&x->q, "_id", x->id);
	if (strcmp(k->param, "_lastUpdated") == 0) /* the server sets meta.lastUpdated */
		return PHR_OK;
	if ((k->value && strlen(k->value) > 400) || (k->system && strlen(k->system) > 400) ||
	    (k->system && strchr(k->system, '|')) || (k->value && strchr(k->value, '|'))) {
		x->skipped++;
		return PHR_OK;
	}
	switch (k->kind) {
	case PHR_FHIR_SP_TOKEN:
		esc(s2, sizeof(s2), k->value);
		if (k->system) {
			esc(s1, sizeof(s1), k->system);
			snprintf(v, sizeof(v), "%s|%s", s1, s2);
		} else {
			snprintf(v, sizeof(v), "%s", s2);
		}
		add_param(&x->q, k->param, v);
		break;
	case PHR_FHIR_SP_STRING:
	case PHR_FHIR_SP_URI:
	case PHR_FHIR_SP_REFERENCE:
		esc(v, sizeof(v), k->value);
		add_param(&x->q, k->param, v);
		break;
	case PHR_FHIR_SP_DATE:
		if (k->lo != INT64_MIN) {
			iso(s1, k->lo);
			snprintf(v, sizeof(v), "ge%s", s1);
			add_param(&x->q, k->param, v);
		}
		if (k->hi != INT64_MAX) {
			iso(s1, k->hi);
			snprintf(v, sizeof(v), "le%s", s1);
			add_param(&x->q, k->param, v);
		}
		break;
	case PHR_FHIR_SP_QUANTITY:
	case PHR_FHIR_SP_NUMBER:
		snprintf(s1, sizeof(s1), "%.17g", k->num);
		if (k->kind == PHR_FHIR_SP_QUANTITY && k->value) {
			esc(s2, sizeof(s2), k->value);
			esc(v, sizeof(v), k->system ? k->system : "");
			size_t used = strlen(s1);
			int w = snprintf(s1 + used, sizeof(s1) - used, "|%s|%s", v, s2);
			assert_true(w >= 0 && (size_t)w < sizeof(s1) - used);
		}
		add_param(&x->q, k->param, s1);
		break;
	}
	assert_int_equal(phr_buf_append_byte(&x->q, 0), PHR_OK);
	assert_int_equal(http_do(&r, "GET", (const char *)x->q.data, t_provider, NULL, NULL, 0, NULL), 0);
	x->searched++;
	if (r.status != 200 || json_integer_value(json_object_get(r.json, "total")) != 1) {
		x->failed++;
		fprintf(stderr, "not found by %s: %ld %.*s\n", (const char *)x->q.data, r.status,
			(int)(r.len > 300 ? 300 : r.len), r.body ? (char *)r.body : "");
	}
	http_res_release(&r);
	return PHR_OK;
}

static void test_found_by_each_key(void **state)
{
	struct kctx x;
	size_t i;
	json_t *res;

	(void)state;
	memset(&x, 0, sizeof(x));
	phr_buf_init(&x.q, 1 << 20);
	json_array_foreach (examples, i, res) {
		x.type = jstr(res, "resourceType");
		x.id = jstr(res, "id");
		assert_int_equal(phr_fhir_keys_extract(res, search_key, &x), PHR_OK);
	}
	phr_buf_release(&x.q);
	fprintf(stderr, "%zu searches on indexed keys, %zu failed, %zu keys skipped (| in a system or value)\n",
		x.searched, x.failed, x.skipped);
	assert_true(x.searched > 1000);
	assert_int_equal(x.failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_and_round_trip),
		cmocka_unit_test(test_found_by_each_key),
		cmocka_unit_test(test_validator_verdicts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
