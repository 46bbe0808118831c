/* Terminology checks: every code of the official FHIR R4 expansions (195 CVX,
 * 1,000 LOINC, 1,001 SNOMED CT; tests/vectors/fhir-terminology) passes, and
 * corrupted copies (a changed digit, adjacent digits swapped, a digit added or
 * dropped) are rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/terminology.h"
#include "phr/json.h"

#define MAX_CODES 1100
struct list {
	char code[MAX_CODES][32];
	size_t n;
};

static void load(struct list *l, const char *name)
{
	char path[512];
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/tests/vectors/fhir-terminology/%s", root ? root : ".", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	l->n = 0;
	char line[64];
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (n == 0)
			continue;
		assert_true(n < sizeof(l->code[0]));
		assert_true(l->n < MAX_CODES);
		memcpy(l->code[l->n++], line, n + 1);
	}
	fclose(f);
}

static bool in_list(const struct list *l, const char *c)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->code[i], c) == 0)
			return true;
	return false;
}

static int check(const char *sys, const char *code)
{
	char reason[160];
	int rc = phr_fhir_term_check(reason, sizeof(reason), sys, code, strlen(code));
	if (rc == PHR_OK)
		assert_string_equal(reason, "");
	else
		assert_true(strlen(reason) > 0);
	return rc;
}

static bool is_exception_loinc(const char *c)
{
	static const char *const ex[] = { "11491-6", "11501-6", "5895-7", "5896-5", "5897-3",
					  "5928-1",  "6028-3",  "6415-5", "6580-7", "6645-7",
					  "6646-5",  "6647-3",  "6648-1", "6649-9" };
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (strcmp(ex[i], c) == 0)
			return true;
	return false;
}

/* Corrupts every code of a list in every position and checks each copy.
 * @p valid_if decides whether a corrupted copy may still be valid (another
 * real code); NULL means never. Returns the number of copies rejected. */
static size_t corrupt_all(const struct list *l, const char *sys, bool (*may_pass)(const struct list *, const char *),
			  bool skip_09_swap)
{
	size_t rejected = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *c = l->code[i];
		size_t n = strlen(c);
		char m[80];
		for (size_t p = 0; p < n; p++) {
			if (c[p] < '0' || c[p] > '9')
				continue;
			/* a changed digit */
			memcpy(m, c, n + 1);
			m[p] = (char)('0' + (c[p] - '0' + 1 + (int)(i % 9)) % 10);
			if (may_pass && may_pass(l, m)) {
				assert_int_equal(check(sys, m), PHR_OK);
			} else {
				if (check(sys, m) == PHR_OK)
					fail_msg("%s %s (from %s) accepted", sys, m, c);
				rejected++;
			}
			/* adjacent digits swapped */
			if (p + 1 < n && c[p + 1] >= '0' && c[p + 1] <= '9' && c[p] != c[p + 1]) {
				int a = c[p] - '0', b = c[p + 1] - '0';
				if (skip_09_swap && a + b == 9 && (a == 0 || b == 0))
					continue; /* Luhn-style mod 10 cannot see 09 <-> 90 */
				memcpy(m, c, n + 1);
				m[p] = c[p + 1];
				m[p + 1] = c[p];
				if (may_pass && may_pass(l, m)) {
					assert_int_equal(check(sys, m), PHR_OK);
				} else {
					if (check(sys, m) == PHR_OK)
						fail_msg("%s %s (swapped from %s) accepted", sys, m, c);
					rejected++;
				}
			}
		}
	}
	return rejected;
}

static bool in_list_or_exception(const struct list *l, const char *c)
{
	(void)l;
	return is_exception_loinc(c);
}

static void test_cvx(void **state)
{
	(void)state;
	static struct list l;
	load(&l, "cvx.txt");
	assert_int_equal(l.n, 195);
	assert_int_equal(phr_fhir_cvx_count(), 195);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(check(PHR_FHIR_SYSTEM_CVX, l.code[i]), PHR_OK);
	/* corrupted copies pass exactly when they are another code of the list */
	size_t rej = corrupt_all(&l, PHR_FHIR_SYSTEM_CVX, in_list, false);
	assert_true(rej > 100);
	char m[80];
	for (size_t i = 0; i < l.n; i++) {
		snprintf(m, sizeof(m), "%s0", l.code[i]);
		assert_int_equal(check(PHR_FHIR_SYSTEM_CVX, m), in_list(&l, m) ? PHR_OK : PHR_ERR_INVALID);
		snprintf(m, sizeof(m), "%.*s", (int)strlen(l.code[i]) - 1, l.code[i]);
		assert_int_equal(check(PHR_FHIR_SYSTEM_CVX, m), in_list(&l, m) ? PHR_OK : PHR_ERR_INVALID);
	}
	const char *display = NULL;
	assert_int_equal(phr_fhir_cvx_lookup(&display, "03", 2), PHR_OK);
	assert_string_equal(display, "MMR");
	assert_int_equal(phr_fhir_cvx_lookup(&display, "3", 1), PHR_ERR_NOT_FOUND);
	assert_int_equal(check(PHR_FHIR_SYSTEM_CVX, " 03"), PHR_ERR_INVALID);
}

static void test_loinc(void **state)
{
	(void)state;
	static struct list l;
	load(&l, "loinc.txt");
	assert_int_equal(l.n, 1000);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, l.code[i]), PHR_OK);
	size_t rej = corrupt_all(&l, PHR_FHIR_SYSTEM_LOINC, in_list_or_exception, true);
	assert_true(rej > 5000);
	char m[80];
	for (size_t i = 0; i < l.n; i++) {
		/* wrong length: a digit added in front of the hyphen or one dropped */
		const char *c = l.code[i];
		size_t n = strlen(c);
		snprintf(m, sizeof(m), "%.*s1%s", (int)(n - 2), c, c + n - 2);
		if (!is_exception_loinc(m) && phr_fhir_loinc_digit(m, n - 1) != c[n - 1] - '0')
			assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, m), PHR_ERR_INVALID);
		snprintf(m, sizeof(m), "%s0", c); /* two check digits */
		assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, m), PHR_ERR_INVALID);
		snprintf(m, sizeof(m), "%.*s", (int)(n - 2), c); /* no check digit */
		assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, m), PHR_ERR_INVALID);
	}
	/* the published exceptions: accepted, and indeed wrong by the algorithm */
	static const char *const ex[] = { "11491-6", "11501-6", "5895-7", "5896-5", "5897-3",
					  "5928-1",  "6028-3",  "6415-5", "6580-7", "6645-7",
					  "6646-5",  "6647-3",  "6648-1", "6649-9" };
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		size_t n = strlen(ex[i]);
		assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, ex[i]), PHR_OK);
		assert_int_not_equal(phr_fhir_loinc_digit(ex[i], n - 2), ex[i][n - 1] - '0');
	}
	/* LOINC's own worked example: 10154-3; answers and parts */
	assert_int_equal(phr_fhir_loinc_digit("10154", 5), 3);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "LA6576-8"), PHR_OK);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "LA6576"), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "LX6576-8"), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "8480-6"), PHR_OK);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "8480 6"), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "-6"), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_LOINC, "08480-6"), PHR_ERR_INVALID);
}

static void test_snomed(void **state)
{
	(void)state;
	static struct list l;
	load(&l, "snomed.txt");
	assert_int_equal(l.n, 1001);
	for (size_t i = 0; i < l.n; i++) {
		struct phr_fhir_snomed_id id;
		const char *c = l.code[i];
		assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, c), PHR_OK);
		assert_int_equal(phr_fhir_snomed_parse(&id, NULL, 0, c, strlen(c)), PHR_OK);
		assert_int_equal(id.kind, PHR_FHIR_SNOMED_CONCEPT);
	}
	/* Verhoeff catches every single-digit change and adjacent swap; a few
	 * copies fail earlier (leading zero, partition) — all must fail */
	size_t rej = corrupt_all(&l, PHR_FHIR_SYSTEM_SNOMED, NULL, false);
	assert_true(rej > 10000);
	char m[80];
	for (size_t i = 0; i < l.n; i++) {
		const char *c = l.code[i];
		size_t n = strlen(c);
		/* wrong length: a 6-digit code cut to 5, any code grown to 19 digits */
		if (n == 6) {
			snprintf(m, sizeof(m), "%.*s", (int)(n - 1), c);
			assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, m), PHR_ERR_INVALID);
		}
		snprintf(m, sizeof(m), "%.*s%s", (int)(19 - n), "1111111111111111111", c);
		assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, m), PHR_ERR_INVALID);
	}
	/* partition identifiers and formats */
	struct phr_fhir_snomed_id id;
	char code[32];
	int d;
	/* a description id (partition 01) and relationship id (02) of item 12345 */
	memcpy(code, "1234501", 8);
	d = phr_fhir_verhoeff_digit(code, 7);
	code[7] = (char)('0' + d), code[8] = '\0';
	assert_int_equal(phr_fhir_snomed_parse(&id, NULL, 0, code, 8), PHR_OK);
	assert_int_equal(id.kind, PHR_FHIR_SNOMED_DESCRIPTION);
	assert_false(id.long_format);
	assert_int_equal(id.item, 12345);
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, code), PHR_ERR_INVALID);
	/* long format: item 999, namespace 1000124, partition 10 */
	memcpy(code, "999100012410", 13);
	d = phr_fhir_verhoeff_digit(code, 12);
	code[12] = (char)('0' + d), code[13] = '\0';
	assert_int_equal(phr_fhir_snomed_parse(&id, NULL, 0, code, 13), PHR_OK);
	assert_true(id.long_format);
	assert_int_equal(id.namespace_id, 1000124);
	assert_int_equal(id.item, 999);
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, code), PHR_OK);
	/* partition 05 is not one of ours */
	memcpy(code, "1234505", 8);
	d = phr_fhir_verhoeff_digit(code, 7);
	code[7] = (char)('0' + d), code[8] = '\0';
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, code), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, "22298006"), PHR_OK); /* myocardial infarction */
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, "12345"), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, "1234567890123456789"), PHR_ERR_INVALID);
	assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, "22298006 "), PHR_ERR_INVALID);
	/* post-coordinated expressions (SNOMED CT Compositional Grammar 2.3): the two of
	 * the official R4 examples (Observation-bmd, RiskAssessment-prognosis) and the
	 * grammar's other forms; each concept identifier is checked */
	static const char *const exprs_ok[] = {
		"71341001:272741003=7771000",
		"249943000:363698007=72098002,260868000=6934004",
		"=== 71341001 |Bone structure of femur| : 272741003 |Laterality| = 7771000 |Left|",
		"<<< 22298006",
		"22298006 + 71341001",
		"71341001:{272741003=7771000},{272741003=(71341001:272741003=7771000)}",
		"71341001:272741003=7771000,{272741003=7771000}",
		"71341001:272741003=#12.5,272741003=\"text\",272741003=true",
	};
	static const char *const exprs_bad[] = {
		"71341001:272741003=7771001",  /* Verhoeff digit of the value */
		"71341001:272741003",          /* no value */
		"71341001 |Bone structure",    /* term not closed */
		"71341001:272741003=7771000)", /* trailing */
		"71341001:{272741003=7771000", /* group not closed */
		"71341001:272741003=#",        /* no number */
		"T-15460",                     /* SNOMED RT, not SNOMED CT */
		"look up value",
		" 71341001:272741003=7771000",
		"71341001:272741003=((((((((((((((((((71341001))))))))))))))))))",
	};
	for (size_t i = 0; i < sizeof(exprs_ok) / sizeof(exprs_ok[0]); i++)
		assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, exprs_ok[i]), PHR_OK);
	for (size_t i = 0; i < sizeof(exprs_bad) / sizeof(exprs_bad[0]); i++)
		assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, exprs_bad[i]), PHR_ERR_INVALID);
	/* nesting: 16 levels are fine, 17 are refused */
	for (int depth = 16; depth <= 17; depth++) {
		char deep[1024];
		size_t len = 0;
		for (int i = 0; i < depth; i++)
			len += (size_t)snprintf(deep + len, sizeof(deep) - len, "71341001:272741003=(");
		len += (size_t)snprintf(deep + len, sizeof(deep) - len, "7771000");
		for (int i = 0; i < depth; i++)
			deep[len++] = ')';
		deep[len] = '\0';
		assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, deep),
				 depth == 16 ? PHR_OK : PHR_ERR_INVALID);
	}
}

static void test_icd10cm(void **state)
{
	(void)state;
	static const char *const good[] = { "A78", "A69.21", "S52.131A", "C50.512", "O9A.211",
					    "W06.XXXD", "U07.1", "J06.9", "Z23", "E11.65" };
	static const char *const bad[] = { "a78", "A7", "178", "AA8", "A78.", "A78.12345", "A7812",
					   "S52-131A", "A78.1a", "A 78", "" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(check(PHR_FHIR_SYSTEM_ICD10CM, good[i]), PHR_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(check(PHR_FHIR_SYSTEM_ICD10CM, bad[i]), PHR_ERR_INVALID);
}

static void test_other(void **state)
{
	(void)state;
	assert_int_equal(check("http://example.org/codes", "anything at all"), PHR_OK);
	assert_int_equal(check("urn:oid:2.16.840.1.113883.6.96", "x"), PHR_OK);
	assert_int_equal(check("http://example.org/codes", ""), PHR_ERR_INVALID);
	assert_int_equal(phr_fhir_term_system_of("http://loinc.org"), PHR_FHIR_TERM_LOINC);
	assert_int_equal(phr_fhir_term_system_of("http://loinc.org/"), PHR_FHIR_TERM_OTHER);
	assert_int_equal(phr_fhir_term_check(NULL, 0, PHR_FHIR_SYSTEM_LOINC, "x", 1), PHR_ERR_INVALID);
	char tiny[8];
	assert_int_equal(phr_fhir_term_check(tiny, sizeof(tiny), PHR_FHIR_SYSTEM_LOINC, "x", 1), PHR_ERR_INVALID);
	assert_int_equal(strlen(tiny), 7);
}

struct issues {
	size_t n;
	char path[8][128];
	char code[8][32];
};

static void record_issue(void *ctx, const char *path, const char *system, const char *code, const char *reason)
{
	struct issues *is = ctx;
	assert_non_null(system);
	assert_true(strlen(reason) > 0);
	if (is->n < 8) {
		snprintf(is->path[is->n], sizeof(is->path[0]), "%s", path);
		snprintf(is->code[is->n], sizeof(is->code[0]), "%s", code);
	}
	is->n++;
}

static void test_resource(void **state)
{
	(void)state;
	static const char bundle[] =
		"{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
		"{\"resource\":{\"resourceType\":\"Immunization\",\"status\":\"completed\","
		"\"vaccineCode\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"03\"},"
		"{\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"3\"}]}}},"
		"{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\","
		"\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
		"\"valueQuantity\":{\"value\":120,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"},"
		"\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-5\"}]}}]}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"code\":{\"coding\":["
		"{\"system\":\"http://snomed.info/sct\",\"code\":\"22298006\"},"
		"{\"system\":\"http://hl7.org/fhir/sid/icd-10-cm\",\"code\":\"I21.9\"}]}}}]}";
	json_t *b;
	assert_int_equal(phr_json_parse(&b, NULL, 0, bundle, strlen(bundle)), PHR_OK);
	struct issues is = { 0 };
	size_t n = 99;
	assert_int_equal(phr_fhir_term_check_resource(&n, b, record_issue, &is), PHR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(is.n, 2);
	/* the order of object members is jansson's; find both */
	bool cvx = false, loinc = false;
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(is.path[i], "Bundle.entry[0].resource.vaccineCode.coding[1].code") == 0 &&
		    strcmp(is.code[i], "3") == 0)
			cvx = true;
		if (strcmp(is.path[i], "Bundle.entry[1].resource.component[0].code.coding[0].code") == 0 &&
		    strcmp(is.code[i], "8462-5") == 0)
			loinc = true;
	}
	/* 8462-5 is diastolic blood pressure: its check digit is 4 (8462-4) */
	assert_true(cvx);
	assert_true(loinc);
	assert_int_equal(phr_fhir_term_check_resource(&n, b, NULL, NULL), PHR_OK);
	assert_int_equal(n, 2);
	json_decref(b);
	json_t *arr = json_array();
	assert_int_equal(phr_fhir_term_check_resource(&n, arr, NULL, NULL), PHR_ERR_INVALID);
	json_decref(arr);
	/* nesting deeper than 64 levels is refused, not recursed into */
	json_t *deep = json_object();
	json_t *cur = deep;
	for (int i = 0; i < 100; i++) {
		json_t *next = json_object();
		json_object_set_new(cur, "a", next);
		cur = next;
	}
	assert_int_equal(phr_fhir_term_check_resource(&n, deep, NULL, NULL), PHR_ERR_TOO_LARGE);
	json_decref(deep);
}

/* SNOMED RT identifiers: recognised by form (the validator warns on them), never valid SNOMED CT */
static void test_snomed_rt(void **state)
{
	static const char *const rt[] = { "T-15460", "T-D4000", "G-A101", "P5-09010", "DD-60000", "R-00339" };
	static const char *const not_rt[] = {
		"t-15460", "T15460", "T-154", "T-154600", "TT1-1546", "T-1546a", "T--1546", "-15460",
		"71341001", "T-15460 ", "look up value", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		assert_true(phr_fhir_snomed_rt_id(rt[i], strlen(rt[i])));
		assert_int_equal(check(PHR_FHIR_SYSTEM_SNOMED, rt[i]), PHR_ERR_INVALID);
	}
	for (size_t i = 0; i < sizeof(not_rt) / sizeof(not_rt[0]); i++)
		assert_false(phr_fhir_snomed_rt_id(not_rt[i], strlen(not_rt[i])));
	assert_false(phr_fhir_snomed_rt_id(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cvx),    cmocka_unit_test(test_loinc), cmocka_unit_test(test_snomed),
		cmocka_unit_test(test_icd10cm), cmocka_unit_test(test_other), cmocka_unit_test(test_resource),
		cmocka_unit_test(test_snomed_rt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
