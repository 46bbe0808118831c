/* Terminology conformance on the 5,306 official FHIR R4 examples (npm
 * hl7.fhir.r4.examples 4.0.1): every code of every example passes, except
 * exactly the ones listed in tests/vectors/fhir-terminology/examples-invalid.txt
 * (post-coordinated SNOMED CT expressions, placeholders, SNOMED RT codes and
 * wrong check digits in the examples themselves). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>

#include "phr/json.h"
#include "phr/terminology.h"

#define MAX_FOUND 64

struct found {
	const char *file;
	size_t n;
	char line[MAX_FOUND][512];
};

static void record(void *ctx, const char *path, const char *system, const char *code, const char *reason)
{
	struct found *f = ctx;
	(void)reason;
	if (f->n < MAX_FOUND)
		snprintf(f->line[f->n], sizeof(f->line[0]), "%s\t%s\t%s|%s", f->file, path, system, code);
	f->n++;
}

/* counts Codings per known system, independently of the checker's walk */
static void count_codes(const json_t *v, size_t counts[5])
{
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) count_codes(e, counts);
		return;
	}
	if (!json_is_object(v))
		return;
	const char *sys = json_string_value(json_object_get(v, "system"));
	if (sys && json_is_string(json_object_get(v, "code")))
		counts[phr_fhir_term_system_of(sys)]++;
	const char *k;
	json_t *e;
	json_object_foreach((json_t *)v, k, e) count_codes(e, counts);
}

static int cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_examples(void **state)
{
	(void)state;
	const char *root = getenv("PHR_SOURCE_DIR");
	char dir[512], path[1024];
	snprintf(dir, sizeof(dir), "%s/node_modules/hl7.fhir.r4.examples", root ? root : ".");
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("%s is missing: run npm ci", dir);
	static struct found f;
	static char names[8192][128];
	size_t nfiles = 0, counts[5] = { 0 };
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || strcmp(de->d_name, "package.json") == 0)
			continue;
		assert_true(nfiles < 8192 && l < sizeof(names[0]));
		memcpy(names[nfiles++], de->d_name, l + 1);
	}
	closedir(d);
	qsort(names, nfiles, sizeof(names[0]), cmp);
	assert_true(nfiles >= 5306);
	for (size_t i = 0; i < nfiles; i++) {
		json_t *res;
		char err[256];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (phr_json_load_file(&res, err, sizeof(err), path, (size_t)64 << 20) != PHR_OK)
			fail_msg("%s", err);
		f.file = names[i];
		size_t bad;
		assert_int_equal(phr_fhir_term_check_resource(&bad, res, record, &f), PHR_OK);
		count_codes(res, counts);
		json_decref(res);
	}
	printf("examples: %zu files; codes checked: %zu ICD-10-CM, %zu SNOMED CT, %zu LOINC, %zu CVX, %zu other; "
	       "%zu rejected\n",
	       nfiles, counts[PHR_FHIR_TERM_ICD10CM], counts[PHR_FHIR_TERM_SNOMED], counts[PHR_FHIR_TERM_LOINC],
	       counts[PHR_FHIR_TERM_CVX], counts[PHR_FHIR_TERM_OTHER], f.n);
	assert_true(counts[PHR_FHIR_TERM_LOINC] > 1000);
	assert_true(counts[PHR_FHIR_TERM_SNOMED] > 1000);
	assert_true(counts[PHR_FHIR_TERM_CVX] > 10);

	/* exactly the expected rejections */
	snprintf(path, sizeof(path), "%s/tests/vectors/fhir-terminology/examples-invalid.txt", root ? root : ".");
	FILE *ef = fopen(path, "r");
	assert_non_null(ef);
	static char expected[MAX_FOUND][512];
	size_t ne = 0;
	while (ne < MAX_FOUND && fgets(expected[ne], sizeof(expected[0]), ef)) {
		expected[ne][strcspn(expected[ne], "\r\n")] = '\0';
		if (expected[ne][0])
			ne++;
	}
	fclose(ef);
	assert_true(f.n <= MAX_FOUND);
	qsort(f.line, f.n, sizeof(f.line[0]), cmp);
	qsort(expected, ne, sizeof(expected[0]), cmp);
	for (size_t i = 0; i < f.n && i < ne; i++)
		if (strcmp(f.line[i], expected[i]) != 0)
			fail_msg("rejected: %s\nexpected: %s", f.line[i], expected[i]);
	assert_int_equal(f.n, ne);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_examples) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
