/*
 * A small client of the node API (libcurl): requests and SIWE login.
 */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "phr/api.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/json.h"

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	return phr_buf_append(ctx, p, sz * n) == PHR_OK ? sz * n : 0;
}

int phr_api_client_call(long *status, struct phr_buf *resp, const char *base, const char *method,
			const char *path, const char *token, const char *ctype, const void *body,
			size_t len, const char *extra)
{
	struct curl_slist *h = NULL;
	char url[2048], line[256];
	CURL *c;
	CURLcode rc;

	if (base == NULL || (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) ||
	    (size_t)snprintf(url, sizeof(url), "%s%s", base, path) >= sizeof(url))
		return PHR_ERR_INVALID;
	c = curl_easy_init();
	if (c == NULL)
		return PHR_ERR_NOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	if (extra != NULL)
		h = curl_slist_append(h, extra);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc == CURLE_WRITE_ERROR)
		return PHR_ERR_TOO_LARGE;
	return rc == CURLE_OK ? PHR_OK : PHR_ERR_NETWORK;
}

static int login_once(char token[PHR_API_TOKEN_LEN], const char *base, const uint8_t seckey[32])
{
	struct phr_buf resp;
	json_t *j = NULL, *req = NULL;
	const char *nonce, *domain, *tok;
	char msg[1024], when[40], addr_s[PHR_ETH_ADDRESS_STR_LEN], sig_hex[PHR_HEX_LEN(65, true)];
	uint8_t addr[20], sig[PHR_ETH_SIG_BYTES];
	uint64_t chain_id;
	long status = 0;
	time_t now = time(NULL);
	struct tm tm;
	char *body = NULL;
	int rv;

	phr_buf_init(&resp, 65536);
	if ((rv = phr_eth_address_from_seckey(addr, seckey)) != PHR_OK)
		return rv;
	phr_eth_address_checksum(addr_s, addr);
	rv = phr_api_client_call(&status, &resp, base, "POST", "/api/v1/auth/nonce", NULL, NULL,
				 NULL, 0, NULL);
	if (rv != PHR_OK)
		goto out;
	if (status != 200 || phr_json_parse(&j, NULL, 0, (const char *)resp.data, resp.len) != PHR_OK ||
	    phr_json_get_str(&nonce, j, "nonce") != PHR_OK ||
	    phr_json_get_str(&domain, j, "domain") != PHR_OK ||
	    phr_json_get_u64(&chain_id, j, "chainId") != PHR_OK) {
		rv = status == 429 ? PHR_ERR_RATE_LIMITED : PHR_ERR_PARSE;
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((size_t)snprintf(msg, sizeof(msg),
			     "%s wants you to sign in with your Ethereum account:\n%s\n\n"
			     "Sign in to the phr node.\n\nURI: %s\nVersion: 1\nChain ID: %llu\n"
			     "Nonce: %s\nIssued At: %s",
			     domain, addr_s, base, (unsigned long long)chain_id, nonce, when) >=
	    sizeof(msg)) {
		rv = PHR_ERR_TOO_LARGE;
		goto out;
	}
	if ((rv = phr_eip191_sign(sig, msg, strlen(msg), seckey)) != PHR_OK ||
	    (rv = phr_hex_encode(sig_hex, sizeof(sig_hex), sig, sizeof(sig), true)) != PHR_OK)
		goto out;
	req = json_pack("{s:s,s:s}", "message", msg, "signature", sig_hex);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (body == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	phr_buf_reset(&resp);
	rv = phr_api_client_call(&status, &resp, base, "POST", "/api/v1/auth/login", NULL,
				 "application/json", body, strlen(body), NULL);
	if (rv != PHR_OK)
		goto out;
	json_decref(j);
	j = NULL;
	if (status != 200 || phr_json_parse(&j, NULL, 0, (const char *)resp.data, resp.len) != PHR_OK ||
	    phr_json_get_str(&tok, j, "token") != PHR_OK || strlen(tok) != PHR_API_TOKEN_LEN - 1) {
		rv = status == 429 ? PHR_ERR_RATE_LIMITED : PHR_ERR_UNAUTHENTICATED;
		goto out;
	}
	memcpy(token, tok, PHR_API_TOKEN_LEN);
out:
	free(body);
	json_decref(req);
	json_decref(j);
	phr_buf_release(&resp);
	return rv;
}

/* Attempts at a login answered 429 (the node limits /api/v1/auth/ per client
 * address: burst 20, then 5 per second, and answers Retry-After: 1). */
#define LOGIN_ATTEMPTS 5

int phr_api_client_login(char token[PHR_API_TOKEN_LEN], const char *base, const uint8_t seckey[32])
{
	int rv = PHR_ERR_RATE_LIMITED;

	/* a client running many commands in a row (scripts, tests) meets the limit:
	 * it waits the second the node asks for and signs in again */
	for (int i = 0; i < LOGIN_ATTEMPTS && rv == PHR_ERR_RATE_LIMITED; i++) {
		if (i > 0) {
			struct timespec ts = { 1, 0 };
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		rv = login_once(token, base, seckey);
	}
	return rv;
}
