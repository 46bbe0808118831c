/* Validation conformance on the 5,306 official FHIR R4 examples (npm
 * hl7.fhir.r4.examples 4.0.1): every example is accepted by
 * phr_fhir_validate(), except exactly the error issues listed in
 * tests/vectors/fhir-validate/examples-invalid.txt (one line per issue: file,
 * FHIRPath, issue code; each explained in the README next to it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>

#include "phr/fhir_validate.h"
#include "phr/json.h"

#define MAX_FOUND 256
#define LINE 512

static char names[8192][128];
static char found[MAX_FOUND][LINE];
static char expected[MAX_FOUND][LINE];

static int cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static size_t list_examples(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("%s is missing: run npm ci", dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || strcmp(de->d_name, "package.json") == 0)
			continue;
		assert_true(n < 8192 && l < sizeof(names[0]));
		memcpy(names[n++], de->d_name, l + 1);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	return n;
}

static size_t load_expected(const char *root)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/vectors/fhir-validate/examples-invalid.txt", root);
	FILE *ef = fopen(path, "r");
	assert_non_null(ef);
	size_t ne = 0;
	while (ne < MAX_FOUND && fgets(expected[ne], sizeof(expected[0]), ef)) {
		expected[ne][strcspn(expected[ne], "\r\n")] = '\0';
		if (expected[ne][0] && expected[ne][0] != '#')
			ne++;
	}
	fclose(ef);
	qsort(expected, ne, sizeof(expected[0]), cmp);
	return ne;
}

static void test_examples(void **state)
{
	(void)state;
	const char *root = getenv("PHR_SOURCE_DIR");
	if (!root)
		root = ".";
	char dir[512], path[1024];
	snprintf(dir, sizeof(dir), "%s/node_modules/hl7.fhir.r4.examples", root);
	size_t nfiles = list_examples(dir), nfound = 0, nvalid = 0, nwarn = 0;
	assert_true(nfiles >= 5306);
	for (size_t i = 0; i < nfiles; i++) {
		json_t *res, *issues = NULL;
		char err[256];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (phr_json_load_file(&res, err, sizeof(err), path, (size_t)64 << 20) != PHR_OK)
			fail_msg("%s", err);
		int rc = phr_fhir_validate(&issues, res);
		assert_true(rc == PHR_OK || rc == PHR_ERR_INVALID);
		assert_true(json_is_array(issues));
		size_t k;
		json_t *is;
		size_t errors = 0;
		json_array_foreach(issues, k, is)
		{
			const char *sev = json_string_value(json_object_get(is, "severity"));
			assert_non_null(sev);
			if (strcmp(sev, "error") != 0) {
				nwarn++;
				continue;
			}
			errors++;
			if (nfound < MAX_FOUND)
				snprintf(found[nfound], LINE, "%s\t%s\t%s", names[i],
					 json_string_value(json_array_get(json_object_get(is, "expression"), 0)),
					 json_string_value(json_object_get(is, "code")));
			if (getenv("PHR_VALIDATE_VERBOSE"))
				printf("%s\t%s\n", found[nfound < MAX_FOUND ? nfound : MAX_FOUND - 1],
				       json_string_value(json_object_get(is, "diagnostics")));
			nfound++;
		}
		/* the verdict agrees with the issues */
		assert_int_equal(rc == PHR_OK, errors == 0);
		nvalid += rc == PHR_OK;
		json_decref(issues);
		json_decref(res);
	}
	printf("examples: %zu files, %zu valid, %zu error issues, %zu warnings\n", nfiles, nvalid, nfound, nwarn);
	assert_true(nfound <= MAX_FOUND);
	size_t ne = load_expected(root);
	qsort(found, nfound, sizeof(found[0]), cmp);
	for (size_t i = 0; i < nfound && i < ne; i++)
		if (strcmp(found[i], expected[i]) != 0)
			fail_msg("rejected: %s\nexpected: %s", found[i], expected[i]);
	assert_int_equal(nfound, ne);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_examples) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
