/*
 * Fuzz target: the milestone details a node derives from a record's FHIR
 * resource (phr_milestone_details) and their canonical hash. The input is the
 * record plaintext as a provider submitted it: any bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include <phr/milestone.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *d = NULL;
	uint8_t h[32];

	if (phr_milestone_details(&d, data, size) == PHR_OK) {
		/* always an object with a kind; the hash is defined for it */
		if (!json_is_object(d) || !json_is_string(json_object_get(d, "kind")) ||
		    phr_milestone_details_hash(h, d) != PHR_OK)
			abort();
	}
	json_decref(d);
	return 0;
}
