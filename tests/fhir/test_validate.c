/* Unit tests of phr_fhir_validate(): hand-written resources, each broken in
 * one way, rejected with the expected issue code at the expected FHIRPath;
 * the valid variants accepted; allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/fhir_validate.h"

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!v)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return v;
}

static void expect_valid(const char *text)
{
	json_t *r = parse(text), *issues = NULL;
	int rc = phr_fhir_validate(&issues, r);
	if (rc != PHR_OK) {
		char *d = json_dumps(issues, JSON_COMPACT);
		fail_msg("rejected (%d): %s\n%s", rc, text, d ? d : "");
	}
	assert_true(json_is_array(issues));
	json_decref(issues);
	json_decref(r);
}

/* rejected, with an error issue of @p code at @p path */
static void expect_issue(const char *text, const char *code, const char *path)
{
	json_t *r = parse(text), *issues = NULL;
	int rc = phr_fhir_validate(&issues, r);
	if (rc != PHR_ERR_INVALID)
		fail_msg("accepted (%d): %s", rc, text);
	size_t i;
	json_t *is;
	bool found = false;
	json_array_foreach(issues, i, is)
	{
		const char *c = json_string_value(json_object_get(is, "code"));
		const char *p = json_string_value(json_array_get(json_object_get(is, "expression"), 0));
		const char *sev = json_string_value(json_object_get(is, "severity"));
		assert_non_null(c);
		assert_non_null(p);
		assert_non_null(sev);
		assert_non_null(json_string_value(json_object_get(is, "diagnostics")));
		if (strcmp(c, code) == 0 && strcmp(p, path) == 0 && strcmp(sev, "error") == 0)
			found = true;
	}
	if (!found) {
		char *d = json_dumps(issues, JSON_COMPACT);
		fail_msg("expected %s at %s for %s\ngot %s", code, path, text, d ? d : "");
	}
	json_decref(issues);
	json_decref(r);
}

static void test_minimal(void **state)
{
	(void)state;
	expect_valid("{\"resourceType\":\"Patient\"}");
	expect_valid("{\"resourceType\":\"Patient\",\"id\":\"a-1.b\",\"active\":true,\"gender\":\"female\","
		     "\"birthDate\":\"1990-02\",\"name\":[{\"family\":\"Doe\",\"given\":[\"Jane\",\"Q\"]}],"
		     "\"multipleBirthInteger\":2}");
	expect_valid("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
		     "\"valueQuantity\":{\"value\":1.5e3,\"unit\":\"mg\",\"system\":\"http://unitsofmeasure.org\","
		     "\"code\":\"mg\"},\"effectiveDateTime\":\"2020-01-02T03:04:05.123+14:00\"}");
	/* issues may be NULL */
	json_t *r = parse("{\"resourceType\":\"Patient\",\"bogus\":1}");
	assert_int_equal(phr_fhir_validate(NULL, r), PHR_ERR_INVALID);
	json_decref(r);
}

static void test_resource_type(void **state)
{
	(void)state;
	expect_issue("{\"resourceType\":\"Patientx\"}", "structure", "$");
	expect_issue("{\"id\":\"x\"}", "structure", "$");
	expect_issue("{\"resourceType\":\"DomainResource\"}", "structure", "$");
	expect_issue("[1,2]", "structure", "$");
	expect_issue("\"Patient\"", "structure", "$");
	assert_true(phr_fhir_validate_is_resource_type("Immunization"));
	assert_true(phr_fhir_validate_is_resource_type("AuditEvent"));
	assert_false(phr_fhir_validate_is_resource_type("Resource"));
	assert_false(phr_fhir_validate_is_resource_type("Quantity"));
	assert_false(phr_fhir_validate_is_resource_type(NULL));
}

static void test_unknown_elements(void **state)
{
	(void)state;
	expect_issue("{\"resourceType\":\"Patient\",\"nmae\":[{\"family\":\"x\"}]}", "structure", "Patient.nmae");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"x\",\"foo\":1}]}", "structure",
		     "Patient.name[0].foo");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},\"valueFoo\":1}", "structure",
		     "Observation.valueFoo");
	/* a choice name is not an element by itself */
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},\"value\":1}", "structure",
		     "Observation.value");
	/* resourceType only at the root of a resource */
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"resourceType\":\"HumanName\"}]}", "structure",
		     "Patient.name[0].resourceType");
	/* _x only for primitives */
	expect_issue("{\"resourceType\":\"Patient\",\"_name\":[{}]}", "structure", "Patient._name");
	/* two variants of one choice element */
	expect_issue("{\"resourceType\":\"Patient\",\"deceasedBoolean\":true,\"deceasedDateTime\":\"2020\"}",
		     "structure", "Patient.deceasedDateTime");
}

static void test_json_types(void **state)
{
	(void)state;
	expect_issue("{\"resourceType\":\"Patient\",\"active\":\"true\"}", "structure", "Patient.active");
	expect_issue("{\"resourceType\":\"Patient\",\"gender\":1}", "structure", "Patient.gender");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":{\"family\":\"x\"}}", "structure", "Patient.name");
	expect_issue("{\"resourceType\":\"Patient\",\"gender\":[\"male\"]}", "structure", "Patient.gender");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[]}", "structure", "Patient.name");
	expect_issue("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":1.5}", "structure",
		     "Patient.multipleBirthInteger");
	expect_issue("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":\"2\"}", "structure",
		     "Patient.multipleBirthInteger");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},\"valueQuantity\":{\"value\":"
		     "\"1\"}}",
		     "structure", "Observation.valueQuantity.value");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\",null]}]}", "structure",
		     "Patient.name[0].given[1]");
	expect_issue("{\"resourceType\":\"Patient\",\"birthDate\":null}", "structure", "Patient.birthDate");
	expect_issue("{\"resourceType\":\"Patient\",\"contact\":[\"x\"]}", "structure", "Patient.contact[0]");
}

static void test_cardinality(void **state)
{
	(void)state;
	expect_issue("{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}", "required", "Observation.status");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\"}", "required", "Observation.code");
	/* required inside a backbone element and a data type */
	expect_issue("{\"resourceType\":\"Patient\",\"link\":[{\"type\":\"seealso\"}]}", "required",
		     "Patient.link[0].other");
	expect_issue("{\"resourceType\":\"Patient\",\"extension\":[{\"valueString\":\"x\"}]}", "required",
		     "Patient.extension[0].url");
	expect_issue("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\"}}", "required",
		     "Patient.text.div");
	/* a required primitive given only by its extension is present */
	expect_valid("{\"resourceType\":\"Observation\",\"_status\":{\"extension\":[{\"url\":\"http://x\","
		     "\"valueString\":\"y\"}]},\"code\":{\"text\":\"x\"}}");
	/* Observation.referenceRange via contentReference: component.referenceRange */
	expect_valid("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},\"component\":[{\"code\":"
		     "{},\"referenceRange\":[{\"text\":\"normal\"}]}]}");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},\"component\":[{\"code\":"
		     "{},\"referenceRange\":[{\"txt\":\"normal\"}]}]}",
		     "structure", "Observation.component[0].referenceRange[0].txt");
}

static void test_formats(void **state)
{
	(void)state;
	expect_issue("{\"resourceType\":\"Patient\",\"birthDate\":\"1990-13-01\"}", "value", "Patient.birthDate");
	expect_issue("{\"resourceType\":\"Patient\",\"birthDate\":\"1990-01-01T10:00:00Z\"}", "value",
		     "Patient.birthDate");
	expect_issue("{\"resourceType\":\"Patient\",\"id\":\"a_b\"}", "value", "Patient.id");
	expect_issue("{\"resourceType\":\"Patient\",\"id\":\"\"}", "value", "Patient.id");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\"}]}", "value", "Patient.name[0].family");
	expect_issue("{\"resourceType\":\"Patient\",\"implicitRules\":\"a b\"}", "value", "Patient.implicitRules");
	expect_issue("{\"resourceType\":\"Patient\",\"meta\":{\"lastUpdated\":\"2020-01-01T10:00:00\"}}", "value",
		     "Patient.meta.lastUpdated");
	expect_valid("{\"resourceType\":\"Patient\",\"meta\":{\"lastUpdated\":\"2020-01-01T10:00:00.5-05:00\"}}");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},\"valueTime\":\"25:00:00\"}",
		     "value", "Observation.valueTime");
	expect_issue("{\"resourceType\":\"Patient\",\"photo\":[{\"data\":\"abc\"}]}", "value",
		     "Patient.photo[0].data");
	expect_valid("{\"resourceType\":\"Patient\",\"photo\":[{\"data\":\"YWJj ZGVm\"}]}");
	expect_issue("{\"resourceType\":\"Patient\",\"photo\":[{\"size\":-1}]}", "value", "Patient.photo[0].size");
	expect_issue("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":2147483648}", "value",
		     "Patient.multipleBirthInteger");
	expect_issue("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueOid\":\"urn:oid:1.02\"}]}",
		     "value", "Patient.extension[0].valueOid");
	expect_issue("{\"resourceType\":\"Patient\",\"gender\":\"female \"}", "value", "Patient.gender");
	/* code: single white space characters between words only */
	expect_issue("{\"resourceType\":\"Patient\",\"language\":\" en\"}", "value", "Patient.language");
	expect_issue("{\"resourceType\":\"Patient\",\"language\":\"en  US\"}", "value", "Patient.language");
	expect_valid("{\"resourceType\":\"Patient\",\"language\":\"en US\"}");
	expect_valid("{\"resourceType\":\"Patient\",\"language\":\"en\\tUS\\u00a0x\"}");
	/* uri: no white space at all; string: anything non-empty (XML Schema's \\s) */
	expect_issue("{\"resourceType\":\"Patient\",\"implicitRules\":\"a\\rb\"}", "value", "Patient.implicitRules");
	expect_valid("{\"resourceType\":\"Patient\",\"implicitRules\":\"a\\u00a0b\",\"name\":[{\"text\":\" \\n\"}]}");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"a\\u0000b\"}]}", "value",
		     "Patient.name[0].text");
}

static void test_bindings(void **state)
{
	(void)state;
	expect_issue("{\"resourceType\":\"Patient\",\"gender\":\"femal\"}", "code-invalid", "Patient.gender");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"done\",\"code\":{}}", "code-invalid",
		     "Observation.status");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"use\":\"nick\"}]}", "code-invalid",
		     "Patient.name[0].use");
	/* required binding on a Coding in a data type: Meta.security is extensible, Narrative.status required */
	expect_issue("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"made-up\",\"div\":\"<div "
		     "xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"}}",
		     "code-invalid", "Patient.text.status");
	/* terminology checks on codings, with the element path */
	expect_issue("{\"resourceType\":\"Immunization\",\"status\":\"completed\",\"vaccineCode\":{\"coding\":[{"
		     "\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"9999\"}]},\"patient\":{\"reference\":"
		     "\"Patient/1\"},\"occurrenceDateTime\":\"2021-01-01\"}",
		     "code-invalid", "Immunization.vaccineCode.coding[0].code");
	expect_valid("{\"resourceType\":\"Immunization\",\"status\":\"completed\",\"vaccineCode\":{\"coding\":[{"
		     "\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"140\"}]},\"patient\":{\"reference\":"
		     "\"Patient/1\"},\"occurrenceDateTime\":\"2021-01-01\"}");
	expect_issue("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
		     "\"http://loinc.org\",\"code\":\"8480-5\"}]}}",
		     "code-invalid", "Observation.code.coding[0].code");
	expect_issue("{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/1\"},\"code\":{"
		     "\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"38341004\"}]}}",
		     "code-invalid", "Condition.code.coding[0].code");
	expect_valid("{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/1\"},\"code\":{"
		     "\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"38341003\"},{\"system\":"
		     "\"http://example.org/local\",\"code\":\"anything\"}]}}");
}

static void test_primitive_extensions(void **state)
{
	(void)state;
	expect_valid("{\"resourceType\":\"Patient\",\"birthDate\":\"1970\",\"_birthDate\":{\"id\":\"b\","
		     "\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\","
		     "\"valueDateTime\":\"1970-03-30T14:00:00+10:00\"}]},"
		     "\"name\":[{\"given\":[\"A\",null],\"_given\":[null,{\"extension\":[{\"url\":\"http://x\","
		     "\"valueCode\":\"x\"}]}]}]}");
	expect_issue("{\"resourceType\":\"Patient\",\"_birthDate\":{\"value\":\"1970\"}}", "structure",
		     "Patient._birthDate.value");
	expect_issue("{\"resourceType\":\"Patient\",\"_birthDate\":\"x\"}", "structure", "Patient._birthDate");
	expect_issue("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[null],\"_given\":[null]}]}", "structure",
		     "Patient.name[0].given[0]");
	expect_issue("{\"resourceType\":\"Patient\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x\","
		     "\"valueDate\":\"1970-02-30x\"}]}}",
		     "value", "Patient._birthDate.extension[0].valueDate");
}

static void test_nested_resources(void **state)
{
	(void)state;
	expect_valid("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o\","
		     "\"name\":\"Acme\"}],\"managingOrganization\":{\"reference\":\"#o\"}}");
	expect_issue("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\",\"nom\":\"x\"}]}",
		     "structure", "Patient.contained[0].nom");
	expect_issue("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Nope\"}]}", "structure",
		     "Patient.contained[0]");
	expect_issue("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":{"
		     "\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},{\"resource\":{"
		     "\"resourceType\":\"Observation\",\"code\":{}},\"request\":{\"method\":\"POST\",\"url\":"
		     "\"Observation\"}}]}",
		     "required", "Bundle.entry[1].resource.status");
	expect_issue("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"request\":{\"method\":"
		     "\"PUTT\",\"url\":\"Patient/1\"}}]}",
		     "code-invalid", "Bundle.entry[0].request.method");
	expect_issue("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"p\",\"resource\":{"
		     "\"resourceType\":\"Patient\",\"gender\":\"x\"}}]}",
		     "code-invalid", "Parameters.parameter[0].resource.gender");
}

static void test_depth_and_limits(void **state)
{
	(void)state;
	/* extensions nested 200 deep: an error, no crash */
	char *buf = malloc(200 * 40 + 100);
	assert_non_null(buf);
	size_t n = (size_t)snprintf(buf, 100, "{\"resourceType\":\"Patient\",\"extension\":");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, 40, "[{\"url\":\"http://x\",\"extension\":");
	n += (size_t)snprintf(buf + n, 10, "[]");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, 10, "}]");
	snprintf(buf + n, 10, "}");
	json_t *r = parse(buf), *issues = NULL;
	free(buf);
	assert_int_equal(phr_fhir_validate(&issues, r), PHR_ERR_INVALID);
	assert_true(json_array_size(issues) >= 1);
	json_decref(issues);
	json_decref(r);

	/* many errors: at most 100 reported plus a warning */
	r = json_pack("{s:s}", "resourceType", "Patient");
	for (int i = 0; i < 300; i++) {
		char key[16];
		snprintf(key, sizeof(key), "bad%d", i);
		assert_int_equal(json_object_set_new(r, key, json_true()), 0);
	}
	assert_int_equal(phr_fhir_validate(&issues, r), PHR_ERR_INVALID);
	assert_int_equal(json_array_size(issues), 101);
	json_t *last = json_array_get(issues, 100);
	assert_string_equal(json_string_value(json_object_get(last, "code")), "too-costly");
	assert_string_equal(json_string_value(json_object_get(last, "severity")), "warning");
	json_decref(issues);
	json_decref(r);
}

/* allocation failures: jansson's allocator fails from the Nth call on */
static long alloc_budget = -1;

static void *failing_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

static void test_nomem(void **state)
{
	(void)state;
	json_t *r = parse("{\"resourceType\":\"Patient\",\"gender\":\"x\",\"bogus\":1,\"name\":[{\"use\":\"y\"}]}");
	json_set_alloc_funcs(failing_malloc, free);
	bool saw_nomem = false, saw_ok = false;
	for (long k = 0; k < 200 && !saw_ok; k++) {
		json_t *issues = NULL;
		alloc_budget = k;
		int rc = phr_fhir_validate(&issues, r);
		alloc_budget = -1;
		if (rc == PHR_ERR_NOMEM) {
			assert_null(issues);
			saw_nomem = true;
			continue;
		}
		assert_int_equal(rc, PHR_ERR_INVALID);
		assert_int_equal(json_array_size(issues), 3);
		json_decref(issues);
		saw_ok = true;
	}
	json_set_alloc_funcs(malloc, free);
	assert_true(saw_nomem);
	assert_true(saw_ok);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_resource_type),
		cmocka_unit_test(test_unknown_elements),
		cmocka_unit_test(test_json_types),
		cmocka_unit_test(test_cardinality),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_bindings),
		cmocka_unit_test(test_primitive_extensions),
		cmocka_unit_test(test_nested_resources),
		cmocka_unit_test(test_depth_and_limits),
		cmocka_unit_test(test_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
