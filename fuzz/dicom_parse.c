/*
 * Fuzz target for the DICOM Part 10 parser: parse with tight limits (small
 * values become bulk data, few elements, shallow nesting), then build the
 * DICOM JSON, the metadata and the FHIR ImagingStudy from whatever parsed.
 * The same input is parsed a second time through the pull-reader source with
 * short reads (the buffered path: refills, peeks, read-through skips, the
 * inflate input buffer), and both parses must agree exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct chunks {
	const uint8_t *d;
	size_t n, off, step;
};

static long chunk_read(void *ctx, uint8_t *buf, size_t n)
{
	struct chunks *c = ctx;
	size_t k = c->n - c->off;
	if (k > n)
		k = n;
	if (k > c->step)
		k = c->step;
	memcpy(buf, c->d + c->off, k);
	c->off += k;
	return (long)k;
}

static json_t *to_json(const struct phr_dicom_file *f)
{
	json_t *j = NULL;
	if (phr_dicom_file_to_json(&j, f, PHR_DICOM_JSON_META) != PHR_OK)
		return NULL;
	return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_dicom_limits lim = {
		.max_value_bytes = 512,
		.max_total_bytes = 1 << 20,
		.max_elements = 20000,
		.max_depth = 12,
		.max_inflated_bytes = 4 << 20,
	};
	struct phr_dicom_file *f = NULL, *g = NULL;
	struct phr_dicom_error err, err2;
	enum phr_err e = phr_dicom_file_parse(&f, &err, data, size, &lim);
	struct chunks c = { .d = data, .n = size, .step = size ? 1 + data[size - 1] % 97 : 1 };
	enum phr_err e2 = phr_dicom_file_read(&g, &err2, chunk_read, &c, &lim);
	if (e != e2)
		abort();
	if (e != PHR_OK) {
		if (!err.msg[0] || err.offset > (uint64_t)size + (4u << 20) || err.offset != err2.offset)
			abort();
		return 0;
	}
	json_t *j = to_json(f), *k = to_json(g);
	if (j && k && !json_equal(j, k))
		abort();
	char *s = json_dumps(j, JSON_COMPACT);
	free(s);
	json_decref(j);
	json_decref(k);
	struct phr_dicom_meta m;
	if (phr_dicom_file_meta(&m, f) == PHR_OK && phr_dicom_imaging_study(&j, &m, NULL) == PHR_OK)
		json_decref(j);
	phr_dicom_file_free(f);
	phr_dicom_file_free(g);
	return 0;
}
