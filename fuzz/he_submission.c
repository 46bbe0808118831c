/*
 * Fuzz the homomorphic-aggregate parsers: the input as JSON is tried as a
 * submission (then round-tripped and verified against a fixed study), a study,
 * an aggregate and a partial decryption. Whatever parses must serialise back to
 * the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/he.h>
#include <phr/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct phr_he_study study;
static bool have_study;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	if (!have_study) {
		struct phr_he_share *sh = NULL;
		if (phr_he_study_create(&study, &sh, "fuzz-study", 4, 2, 3) != PHR_OK)
			abort();
		phr_he_shares_free(sh, 3);
		have_study = true;
	}
	json_t *j = NULL;
	if (phr_json_parse(&j, NULL, 0, (const char *)data, size) != PHR_OK)
		return 0;
	struct phr_he_submission *sub = malloc(2 * sizeof(*sub));
	if (!sub)
		abort();
	if (phr_he_submission_from_json(&sub[0], j) == PHR_OK) {
		json_t *k = NULL;
		if (phr_he_submission_to_json(&k, &sub[0]) != PHR_OK ||
		    phr_he_submission_from_json(&sub[1], k) != PHR_OK || memcmp(&sub[0], &sub[1], sizeof(*sub)) != 0)
			abort();
		json_decref(k);
		(void)!phr_he_submission_verify(&study, &sub[0]);
	}
	free(sub);
	struct phr_he_study s;
	(void)!phr_he_study_from_json(&s, j);
	struct phr_he_aggregate agg;
	if (phr_he_aggregate_from_json(&agg, j) == PHR_OK) {
		struct phr_he_partial p;
		memset(&p, 0, sizeof(p));
		(void)!phr_he_partial_verify(&study, &agg, &p);
	}
	struct phr_he_partial p;
	if (phr_he_partial_from_json(&p, j) == PHR_OK) {
		struct phr_he_aggregate a0;
		phr_he_aggregate_init(&a0);
		(void)!phr_he_partial_verify(&study, &a0, &p);
	}
	json_decref(j);
	return 0;
}
