/*
 * Fuzz target for the DICOM Part 10 parser: parse with tight limits (small
 * values become bulk data, few elements, shallow nesting), then build the
 * DICOM JSON, the metadata and the FHIR ImagingStudy from whatever parsed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_dicom_limits lim = {
		.max_value_bytes = 512,
		.max_total_bytes = 1 << 20,
		.max_elements = 20000,
		.max_depth = 12,
		.max_inflated_bytes = 4 << 20,
	};
	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error err;
	if (phr_dicom_file_parse(&f, &err, data, size, &lim) != PHR_OK) {
		if (!err.msg[0] || err.offset > (uint64_t)size + (4u << 20))
			abort();
		return 0;
	}
	json_t *j = NULL;
	if (phr_dicom_file_to_json(&j, f, PHR_DICOM_JSON_META) == PHR_OK) {
		char *s = json_dumps(j, JSON_COMPACT);
		free(s);
		json_decref(j);
	}
	struct phr_dicom_meta m;
	if (phr_dicom_file_meta(&m, f) == PHR_OK && phr_dicom_imaging_study(&j, &m, NULL) == PHR_OK)
		json_decref(j);
	phr_dicom_file_free(f);
	return 0;
}
