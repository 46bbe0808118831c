/*
 * The fixture of the FHIR recovery tests (test_fhir_recover.c,
 * test_fhir_recover_cursor.c): a node with its API, the provider's token and
 * the header naming the dev patient; the teardown clears the test hook.
 * Included by each test program once (its definitions are static).
 */
#ifndef PHR_TESTS_FHIR_RECOVER_FX_H
#define PHR_TESTS_FHIR_RECOVER_FX_H

#include "../../src/api/fhir_int.h"
#include "api_test_util.h"

static struct api_fx fx;
static char t_provider[PHR_API_TOKEN_LEN], hdr_pat[128];

static int setup(void **state)
{
	(void)state;
	if (api_fx_start(&fx, true) != 0)
		return -1;
	api_fx_token(&fx, t_provider, "provider");
	api_fx_patient_header(&fx, hdr_pat, sizeof(hdr_pat));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fhir_test_hook_set(FHIR_HOOK_NONE);
	api_fx_stop(&fx);
	return 0;
}

#endif
