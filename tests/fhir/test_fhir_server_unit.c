/*
 * The pure part of the FHIR server (phr/fhir.h): URL parsing, dates, the
 * generated search-parameter table, search-key extraction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "phr/fhir.h"

static void parse_ok(struct phr_fhir_req *r, const char *url)
{
	phr_fhir_req_init(r);
	assert_int_equal(phr_fhir_req_parse(r, url), PHR_OK);
}

static void test_urls(void **state)
{
	struct phr_fhir_req r;

	(void)state;
	parse_ok(&r, "");
	assert_int_equal(r.target, PHR_FHIR_T_BASE);
	phr_fhir_req_release(&r);
	parse_ok(&r, "/");
	assert_int_equal(r.target, PHR_FHIR_T_BASE);
	phr_fhir_req_release(&r);
	parse_ok(&r, "/metadata");
	assert_int_equal(r.target, PHR_FHIR_T_METADATA);
	phr_fhir_req_release(&r);
	parse_ok(&r, "Patient?name=J%C3%BCrgen+M&birthdate=ge1970&_count=5&code:not=a%7Cb");
	assert_int_equal(r.target, PHR_FHIR_T_TYPE);
	assert_string_equal(r.type, "Patient");
	assert_int_equal(r.n_params, 4);
	assert_string_equal(phr_fhir_req_param(&r, "name"), "J\xc3\xbcrgen M");
	assert_string_equal(phr_fhir_req_param(&r, "_count"), "5");
	assert_string_equal(r.params[3].name, "code");
	assert_string_equal(r.params[3].modifier, "not");
	assert_string_equal(r.params[3].value, "a|b");
	phr_fhir_req_release(&r);
	parse_ok(&r, "/Observation/abc-1.2/_history/3");
	assert_int_equal(r.target, PHR_FHIR_T_VREAD);
	assert_string_equal(r.id, "abc-1.2");
	assert_int_equal(r.vid, 3);
	phr_fhir_req_release(&r);
	parse_ok(&r, "Patient/p1/$everything");
	assert_int_equal(r.target, PHR_FHIR_T_OPERATION);
	assert_string_equal(r.op, "everything");
	phr_fhir_req_release(&r);
	parse_ok(&r, "Patient/_history");
	assert_int_equal(r.target, PHR_FHIR_T_HISTORY_TYPE);
	phr_fhir_req_release(&r);
	parse_ok(&r, "Patient/_search");
	assert_int_equal(r.target, PHR_FHIR_T_SEARCH);
	phr_fhir_req_release(&r);

	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Spaceship/1"), PHR_ERR_NOT_FOUND);
	phr_fhir_req_release(&r);
	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Patient/a_b"), PHR_ERR_INVALID);
	phr_fhir_req_release(&r);
	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Patient/1/_history/0"), PHR_ERR_INVALID);
	phr_fhir_req_release(&r);
	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Patient?a=%zz"), PHR_ERR_PARSE);
	phr_fhir_req_release(&r);
	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Patient?a=%00"), PHR_ERR_PARSE);
	phr_fhir_req_release(&r);
	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Patient?a=%4"), PHR_ERR_PARSE);
	phr_fhir_req_release(&r);
	phr_fhir_req_init(&r);
	assert_int_equal(phr_fhir_req_parse(&r, "Patient/1/2/3/4/5"), PHR_ERR_NOT_FOUND);
	phr_fhir_req_release(&r);
	{
		char many[4096] = "Patient?";
		size_t off = strlen(many);
		for (int i = 0; i < 40; i++)
			off += (size_t)snprintf(many + off, sizeof(many) - off, "a=1&");
		phr_fhir_req_init(&r);
		assert_int_equal(phr_fhir_req_parse(&r, many), PHR_ERR_TOO_LARGE);
		phr_fhir_req_release(&r);
	}
}

static void test_dates(void **state)
{
	int64_t lo, hi;

	(void)state;
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "1970"), PHR_OK);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 365 * 86400 - 1);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2000-02"), PHR_OK);
	assert_int_equal(hi - lo + 1, 29 * 86400);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2001-09-09T01:46:40Z"), PHR_OK);
	assert_int_equal(lo, 1000000000);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2001-09-09T03:46:40.123+02:00"), PHR_OK);
	assert_int_equal(lo, 1000000000);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "1969-12-31"), PHR_OK);
	assert_int_equal(lo, -86400);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2001-02-29"), PHR_ERR_PARSE);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2001-13"), PHR_ERR_PARSE);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "20x1"), PHR_ERR_PARSE);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2001-01-01T10:00Zjunk"), PHR_ERR_PARSE);
	assert_int_equal(phr_fhir_date_range(&lo, &hi, "2001-01-01T10:00:00+0100"), PHR_ERR_PARSE);
}

static void test_table(void **state)
{
	const struct phr_fhir_sp *sp;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; phr_fhir_types[i] != NULL; i++)
		n++;
	assert_int_equal(n, 18);
	sp = phr_fhir_sp_find("Patient", "family");
	assert_non_null(sp);
	assert_int_equal(sp->kind, PHR_FHIR_SP_STRING);
	assert_string_equal(sp->path, "name.family");
	sp = phr_fhir_sp_find("Observation", "patient");
	assert_int_equal(sp->kind, PHR_FHIR_SP_REFERENCE);
	assert_string_equal(sp->filter, "Patient");
	sp = phr_fhir_sp_find("Observation", "value-quantity");
	assert_int_equal(sp->kind, PHR_FHIR_SP_QUANTITY);
	sp = phr_fhir_sp_find("Immunization", "vaccine-code");
	assert_int_equal(sp->kind, PHR_FHIR_SP_TOKEN);
	assert_non_null(phr_fhir_sp_find("AuditEvent", "_lastUpdated"));
	assert_null(phr_fhir_sp_find("Patient", "nonsense"));
	assert_false(phr_fhir_type_supported("Bundle"));
}

struct keys {
	char seen[64][96];
	size_t n;
};

static int collect(void *ctx, const struct phr_fhir_key *k)
{
	struct keys *ks = ctx;

	if (ks->n < 64) {
		snprintf(ks->seen[ks->n], sizeof(ks->seen[0]), "%s=%s|%s|%g|%lld", k->param,
			 k->system ? k->system : "", k->value ? k->value : "", k->num, (long long)k->lo);
		ks->n++;
	}
	return PHR_OK;
}

static bool has(const struct keys *ks, const char *s)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->seen[i], s) == 0)
			return true;
	return false;
}

static void test_extract(void **state)
{
	json_t *o = json_loads(
		"{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{\"coding\":"
		"[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]},\"subject\":{\"reference\":"
		"\"http://x/fhir/Patient/p1/_history/2\"},\"performer\":[{\"reference\":\"Practitioner/d1\"}],"
		"\"effectiveDateTime\":\"1970-01-02\",\"valueQuantity\":{\"value\":67.5,\"system\":"
		"\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
		0, NULL);
	struct keys ks;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	assert_non_null(o);
	assert_int_equal(phr_fhir_keys_extract(o, collect, &ks), PHR_OK);
	assert_true(has(&ks, "code=http://loinc.org|29463-7|0|0"));
	assert_true(has(&ks, "patient=|Patient/p1|0|0"));
	assert_true(has(&ks, "subject=|Patient/p1|0|0"));
	assert_true(has(&ks, "performer=|Practitioner/d1|0|0"));
	assert_true(has(&ks, "date=||0|86400"));
	assert_true(has(&ks, "value-quantity=http://unitsofmeasure.org|kg|67.5|0"));
	assert_true(has(&ks, "status=|final|0|0"));
	assert_true(has(&ks, "_id=|o1|0|0"));
	json_decref(o);

	o = json_loads("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"McDonald\",\"given\":[\"Ann\"]}],"
		       "\"telecom\":[{\"system\":\"email\",\"value\":\"a@b.c\"}]}",
		       0, NULL);
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(phr_fhir_keys_extract(o, collect, &ks), PHR_OK);
	assert_true(has(&ks, "family=|mcdonald|0|0"));
	assert_true(has(&ks, "name=|ann|0|0"));
	assert_true(has(&ks, "email=email|a@b.c|0|0"));
	assert_false(has(&ks, "phone=email|a@b.c|0|0"));
	json_decref(o);

	o = json_loads("{\"resourceType\":\"Bundle\"}", 0, NULL);
	assert_int_equal(phr_fhir_keys_extract(o, collect, &ks), PHR_ERR_INVALID);
	json_decref(o);
}

static void test_tx_plan(void **state)
{
	json_t *b = json_loads(
		"[{\"request\":{\"method\":\"GET\",\"url\":\"Patient?name=a\"}},"
		"{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\"},"
		"\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
		"{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"urn:uuid:1\"},"
		"\"focus\":[{\"reference\":\"urn:uuid:2\"}]},\"request\":{\"method\":\"PUT\",\"url\":\"Observation/o\"}},"
		"{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/x\"}}]",
		0, NULL);
	size_t order[4];
	char detail[200];
	const char *pid, *ref;

	(void)state;
	assert_non_null(b);
	assert_int_equal(phr_fhir_tx_plan(order, detail, sizeof(detail), b), PHR_OK);
	assert_int_equal(order[0], 3); /* DELETE */
	assert_int_equal(order[1], 1); /* POST */
	assert_int_equal(order[2], 2); /* PUT */
	assert_int_equal(order[3], 0); /* GET */
	pid = json_string_value(json_object_get(json_object_get(json_array_get(b, 1), "resource"), "id"));
	assert_non_null(pid);
	assert_int_equal(strlen(pid), 32);
	ref = json_string_value(json_object_get(json_object_get(json_object_get(json_array_get(b, 2), "resource"),
								"subject"), "reference"));
	assert_int_equal(strncmp(ref, "Patient/", 8), 0);
	assert_string_equal(ref + 8, pid);
	/* a reference to no entry of the Bundle stays */
	ref = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(json_array_get(b, 2),
									   "resource"), "focus"), 0), "reference"));
	assert_string_equal(ref, "urn:uuid:2");
	json_decref(b);

	b = json_loads("[{\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]", 0, NULL);
	assert_int_equal(phr_fhir_tx_plan(order, detail, sizeof(detail), b), PHR_ERR_INVALID);
	assert_non_null(strstr(detail, "entry 0"));
	json_decref(b);
	b = json_loads("[{\"request\":{\"url\":\"Patient\"}}]", 0, NULL);
	assert_int_equal(phr_fhir_tx_plan(order, detail, sizeof(detail), b), PHR_ERR_INVALID);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_tx_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
