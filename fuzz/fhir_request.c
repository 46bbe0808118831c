/*
 * Fuzz target: FHIR request parsing of the server (phr/fhir.h). The input is
 * a URL relative to the FHIR base (path and query) on its first line; the
 * rest, when present, is a resource whose search keys are extracted (and,
 * when it has an "entry" array, a Bundle planned as a transaction). Each
 * parameter value is also tried as a date. Checks the invariants of the
 * parsed request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "phr/fhir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_key(void *ctx, const struct phr_fhir_key *k)
{
	size_t *n = ctx;

	if (k->param == NULL || k->kind < PHR_FHIR_SP_TOKEN || k->kind > PHR_FHIR_SP_NUMBER)
		abort();
	if (k->kind == PHR_FHIR_SP_DATE && k->lo > k->hi)
		abort();
	(*n)++;
	return PHR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ul = nl ? (size_t)(nl - data) : size;
	char *url = malloc(ul + 1);
	struct phr_fhir_req r;
	int rv;

	if (url == NULL)
		return 0;
	memcpy(url, data, ul);
	url[ul] = '\0';
	phr_fhir_req_init(&r);
	rv = phr_fhir_req_parse(&r, url);
	if (rv == PHR_OK) {
		if (r.target < PHR_FHIR_T_BASE || r.target > PHR_FHIR_T_OPERATION)
			abort();
		if ((r.target == PHR_FHIR_T_INSTANCE || r.target == PHR_FHIR_T_VREAD ||
		     r.target == PHR_FHIR_T_HISTORY) && !phr_fhir_id_valid(r.id))
			abort();
		if (r.target >= PHR_FHIR_T_TYPE && !phr_fhir_type_supported(r.type) &&
		    !(r.target == PHR_FHIR_T_HISTORY_TYPE && r.type[0] == '\0'))
			abort();
	}
	if (r.n_params > PHR_FHIR_MAX_PARAMS)
		abort();
	for (size_t i = 0; i < r.n_params; i++) {
		int64_t lo, hi;
		if (r.params[i].name == NULL || r.params[i].value == NULL)
			abort();
		if (phr_fhir_date_range(&lo, &hi, r.params[i].value) == PHR_OK && lo > hi)
			abort();
		(void)phr_fhir_sp_find(r.type[0] ? r.type : "Patient", r.params[i].name);
	}
	phr_fhir_req_release(&r);
	free(url);
	if (nl != NULL) {
		json_t *j = json_loadb((const char *)nl + 1, size - ul - 1, 0, NULL);
		size_t n = 0;
		if (j != NULL) {
			json_t *entries = json_object_get(j, "entry");
			rv = phr_fhir_keys_extract(j, on_key, &n);
			if (rv != PHR_OK && rv != PHR_ERR_INVALID)
				abort();
			if (json_is_array(entries)) {
				/* a Bundle: plan it as a transaction; the order is a permutation */
				size_t ne = json_array_size(entries);
				size_t *order = calloc(ne ? ne : 1, sizeof(*order));
				char *seen = calloc(ne ? ne : 1, 1);
				char detail[200];
				if (order != NULL && seen != NULL &&
				    phr_fhir_tx_plan(order, detail, sizeof(detail), entries) == PHR_OK) {
					for (size_t i = 0; i < ne; i++) {
						if (order[i] >= ne || seen[order[i]])
							abort();
						seen[order[i]] = 1;
					}
				}
				free(order);
				free(seen);
			}
			json_decref(j);
		}
	}
	return 0;
}
