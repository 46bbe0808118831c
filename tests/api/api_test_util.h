/* An in-process node (embedded chain, store, domain with the dev identities, API) and an HTTP client. */
#ifndef API_TEST_UTIL_H
#define API_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "phr/api.h"
#include "phr/phr.h"

#include "../node/node_test_util.h"

struct api_fx {
	struct node_stack s;
	struct phr_node *node;
	struct phr_api *api;
	char base[64];
};

/** Starts everything in a temp dir; phr_dev_setup with @p seed. */
int api_fx_start(struct api_fx *f, bool seed);
void api_fx_stop(struct api_fx *f);
/** A token for the dev identity @p name. */
void api_fx_token(struct api_fx *f, char token[PHR_API_TOKEN_LEN], const char *name);
/** The header naming the dev patient's address ("X-Phr-Patient: 0x..."), for writes of FHIR resources. */
void api_fx_patient_header(struct api_fx *f, char *hdr, size_t cap);

struct http_res {
	long status;
	char ctype[128];
	uint8_t *body;
	size_t len;
	json_t *json; /* parsed when the body is JSON */
};

/** One request; @p token may be NULL, @p extra_header may be NULL. */
int http_do(struct http_res *r, const char *method, const char *url, const char *token,
	    const char *ctype, const void *body, size_t len, const char *extra_header);
void http_res_release(struct http_res *r);
/**
 * http_do of @p method on @p base + @p path with an optional bearer token and JSON body;
 * a failed transfer or a 5xx answer fails the test (with the body). @return the status.
 */
long http_call(struct http_res *r, const char *base, const char *method, const char *path,
	       const char *token, const char *json);
/** True when @p r is an application/problem+json with the given status. */
bool http_is_problem(const struct http_res *r, long status);

#endif
