/* Mutated copies of the official FHIR R4 examples are rejected with the right
 * issue at the right path. The mutations are chosen from the official
 * StructureDefinition JSON files themselves (read from node_modules, not from
 * the validator's generated tables): for every resource type, its first valid
 * example, and every example of the 18 resource types the FHIR server stores:
 *  - each top-level element the definition makes required (min >= 1) removed
 *    -> "required" at Type.element;
 *  - a top-level element of a string primitive type given a JSON number, and
 *    one of a complex type given a JSON string -> "structure" at Type.element;
 *  - each top-level code with a required binding set to a code outside any
 *    value set -> "code-invalid" at Type.element;
 *  - an unknown element added -> "structure" at Type.unknownElement;
 *  - the same mutations inside a contained copy of the example. */
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

static const char *const server_types[] = {
	"Patient",	   "Practitioner",	"Organization",	       "Immunization",	  "Observation",
	"Condition",	   "Procedure",		"AllergyIntolerance",  "MedicationStatement", "MedicationRequest",
	"DiagnosticReport", "DocumentReference", "ImagingStudy",	      "Encounter",	  "CarePlan",
	"Consent",	   "AuditEvent",	"Provenance",
};

static char names[8192][128];
static char dir[512];
static size_t n_mutants, n_required, n_type, n_code, n_unknown;

static int cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static json_t *load(const char *file)
{
	char path[1024], err[256];
	json_t *v;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (phr_json_load_file(&v, err, sizeof(err), path, (size_t)64 << 20) != PHR_OK)
		fail_msg("%s", err);
	return v;
}

/* The mutant must be rejected with an error of @p code at @p path. */
static void expect(const char *file, json_t *mutant, const char *code, const char *path)
{
	json_t *issues = NULL;
	int rc = phr_fhir_validate(&issues, mutant);
	bool found = false;
	size_t i;
	json_t *is;
	json_array_foreach(issues, i, is)
	{
		const char *c = json_string_value(json_object_get(is, "code"));
		const char *p = json_string_value(json_array_get(json_object_get(is, "expression"), 0));
		if (c && p && strcmp(c, code) == 0 && strcmp(p, path) == 0)
			found = true;
	}
	if (rc != PHR_ERR_INVALID || !found) {
		char *d = json_dumps(issues, JSON_COMPACT);
		fail_msg("%s: mutant not rejected with %s at %s (rc %d): %s", file, code, path, rc, d ? d : "");
	}
	json_decref(issues);
	n_mutants++;
}

static const char *str(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static bool is_string_primitive(const char *t)
{
	static const char *const s[] = { "string", "code",    "uri",  "url",      "canonical", "id",	"oid",
					 "uuid",   "markdown", "date", "dateTime", "instant",   "time", "base64Binary" };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (strcmp(t, s[i]) == 0)
			return true;
	return false;
}

/* Applies each mutation of the top-level elements of @p ex (type @p type,
 * definition @p sd) to a copy; @p wrap: check it inside a contained copy. */
static void mutate(const char *file, const json_t *ex, const char *type, const json_t *sd, bool wrap)
{
	const json_t *elems = json_object_get(json_object_get(sd, "snapshot"), "element");
	size_t i;
	const json_t *e;
	char path[256];
	json_array_foreach(elems, i, e)
	{
		const char *p = json_string_value(json_object_get(e, "path"));
		const char *dot = p ? strchr(p, '.') : NULL;
		if (!dot || strchr(dot + 1, '.') || strstr(dot, "[x]"))
			continue;
		const char *name = dot + 1;
		const json_t *val = json_object_get(ex, name);
		if (!val)
			continue;
		const json_t *types = json_object_get(e, "type");
		const char *t0 = json_string_value(json_object_get(json_array_get(types, 0), "code"));
		if (t0 && strncmp(t0, "http://hl7.org/fhirpath/System.", 31) == 0)
			t0 = "string";
		const json_t *binding = json_object_get(e, "binding");
		const char *strength = str(json_object_get(binding, "strength"));
		const char *vs = str(json_object_get(binding, "valueSet"));
		int kinds[4] = { 0 };
		kinds[0] = json_integer_value(json_object_get(e, "min")) >= 1;
		kinds[1] = t0 != NULL;
		kinds[2] = t0 && strcmp(t0, "code") == 0 && json_is_string(val) &&
			   strcmp(strength, "required") == 0 && strstr(vs, "mimetypes") == NULL &&
			   strstr(vs, "currencies") == NULL;
		for (int k = 0; k < 3; k++) {
			if (!kinds[k])
				continue;
			json_t *m = json_deep_copy(ex);
			assert_non_null(m);
			const char *code = "required";
			if (k == 0) {
				assert_int_equal(json_object_del(m, name), 0);
				snprintf(path, sizeof(path), "_%s", name);
				json_object_del(m, path); /* its extensions alone would still count */
				n_required++;
			} else if (k == 1) {
				bool prim = is_string_primitive(t0);
				if (!prim && (strcmp(t0, "boolean") == 0 || strcmp(t0, "integer") == 0 ||
					      strcmp(t0, "positiveInt") == 0 || strcmp(t0, "unsignedInt") == 0 ||
					      strcmp(t0, "decimal") == 0))
					assert_int_equal(json_object_set_new(m, name, json_string("x")), 0);
				else if (prim)
					assert_int_equal(json_object_set_new(m, name, json_integer(12345)), 0);
				else
					assert_int_equal(json_object_set_new(m, name, json_string("not an object")), 0);
				code = "structure";
				n_type++;
			} else {
				assert_int_equal(json_object_set_new(m, name, json_string("no-such-code-zz")), 0);
				code = "code-invalid";
				n_code++;
			}
			if (wrap) {
				json_t *outer = json_pack("{s:s,s:[o]}", "resourceType", "Basic", "contained", m);
				assert_non_null(outer);
				assert_int_equal(json_object_set_new(outer, "code", json_object()), 0);
				snprintf(path, sizeof(path), "Basic.contained[0].%s", name);
				expect(file, outer, code, path);
				json_decref(outer);
			} else {
				snprintf(path, sizeof(path), "%s.%s", type, name);
				expect(file, m, code, path);
				json_decref(m);
			}
		}
	}
	json_t *m = json_deep_copy(ex);
	assert_non_null(m);
	assert_int_equal(json_object_set_new(m, "unknownElement", json_true()), 0);
	snprintf(path, sizeof(path), "%s.unknownElement", type);
	expect(file, m, "structure", path);
	n_unknown++;
	json_decref(m);
}

static bool is_server_type(const char *t)
{
	for (size_t i = 0; i < sizeof(server_types) / sizeof(server_types[0]); i++)
		if (strcmp(t, server_types[i]) == 0)
			return true;
	return false;
}

static void test_mutations(void **state)
{
	(void)state;
	const char *root = getenv("PHR_SOURCE_DIR");
	snprintf(dir, sizeof(dir), "%s/node_modules/hl7.fhir.r4.examples", root ? root : ".");
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("%s is missing: run npm ci", dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || strcmp(de->d_name, "package.json") == 0 ||
		    strncmp(de->d_name, "StructureDefinition-", 20) == 0)
			continue;
		assert_true(n < 8192 && l < sizeof(names[0]));
		memcpy(names[n++], de->d_name, l + 1);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	char last_type[128] = "", sdfile[256];
	size_t n_examples = 0, n_types = 0;
	bool server_seen[sizeof(server_types) / sizeof(server_types[0])] = { 0 };
	for (size_t i = 0; i < n; i++) {
		json_t *ex = load(names[i]);
		const char *type = json_string_value(json_object_get(ex, "resourceType"));
		assert_non_null(type);
		bool first = strcmp(type, last_type) != 0;
		if ((!first && !is_server_type(type)) || phr_fhir_validate(NULL, ex) != PHR_OK) {
			json_decref(ex);
			continue;
		}
		if (first) {
			snprintf(last_type, sizeof(last_type), "%s", type);
			n_types++;
		}
		for (size_t k = 0; k < sizeof(server_types) / sizeof(server_types[0]); k++)
			if (strcmp(type, server_types[k]) == 0)
				server_seen[k] = true;
		snprintf(sdfile, sizeof(sdfile), "StructureDefinition-%s.json", type);
		json_t *sd = load(sdfile);
		mutate(names[i], ex, type, sd, false);
		if (first)
			mutate(names[i], ex, type, sd, true);
		n_examples++;
		json_decref(sd);
		json_decref(ex);
	}
	printf("mutations: %zu examples of %zu resource types, %zu mutants rejected (%zu missing required, %zu wrong "
	       "type, %zu bad code, %zu unknown element)\n",
	       n_examples, n_types, n_mutants, n_required, n_type, n_code, n_unknown);
	for (size_t k = 0; k < sizeof(server_types) / sizeof(server_types[0]); k++)
		if (!server_seen[k])
			fail_msg("no valid example of %s", server_types[k]);
	assert_true(n_types >= 139); /* of 146: no example of Parameters and 5 Substance* types; StructureDefinition skipped */
	assert_true(n_required > 500 && n_type > 1000 && n_code > 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_mutations) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
