/* An in-process node and an HTTP client for the API tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../node/node_test_util.h"
#include "api_test_util.h"
#include "phr/crypto.h"

int api_fx_start(struct api_fx *f, bool seed)
{
	struct phr_api_config acfg = { 0 };
	const struct phr_identity *aud;

	memset(f, 0, sizeof(*f));
	if (node_stack_open(&f->s, "api") != 0)
		return -1;
	f->node = f->s.node;
	if (phr_dev_setup(f->node, NULL, seed) != PHR_OK)
		return -1;
	aud = phr_node_identity_by_name(f->node, "auditor");
	acfg.host = "127.0.0.1";
	acfg.node = f->node;
	acfg.chain_node = f->s.cn;
	acfg.store = f->s.store;
	acfg.datadir = f->s.dir;
	acfg.threads = 2;
	acfg.auditors = (const uint8_t(*)[20])aud->address;
	acfg.n_auditors = 1;
	if (phr_api_start(&f->api, &acfg) != PHR_OK)
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned)phr_api_port(f->api));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

void api_fx_stop(struct api_fx *f)
{
	phr_api_stop(f->api);
	node_stack_close(&f->s);
	curl_global_cleanup();
}

void api_fx_token(struct api_fx *f, char token[PHR_API_TOKEN_LEN], const char *name)
{
	const struct phr_identity *id = phr_node_identity_by_name(f->node, name);

	if (id == NULL || phr_api_token_issue(f->api, token, id->address, 3600) != PHR_OK)
		abort();
}

void api_fx_patient_header(struct api_fx *f, char *hdr, size_t cap)
{
	char a[PHR_ETH_ADDRESS_STR_LEN];

	phr_eth_address_checksum(a, phr_node_identity_by_name(f->node, "patient")->address);
	snprintf(hdr, cap, "X-Phr-Patient: %s", a);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct http_res *r = ctx;
	uint8_t *nb = realloc(r->body, r->len + sz * n + 1);

	if (nb == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = 0;
	return sz * n;
}

int http_do(struct http_res *r, const char *method, const char *url, const char *token,
	    const char *ctype, const void *body, size_t len, const char *extra_header)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char line[256];
	char *ct = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	if (extra_header != NULL)
		h = curl_slist_append(h, extra_header);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->body != NULL && (strstr(r->ctype, "json") != NULL))
		r->json = json_loadb((const char *)r->body, r->len, 0, NULL);
	return rc == CURLE_OK ? 0 : -1;
}

void http_res_release(struct http_res *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

bool http_is_problem(const struct http_res *r, long status)
{
	json_t *s;

	if (r->status != status || strcmp(r->ctype, "application/problem+json") != 0 ||
	    r->json == NULL)
		return false;
	s = json_object_get(r->json, "status");
	return json_is_integer(s) && json_integer_value(s) == status &&
	       json_is_string(json_object_get(r->json, "title")) &&
	       json_is_string(json_object_get(r->json, "type"));
}

long http_call(struct http_res *r, const char *base, const char *method, const char *path,
	       const char *token, const char *json)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", base, path);
	assert_int_equal(http_do(r, method, url, token, json ? "application/json" : NULL, json,
				 json ? strlen(json) : 0, NULL),
			 0);
	if (r->status >= 500)
		fail_msg("%s %s%s: %ld %.*s", method, base, path, r->status, (int)r->len,
			 r->body ? (char *)r->body : "");
	return r->status;
}
