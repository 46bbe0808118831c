/*
 * Fuzz target: terminology checks. The first byte picks the code system ('0'
 * ICD-10-CM, '1' SNOMED CT, '2' LOINC, '3' CVX, '4' other); the rest is the
 * code and, when it is JSON, also a resource whose codes are all checked.
 * Accepted codes must satisfy the rules checked again here (a SNOMED CT code
 * is a plain identifier or a Compositional Grammar expression).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/terminology.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const systems[] = { PHR_FHIR_SYSTEM_ICD10CM, PHR_FHIR_SYSTEM_SNOMED,
					       PHR_FHIR_SYSTEM_LOINC, PHR_FHIR_SYSTEM_CVX,
					       "http://example.org/other" };
	if (size < 1)
		return 0;
	unsigned pick = (uint8_t)(data[0] - '0') % 5; /* '0'..'4' in the seeds */
	const char *sys = systems[pick];
	const char *code = (const char *)data + 1;
	size_t n = size - 1;
	char reason[64];
	int rc = phr_fhir_term_check(reason, sizeof(reason), sys, code, n);
	if (rc != PHR_OK && rc != PHR_ERR_INVALID)
		abort();
	if (rc == PHR_OK && reason[0] != '\0')
		abort();
	if (rc != PHR_OK && reason[0] == '\0')
		abort();
	bool plain = n > 0;
	for (size_t i = 0; i < n; i++)
		plain = plain && code[i] >= '0' && code[i] <= '9';
	/* an accepted expression (not a plain identifier) starts with a concept
	 * identifier or a definition status and has no outer white space */
	if (rc == PHR_OK && pick == 1 && !plain &&
	    ((code[n - 1] >= '\t' && code[n - 1] <= '\r') || code[n - 1] == ' ' ||
	     !((code[0] >= '1' && code[0] <= '9') || code[0] == '=' || code[0] == '<')))
		abort();
	if (rc == PHR_OK && pick == 1 && plain) {
		struct phr_fhir_snomed_id id;
		if (phr_fhir_snomed_parse(&id, NULL, 0, code, n) != PHR_OK || id.kind != PHR_FHIR_SNOMED_CONCEPT)
			abort();
		if (phr_fhir_verhoeff_digit(code, n - 1) != code[n - 1] - '0')
			abort();
	}
	if (rc == PHR_OK && pick == 3 && phr_fhir_cvx_lookup(NULL, code, n) != PHR_OK)
		abort();
	/* JSON input: a resource whose codes are walked with element paths */
	json_t *res = json_loadb(code, n, 0, NULL);
	if (res) {
		size_t bad = 0;
		int wrc = phr_fhir_term_check_resource(&bad, res, NULL, NULL);
		if (wrc != PHR_OK && wrc != PHR_ERR_INVALID && wrc != PHR_ERR_TOO_LARGE)
			abort();
		json_decref(res);
	}
	/* the parts on their own never crash either */
	(void)phr_fhir_verhoeff_digit(code, n);
	(void)phr_fhir_loinc_digit(code, n);
	if (phr_fhir_icd10cm_check(NULL, 0, code, n) == PHR_OK && (n < 3 || code[0] < 'A' || code[0] > 'Z'))
		abort();
	return 0;
}
