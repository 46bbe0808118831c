/*
 * Fuzz target: FHIR validation. The input is parsed as JSON (any value, NUL
 * allowed) and validated. Checks: the result is OK, INVALID or NOMEM; the
 * issues are well-formed OperationOutcome issues; OK exactly when no issue is
 * an error; the verdict and issues are the same on a second run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/fhir_validate.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t check_issues(const json_t *issues)
{
	size_t errors = 0, i;
	const json_t *is;
	if (!json_is_array(issues))
		abort();
	json_array_foreach(issues, i, is)
	{
		const char *sev = json_string_value(json_object_get(is, "severity"));
		const json_t *expr = json_object_get(is, "expression");
		if (!sev || !json_is_string(json_object_get(is, "code")) ||
		    !json_is_string(json_object_get(is, "diagnostics")) || json_array_size(expr) != 1 ||
		    !json_is_string(json_array_get(expr, 0)))
			abort();
		errors += strcmp(sev, "error") == 0;
	}
	return errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!v)
		return 0;
	json_t *issues = NULL, *again = NULL;
	int rc = phr_fhir_validate(&issues, v);
	if (rc == PHR_ERR_NOMEM) {
		json_decref(v);
		return 0;
	}
	if (rc != PHR_OK && rc != PHR_ERR_INVALID)
		abort();
	size_t errors = check_issues(issues);
	if ((rc == PHR_OK) != (errors == 0))
		abort();
	if (phr_fhir_validate(&again, v) != rc || !json_equal(issues, again))
		abort();
	json_decref(again);
	json_decref(issues);
	json_decref(v);
	return 0;
}
