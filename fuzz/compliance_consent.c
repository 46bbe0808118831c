/*
 * Fuzz target: the outside inputs of the compliance module. The first byte
 * picks the parser: even, a FHIR Consent posted by a patient
 * (phr_consent_parse, for the patient 0x00..01); odd, a retention policy
 * (phr_retention_policy_from_json). The rest is JSON text. Oracles: a
 * parsed Consent has at most PHR_CONSENT_MAX_OPS operations, levels Read or
 * Write, scopes all/category/record with a known category, and no permit
 * both applied and overlapping a deny of the same actor.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/compliance.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ops(const struct phr_consent_op *ops, size_t n)
{
	if (n > PHR_CONSENT_MAX_OPS)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (ops[i].level != PHR_LEVEL_READ && ops[i].level != PHR_LEVEL_WRITE)
			abort();
		if (ops[i].scope[0] > 2 || (ops[i].scope[0] == 1 && ops[i].scope[31] > PHR_RECORD_TYPE_MAX))
			abort();
		if (ops[i].purpose > PHR_PURPOSE_MAX)
			abort();
		/* a permit applied next to a deny of the same actor on everything is a bug */
		for (size_t j = 0; j < n; j++)
			if (ops[i].permit && !ops[i].overridden && !ops[j].permit &&
			    memcmp(ops[i].actor, ops[j].actor, 20) == 0 && ops[j].scope[0] == 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t patient[20] = { [19] = 1 };
	struct phr_consent_op ops[PHR_CONSENT_MAX_OPS];
	struct phr_retention_policy pol;
	size_t n = 0;
	json_t *j;

	if (size < 1)
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (j == NULL)
		return 0;
	if ((data[0] & 1) == 0) {
		if (phr_consent_parse(ops, &n, j, patient, 1700000000) == PHR_OK)
			check_ops(ops, n);
	} else if (phr_retention_policy_from_json(&pol, j) == PHR_OK) {
		for (unsigned t = 0; t <= PHR_RECORD_TYPE_MAX; t++)
			if (pol.record_ttl[t] > (uint64_t)INT64_MAX)
				abort();
	}
	json_decref(j);
	return 0;
}
