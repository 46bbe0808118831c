/*
 * The node API end to end in one process: OpenAPI document vs. route table,
 * SIWE login (bad signatures, replayed nonces, expired tokens), TOTP for
 * Admin grants, both flows over HTTP (403 for no grant, revoked, expired),
 * bad input (problem+json 4xx, never 5xx) and the auth rate limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <sodium.h>

#include "api_test_util.h"
#include "phr/crypto.h"
#include "phr/contracts.h"
#include "phr/eip712.h"

static struct api_fx fx;
static char t_patient[PHR_API_TOKEN_LEN], t_provider[PHR_API_TOKEN_LEN],
	t_clinic[PHR_API_TOKEN_LEN], t_auditor[PHR_API_TOKEN_LEN];
static char a_patient[PHR_ETH_ADDRESS_STR_LEN], a_clinic[PHR_ETH_ADDRESS_STR_LEN];

static int setup(void **state)
{
	(void)state;
	if (api_fx_start(&fx, false) != 0)
		return -1;
	api_fx_token(&fx, t_patient, "patient");
	api_fx_token(&fx, t_provider, "provider");
	api_fx_token(&fx, t_clinic, "clinic");
	api_fx_token(&fx, t_auditor, "auditor");
	phr_eth_address_checksum(a_patient, phr_node_identity_by_name(fx.node, "patient")->address);
	phr_eth_address_checksum(a_clinic, phr_node_identity_by_name(fx.node, "clinic")->address);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

static void req(struct http_res *r, const char *method, const char *path, const char *token,
		const char *json)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", fx.base, path);
	assert_int_equal(http_do(r, method, url, token, json ? "application/json" : NULL, json,
				 json ? strlen(json) : 0, NULL),
			 0);
	assert_true(r->status < 500);
}

static void test_openapi_matches_routes(void **state)
{
	struct http_res r;
	const struct phr_api_route_info *rt = phr_api_routes();
	json_t *paths, *ops;
	const char *path, *m;
	size_t n_doc = 0, n_rt = 0;

	(void)state;
	req(&r, "GET", "/api/v1/openapi.json", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_string_equal(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
	paths = json_object_get(r.json, "paths");
	for (size_t i = 0; rt[i].method != NULL; i++, n_rt++) {
		char lower[8];
		size_t k;
		for (k = 0; rt[i].method[k] && k < 7; k++)
			lower[k] = (char)tolower((unsigned char)rt[i].method[k]);
		lower[k] = 0;
		ops = json_object_get(paths, rt[i].path);
		if (ops == NULL || json_object_get(ops, lower) == NULL)
			fail_msg("route %s %s is not in the OpenAPI document", rt[i].method, rt[i].path);
		/* authenticated routes declare the bearer scheme, open ones none */
		assert_int_equal(json_array_size(json_object_get(json_object_get(ops, lower),
								 "security")) > 0,
				 rt[i].auth);
	}
	json_object_foreach(paths, path, ops) {
		json_t *op;
		json_object_foreach(ops, m, op) {
			bool found = false;
			for (size_t i = 0; rt[i].method != NULL && !found; i++)
				found = strcmp(rt[i].path, path) == 0 && strcasecmp(rt[i].method, m) == 0;
			if (!found)
				fail_msg("documented %s %s is not implemented", m, path);
			n_doc++;
		}
	}
	assert_int_equal(n_doc, n_rt);
	http_res_release(&r);
}

static void test_health_metrics(void **state)
{
	struct http_res r;

	(void)state;
	req(&r, "GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
	http_res_release(&r);
	req(&r, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr((const char *)r.body, "phr_http_requests_total{class=\"2xx\"}"));
	{
		/* the set-up made view calls through the embedded chain's memo */
		const char *h = strstr((const char *)r.body, "phr_chain_call_memo_total{result=\"hit\"} ");
		const char *m = strstr((const char *)r.body, "phr_chain_call_memo_total{result=\"miss\"} ");
		assert_non_null(h);
		assert_non_null(m);
		assert_true(strtoull(m + strlen("phr_chain_call_memo_total{result=\"miss\"} "), NULL, 10) > 0);
	}
	http_res_release(&r);
	/* the chain's JSON-RPC is mounted at /rpc */
	req(&r, "POST", "/rpc", NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}");
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "result")), "0x7a69");
	http_res_release(&r);
}

static void iso_time(char *out, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A SIWE message for the dev identity @p name, signed by @p signer. */
static void siwe(char *msg, size_t cap, char sig_hex[140], const char *name, const char *signer,
		 const char *domain, const char *nonce, time_t issued)
{
	const struct phr_identity *id = phr_node_identity_by_name(fx.node, name);
	const struct phr_identity *s = phr_node_identity_by_name(fx.node, signer);
	char addr[PHR_ETH_ADDRESS_STR_LEN], when[40];
	uint8_t sig[65];

	phr_eth_address_checksum(addr, id->address);
	iso_time(when, sizeof(when), issued);
	snprintf(msg, cap,
		 "%s wants you to sign in with your Ethereum account:\n%s\n\nSign in to the phr node.\n\n"
		 "URI: http://%s\nVersion: 1\nChain ID: 31337\nNonce: %s\nIssued At: %s",
		 domain, addr, domain, nonce, when);
	assert_int_equal(phr_eip191_sign(sig, msg, strlen(msg), s->seckey), PHR_OK);
	assert_int_equal(phr_hex_encode(sig_hex, 140, sig, 65, true), PHR_OK);
}

static void login(struct http_res *r, const char *msg, const char *sig)
{
	json_t *b = json_pack("{s:s,s:s}", "message", msg, "signature", sig);
	char *s = json_dumps(b, 0);

	req(r, "POST", "/api/v1/auth/login", NULL, s);
	free(s);
	json_decref(b);
}

static void fresh_nonce(char nonce[64], char domain[128])
{
	struct http_res r;

	req(&r, "POST", "/api/v1/auth/nonce", NULL, NULL);
	assert_int_equal(r.status, 200);
	snprintf(nonce, 64, "%s", json_string_value(json_object_get(r.json, "nonce")));
	snprintf(domain, 128, "%s", json_string_value(json_object_get(r.json, "domain")));
	http_res_release(&r);
}

static void test_siwe_login(void **state)
{
	struct http_res r;
	char nonce[64], domain[128], msg[1024], sig[140], tok[PHR_API_TOKEN_LEN];
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");

	(void)state;
	fresh_nonce(nonce, domain);
	siwe(msg, sizeof(msg), sig, "patient", "patient", domain, nonce, time(NULL));
	login(&r, msg, sig);
	assert_int_equal(r.status, 200);
	snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(r.json, "token")));
	http_res_release(&r);
	req(&r, "GET", "/api/v1/me", tok, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "address")), a_patient);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "roles"), 0)),
			    "patient");
	http_res_release(&r);

	/* the same message again: the nonce is single-use */
	login(&r, msg, sig);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* signed by someone else */
	fresh_nonce(nonce, domain);
	siwe(msg, sizeof(msg), sig, "patient", "clinic", domain, nonce, time(NULL));
	login(&r, msg, sig);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* another domain */
	fresh_nonce(nonce, domain);
	siwe(msg, sizeof(msg), sig, "patient", "patient", "evil.example", nonce, time(NULL));
	login(&r, msg, sig);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* an old message */
	fresh_nonce(nonce, domain);
	siwe(msg, sizeof(msg), sig, "patient", "patient", domain, nonce, time(NULL) - 3600);
	login(&r, msg, sig);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* an unknown nonce */
	siwe(msg, sizeof(msg), sig, "patient", "patient", domain, "abcdefgh12345678", time(NULL));
	login(&r, msg, sig);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* not a SIWE message, a malformed signature */
	login(&r, "hello", sig);
	assert_true(http_is_problem(&r, 400));
	http_res_release(&r);
	login(&r, msg, "0x1234");
	assert_true(http_is_problem(&r, 400));
	http_res_release(&r);
	/* logout revokes the token */
	req(&r, "POST", "/api/v1/auth/logout", tok, NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	req(&r, "GET", "/api/v1/me", tok, NULL);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* an expired token */
	assert_int_equal(phr_api_token_issue(fx.api, tok, pat->address, 0), PHR_OK);
	req(&r, "GET", "/api/v1/me", tok, NULL);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	req(&r, "GET", "/api/v1/me", "phr_0000", NULL);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
}

/* Verified tokens are cached in memory (auth.c): each token keeps its own address when
 * many share the cache's slots, a logout ends a cached token at once, and a cached token
 * stops at its expiry. */
static void test_token_cache(void **state)
{
	enum { N = 48 };
	static const char *const who[2] = { "patient", "clinic" };
	char (*tok)[PHR_API_TOKEN_LEN] = calloc(N, PHR_API_TOKEN_LEN);
	const char *want[2] = { a_patient, a_clinic };
	struct http_res r;

	(void)state;
	assert_non_null(tok);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(phr_api_token_issue(fx.api, tok[i],
						     phr_node_identity_by_name(fx.node, who[i % 2])->address,
						     600),
				 PHR_OK);
	/* twice over: the first pass fills the cache, the second reads it */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < N; i++) {
			req(&r, "GET", "/api/v1/me", tok[i], NULL);
			assert_int_equal(r.status, 200);
			assert_string_equal(json_string_value(json_object_get(r.json, "address")),
					    want[i % 2]);
			http_res_release(&r);
		}
	/* logout of one cached token: it fails at once, the others still work */
	req(&r, "POST", "/api/v1/auth/logout", tok[3], NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	req(&r, "GET", "/api/v1/me", tok[3], NULL);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	req(&r, "GET", "/api/v1/me", tok[4], NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	/* a cached token that expires: 401 from its expiry on */
	assert_int_equal(phr_api_token_issue(fx.api, tok[0],
					     phr_node_identity_by_name(fx.node, "patient")->address, 2),
			 PHR_OK);
	req(&r, "GET", "/api/v1/me", tok[0], NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	sleep(3);
	req(&r, "GET", "/api/v1/me", tok[0], NULL);
	assert_true(http_is_problem(&r, 401));
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "expired"));
	http_res_release(&r);
	free(tok);
}

/* A connection that has sent its headers and part of its body. */
static int stalled_upload(const char *token)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char head[512];
	unsigned port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	assert_true(fd >= 0);
	assert_int_equal(sscanf(fx.base, "http://127.0.0.1:%u", &port), 1);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(head, sizeof(head),
		     "POST /api/v1/records?patient=%s&type=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
		     "Content-Length: 4096\r\n\r\n0123456789",
		     a_patient, token);
	assert_int_equal(write(fd, head, (size_t)n), n);
	return fd;
}

struct reader {
	pthread_t th;
	char path[160];
	int ok;
};

static void *read_loop(void *arg)
{
	struct reader *rd = arg;
	char url[256];

	snprintf(url, sizeof(url), "%s%s", fx.base, rd->path);
	for (int i = 0; i < 3; i++) {
		struct http_res r;
		if (http_do(&r, "GET", url, t_patient, NULL, NULL, 0, NULL) == 0 && r.status == 200)
			rd->ok++;
		http_res_release(&r);
	}
	return NULL;
}

/* A thread per connection, cfg.threads (2 here) requests handled at once: two uploads
 * stalled mid-body hold no slot, and 8 concurrent readers (4x the bound) all get their
 * answers, waiting for a slot in their own threads. */
static void test_connections_over_the_bound(void **state)
{
	struct reader rd[8];
	struct http_res r;
	char path[160];
	int s1, s2;

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", a_patient);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_array_size(json_object_get(r.json, "items")) > 0);
	snprintf(path, sizeof(path), "/api/v1/records/%s",
		 json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")));
	http_res_release(&r);
	s1 = stalled_upload(t_provider);
	s2 = stalled_upload(t_provider);
	for (size_t i = 0; i < 8; i++) {
		rd[i].ok = 0;
		snprintf(rd[i].path, sizeof(rd[i].path), "%s", path);
		assert_int_equal(pthread_create(&rd[i].th, NULL, read_loop, &rd[i]), 0);
	}
	for (size_t i = 0; i < 8; i++) {
		pthread_join(rd[i].th, NULL);
		assert_int_equal(rd[i].ok, 3);
	}
	close(s1);
	close(s2);
}

static void expect_content(const char *token, const char *id, const void *want, size_t n,
			   long status)
{
	struct http_res r;
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/records/%s/content", id);
	req(&r, "GET", path, token, NULL);
	if (status == 200) {
		assert_int_equal(r.status, 200);
		assert_int_equal(r.len, n);
		assert_memory_equal(r.body, want, n);
	} else {
		assert_true(http_is_problem(&r, status));
	}
	http_res_release(&r);
}

/* POSTs @p body, expects 201 and copies the answer's "id" into @p id. */
static void post_for_id(char id[32], const char *path, const char *token, const char *body)
{
	struct http_res r;

	req(&r, "POST", path, token, body);
	assert_int_equal(r.status, 201);
	snprintf(id, 32, "%s", json_string_value(json_object_get(r.json, "id")));
	http_res_release(&r);
}

/* getRecord's answer (written without jansson, handlers.c record_json): the fields in
 * their order, the bytes jansson's compact dump gives for them, the values (the
 * ciphertext is the gateway's block for the cid). */
static void check_record_json(const struct http_res *r, const char *id, bool with_ct)
{
	static const char *const keys[] = { "id", "patient", "provider", "type", "createdAt",
					    "cid", "capsule", "capsuleCid", "dataHash",
					    "ciphertextUrl", "supersedes", "supersededBy",
					    "ciphertext" };
	const char *cid = json_string_value(json_object_get(r->json, "cid"));
	const char *b64 = json_string_value(json_object_get(r->json, "ciphertext"));
	void *it = json_object_iter(r->json);
	char *dump = json_dumps(r->json, JSON_COMPACT);
	char path[256];
	struct http_res g;
	uint8_t *ct;
	size_t ct_len = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) - (with_ct ? 0 : 1); i++) {
		assert_non_null(it);
		assert_string_equal(json_object_iter_key(it), keys[i]);
		it = json_object_iter_next(r->json, it);
	}
	assert_null(it);
	assert_non_null(dump);
	assert_int_equal(strlen(dump), r->len);
	assert_memory_equal(dump, r->body, r->len);
	free(dump);
	assert_string_equal(json_string_value(json_object_get(r->json, "id")), id);
	assert_string_equal(json_string_value(json_object_get(r->json, "patient")), a_patient);
	assert_string_equal(json_string_value(json_object_get(r->json, "provider")),
			    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
	assert_int_equal(json_integer_value(json_object_get(r->json, "type")), 5);
	assert_true(json_integer_value(json_object_get(r->json, "createdAt")) > 1700000000);
	assert_int_equal(strlen(json_string_value(json_object_get(r->json, "dataHash"))), 66);
	assert_string_equal(json_string_value(json_object_get(r->json, "supersedes")), "0");
	assert_string_equal(json_string_value(json_object_get(r->json, "supersededBy")), "0");
	snprintf(path, sizeof(path), "/ipfs/%s", cid);
	assert_string_equal(json_string_value(json_object_get(r->json, "ciphertextUrl")), path);
	if (!with_ct)
		return;
	assert_non_null(b64);
	ct = malloc(strlen(b64));
	assert_non_null(ct);
	assert_int_equal(sodium_base642bin(ct, strlen(b64), b64, strlen(b64), NULL, &ct_len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	req(&g, "GET", path, NULL, NULL);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.len, ct_len);
	assert_memory_equal(g.body, ct, ct_len);
	http_res_release(&g);
	free(ct);
}

static void test_flows_over_http(void **state)
{
	struct http_res r;
	char body[1024], path[256], id[32], rid[32];
	static uint8_t big[200000];
	const char *text = "Observation: potassium 4.1 mmol/L (secret-marker-7731)";

	(void)state;
	/* the patient grants the provider Write on all records for a day */
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"write\",\"duration\":86400}",
		 "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
	req(&r, "POST", "/api/v1/access/grants", t_patient, body);
	assert_int_equal(r.status, 201);
	http_res_release(&r);
	/* submitRecord (JSON) */
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"%s\"}", a_patient, text);
	req(&r, "POST", "/api/v1/records", t_provider, body);
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
	http_res_release(&r);
	expect_content(t_patient, id, text, strlen(text), 200);
	expect_content(t_provider, id, text, strlen(text), 200);
	/* getRecord: ciphertext and the caller's capsule */
	snprintf(path, sizeof(path), "/api/v1/records/%s", id);
	req(&r, "GET", path, t_provider, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(strlen(json_string_value(json_object_get(r.json, "capsule"))), 2 + 160);
	assert_null(strstr((const char *)r.body, "secret-marker"));
	check_record_json(&r, id, true);
	http_res_release(&r);
	/* ciphertexts of each length modulo 3 (the base64 tail: none, "==", "=") */
	for (int k = 0; k < 3; k++) {
		char kid[32];
		snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"%.*s\"}",
			 a_patient, 40 + k, "0123456789012345678901234567890123456789ab");
		post_for_id(kid, "/api/v1/records", t_provider, body);
		snprintf(path, sizeof(path), "/api/v1/records/%s", kid);
		req(&r, "GET", path, t_provider, NULL);
		assert_int_equal(r.status, 200);
		check_record_json(&r, kid, true);
		http_res_release(&r);
	}
	/* a multi-block record under 1 MiB carries its ciphertext inline, one over it not
	 * (its root block's filesize says so: the blocks are not read) */
	for (int k = 0; k < 2; k++) {
		size_t n = k == 0 ? 600000 : 1500000;
		uint8_t *d = malloc(n);
		char url[512], kid[32];
		assert_non_null(d);
		for (size_t i = 0; i < n; i++)
			d[i] = (uint8_t)(i * 7 + (i >> 11));
		snprintf(url, sizeof(url), "%s/api/v1/records?patient=%s&type=5", fx.base, a_patient);
		assert_int_equal(http_do(&r, "POST", url, t_provider, "application/octet-stream", d, n, NULL), 0);
		assert_int_equal(r.status, 201);
		snprintf(kid, sizeof(kid), "%s", json_string_value(json_object_get(r.json, "id")));
		http_res_release(&r);
		free(d);
		snprintf(path, sizeof(path), "/api/v1/records/%s", kid);
		req(&r, "GET", path, t_provider, NULL);
		assert_int_equal(r.status, 200);
		assert_true(strncmp(json_string_value(json_object_get(r.json, "cid")), "bafybei", 7) == 0);
		check_record_json(&r, kid, k == 0);
		http_res_release(&r);
	}
	/* submitRecord with a raw body */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + (i >> 9));
	{
		char url[512];
		snprintf(url, sizeof(url), "%s/api/v1/records?patient=%s&type=6", fx.base, a_patient);
		assert_int_equal(http_do(&r, "POST", url, t_provider, "application/octet-stream", big,
					 sizeof(big), NULL),
				 0);
		assert_int_equal(r.status, 201);
		snprintf(rid, sizeof(rid), "%s", json_string_value(json_object_get(r.json, "id")));
		http_res_release(&r);
	}
	expect_content(t_patient, rid, big, sizeof(big), 200);
	/* the ciphertext is served by the gateway */
	{
		struct http_res g;
		snprintf(path, sizeof(path), "/api/v1/records/%s", rid);
		req(&r, "GET", path, t_patient, NULL);
		snprintf(path, sizeof(path), "%s", json_string_value(json_object_get(r.json, "ciphertextUrl")));
		http_res_release(&r);
		req(&g, "GET", path, NULL, NULL);
		assert_int_equal(g.status, 200);
		assert_true(g.len > sizeof(big));
		assert_null(memmem(g.body, g.len, big + 1000, 64));
		http_res_release(&g);
	}

	/* no grant: 403 problem, denial logged */
	expect_content(t_clinic, id, NULL, 0, 403);
	snprintf(path, sizeof(path), "/api/v1/records/%s", id);
	req(&r, "GET", path, t_clinic, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%s/denials", a_patient);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_integer_value(json_object_get(r.json, "count")) >= 2);
	http_res_release(&r);

	/* requestAccess -> approve -> read -> revoke */
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"purpose\":1,\"duration\":3600}", a_patient);
	req(&r, "POST", "/api/v1/access/requests", t_clinic, body);
	assert_int_equal(r.status, 201);
	snprintf(path, sizeof(path), "/api/v1/access/requests/%s/approve",
		 json_string_value(json_object_get(r.json, "id")));
	http_res_release(&r);
	req(&r, "POST", path, t_clinic, NULL); /* only the patient answers */
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	req(&r, "POST", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	expect_content(t_clinic, id, text, strlen(text), 200);
	snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", a_clinic);
	req(&r, "POST", "/api/v1/access/revoke", t_patient, body);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	expect_content(t_clinic, id, NULL, 0, 403);

	/* expiry by chain time */
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"read\",\"duration\":60}", a_clinic);
	req(&r, "POST", "/api/v1/access/grants", t_patient, body);
	assert_int_equal(r.status, 201);
	http_res_release(&r);
	expect_content(t_clinic, id, text, strlen(text), 200);
	assert_int_equal(phr_node_advance_time(fx.node, 120), PHR_OK);
	expect_content(t_clinic, id, NULL, 0, 403);

	/* lists: the patient sees its grants and audit, an auditor too, the clinic not */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/grants", a_patient);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_integer_value(json_object_get(r.json, "count")) >= 2);
	http_res_release(&r);
	req(&r, "GET", path, t_clinic, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%s/audit", a_patient);
	req(&r, "GET", path, t_auditor, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_integer_value(json_object_get(r.json, "count")) >= 8);
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/records/%s/audit", id);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_integer_value(json_object_get(r.json, "count")) >= 4); /* Create + Views */
	http_res_release(&r);

	/* a reader that logs its View itself: the audit transaction opens one read */
	{
		const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
		const struct phr_deployment *d = phr_node_deployment(fx.node);
		struct phr_chain_receipt rc;
		struct phr_buf cd;
		struct phr_u256 rec;
		uint8_t pat[20];
		char h[PHR_HEX_LEN(32, true)];
		assert_int_equal(phr_u256_parse(&rec, id), 0);
		assert_int_equal(phr_eth_address_parse(pat, a_patient), PHR_OK);
		phr_buf_init(&cd, 0);
		assert_int_equal(phr_contracts_audit_trail_log_access_encode(&cd, pat, &rec, 0, 1), PHR_OK);
		assert_int_equal(phr_node_tx_send(phr_node_chain(fx.node), d->chain_id, &rc, prov->seckey,
						  d->audit, cd.data, cd.len), PHR_OK);
		assert_int_equal(phr_hex_encode(h, sizeof(h), rc.tx_hash, 32, true), PHR_OK);
		phr_chain_receipt_release(&rc);
		phr_buf_release(&cd);
		snprintf(path, sizeof(path), "/api/v1/records/%s?auditTx=%s", id, h);
		req(&r, "GET", path, t_provider, NULL);
		assert_int_equal(r.status, 200);
		http_res_release(&r);
		req(&r, "GET", path, t_provider, NULL); /* used */
		assert_true(http_is_problem(&r, 409));
		http_res_release(&r);
		snprintf(path, sizeof(path), "/api/v1/records/%s?auditTx=%s", rid, h); /* another record */
		req(&r, "GET", path, t_provider, NULL);
		assert_true(http_is_problem(&r, 403));
		http_res_release(&r);
		snprintf(path, sizeof(path), "/api/v1/records/%s?auditTx=0x%064d", id, 7);
		req(&r, "GET", path, t_provider, NULL);
		assert_true(http_is_problem(&r, 403));
		http_res_release(&r);
		/* uploads of ciphertext: providers only */
		req(&r, "POST", "/api/v1/ciphertext", t_patient, NULL);
		assert_true(http_is_problem(&r, 403));
		http_res_release(&r);
	}
}

static void test_totp_admin(void **state)
{
	struct http_res r;
	char body[256], hdr[64];
	uint8_t secret[64];
	size_t sl = 0;
	uint32_t code;

	(void)state;
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"admin\",\"duration\":600}",
		 a_clinic);
	req(&r, "POST", "/api/v1/access/grants", t_patient, body);
	assert_true(http_is_problem(&r, 403)); /* not enrolled */
	http_res_release(&r);
	req(&r, "POST", "/api/v1/me/totp", t_patient, NULL);
	assert_int_equal(r.status, 201);
	assert_int_equal(strncmp(json_string_value(json_object_get(r.json, "otpauthUri")),
				 "otpauth://totp/", 15),
			 0);
	assert_int_equal(phr_totp_secret_decode(secret, sizeof(secret), &sl,
						json_string_value(json_object_get(r.json, "secret"))),
			 PHR_OK);
	http_res_release(&r);
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, sl, (uint64_t)time(NULL), 30, 6),
			 PHR_OK);
	snprintf(body, sizeof(body), "{\"code\":\"%06u\"}", (unsigned)code);
	req(&r, "POST", "/api/v1/me/totp/confirm", t_patient, body);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	/* the same code again is refused (one use per step) */
	snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %06u", (unsigned)code);
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"admin\",\"duration\":600}",
		 a_clinic);
	{
		char url[256];
		snprintf(url, sizeof(url), "%s/api/v1/access/grants", fx.base);
		assert_int_equal(http_do(&r, "POST", url, t_patient, "application/json", body,
					 strlen(body), hdr), 0);
		assert_true(http_is_problem(&r, 401));
		http_res_release(&r);
		/* the next step's code is accepted */
		assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, sl,
					  (uint64_t)time(NULL) + 30, 30, 6), PHR_OK);
		snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %06u", (unsigned)code);
		assert_int_equal(http_do(&r, "POST", url, t_patient, "application/json", body,
					 strlen(body), hdr), 0);
		assert_int_equal(r.status, 201);
		http_res_release(&r);
	}
	/* approving a request for Admin access is an Admin grant: refused without a code */
	{
		char path[128], id[32];
		snprintf(body, sizeof(body),
			 "{\"patient\":\"%s\",\"purpose\":3,\"duration\":600,\"level\":\"admin\"}",
			 a_patient);
		post_for_id(id, "/api/v1/access/requests", t_clinic, body);
		snprintf(path, sizeof(path), "/api/v1/access/requests/%s/approve", id);
		req(&r, "POST", path, t_patient, NULL);
		assert_true(http_is_problem(&r, 401));
		http_res_release(&r);
		snprintf(path, sizeof(path), "/api/v1/access/requests/%s/deny", id);
		req(&r, "POST", path, t_patient, NULL);
		assert_int_equal(r.status, 200);
		http_res_release(&r);
	}
}

static void test_emergency(void **state)
{
	struct http_res r;
	char tok[PHR_API_TOKEN_LEN], body[256], hdr[64], url[256];
	uint8_t secret[64];
	size_t sl = 0;
	uint32_t code;
	json_t *items;
	size_t i, n = 0;
	json_t *e;

	(void)state;
	api_fx_token(&fx, tok, "emergency");
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"reasonCode\":1,\"reason\":\"unconscious on arrival\"}",
		 a_patient);
	/* without a second factor: refused */
	req(&r, "POST", "/api/v1/emergency", tok, body);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	/* a provider that is not an emergency provider: refused by the contract */
	req(&r, "POST", "/api/v1/me/totp", tok, NULL);
	assert_int_equal(r.status, 201);
	assert_int_equal(phr_totp_secret_decode(secret, sizeof(secret), &sl,
						json_string_value(json_object_get(r.json, "secret"))),
			 PHR_OK);
	http_res_release(&r);
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, sl, (uint64_t)time(NULL), 30, 6), PHR_OK);
	snprintf(hdr, sizeof(hdr), "{\"code\":\"%06u\"}", (unsigned)code);
	req(&r, "POST", "/api/v1/me/totp/confirm", tok, hdr);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	/* no session yet: no read */
	expect_content(tok, "1", NULL, 0, 403);
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, sl, (uint64_t)time(NULL) + 30, 30, 6), PHR_OK);
	snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %06u", (unsigned)code);
	snprintf(url, sizeof(url), "%s/api/v1/emergency", fx.base);
	assert_int_equal(http_do(&r, "POST", url, tok, "application/json", body, strlen(body), hdr), 0);
	assert_int_equal(r.status, 201);
	assert_true(json_integer_value(json_object_get(r.json, "expiresAt")) > 0);
	http_res_release(&r);
	/* the session reads; the patient sees an Emergency entry */
	{
		struct http_res c;
		req(&c, "GET", "/api/v1/records/1/content", tok, NULL);
		assert_int_equal(c.status, 200);
		http_res_release(&c);
	}
	snprintf(url, sizeof(url), "/api/v1/patients/%s/audit", a_patient);
	req(&r, "GET", url, t_patient, NULL);
	items = json_object_get(r.json, "items");
	json_array_foreach(items, i, e)
		n += strcmp(json_string_value(json_object_get(e, "action")), "Emergency") == 0;
	assert_int_equal(n, 1);
	http_res_release(&r);
	/* the patient closes it: reads stop */
	{
		char b2[256], em[PHR_ETH_ADDRESS_STR_LEN];
		phr_eth_address_checksum(em, phr_node_identity_by_name(fx.node, "emergency")->address);
		snprintf(b2, sizeof(b2), "{\"patient\":\"%s\",\"provider\":\"%s\"}", a_patient, em);
		req(&r, "POST", "/api/v1/emergency/close", t_patient, b2);
		assert_int_equal(r.status, 200);
		http_res_release(&r);
	}
	expect_content(tok, "1", NULL, 0, 403);
}

static void test_bad_input(void **state)
{
	struct http_res r;
	char url[256], *huge;
	static const struct {
		const char *method, *path, *body;
		long status;
		bool auth;
	} cases[] = {
		{ "POST", "/api/v1/records", "{", 400, true },
		{ "POST", "/api/v1/records", "[1,2]", 400, true },
		{ "POST", "/api/v1/records", "{\"patient\":5,\"type\":1,\"text\":\"x\"}", 400, true },
		{ "POST", "/api/v1/records", "{\"patient\":\"0x12\",\"type\":1,\"text\":\"x\"}", 400, true },
		{ "POST", "/api/v1/records", "{\"patient\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"type\":99,\"text\":\"x\"}", 400, true },
		{ "POST", "/api/v1/records", "{\"patient\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"type\":1,\"data\":\"!!!\"}", 400, true },
		{ "POST", "/api/v1/records", "{\"patient\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"type\":1,\"text\":\"x\",\"supersedes\":\"-1\"}", 400, true },
		{ "POST", "/api/v1/access/grants", "{\"provider\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"level\":\"root\",\"duration\":5}", 400, true },
		{ "POST", "/api/v1/access/grants", "{\"provider\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"level\":1,\"scope\":{\"category\":77},\"duration\":5}", 400, true },
		{ "POST", "/api/v1/access/grants", "{\"provider\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"level\":1}", 400, true },
		{ "POST", "/api/v1/access/requests", "{\"patient\":\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\",\"purpose\":\"x\",\"duration\":5}", 400, true },
		{ "GET", "/api/v1/records/abc", NULL, 400, true },
		{ "GET", "/api/v1/records/0", NULL, 400, true },
		{ "GET", "/api/v1/records/99999/content", NULL, 404, true },
		{ "GET", "/api/v1/records/1?purpose=99", NULL, 400, true },
		{ "GET", "/api/v1/patients/nobody/records", NULL, 400, true },
		{ "GET", "/api/v1/nothing", NULL, 404, false },
		{ "DELETE", "/api/v1/records", NULL, 405, false },
		{ "GET", "/api/v1/me", NULL, 401, false },
		{ "POST", "/api/v1/access/requests/xyz/approve", NULL, 400, true },
		{ "POST", "/rpc", "{not json", 200, false }, /* a JSON-RPC error object */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(&r, cases[i].method, cases[i].path, cases[i].auth ? t_provider : NULL,
		    cases[i].body);
		if (cases[i].status == 200) {
			assert_int_equal(r.status, 200);
			assert_non_null(json_object_get(r.json, "error"));
		} else if (!http_is_problem(&r, cases[i].status)) {
			fail_msg("case %zu %s %s: status %ld type %s body %s", i, cases[i].method,
				 cases[i].path, r.status, r.ctype, r.body ? (char *)r.body : "");
		}
		http_res_release(&r);
	}
	/* a huge JSON body: 413 */
	huge = malloc(3u << 20);
	memset(huge, ' ', 3u << 20);
	huge[0] = '{';
	huge[(3u << 20) - 1] = '}';
	snprintf(url, sizeof(url), "%s/api/v1/records", fx.base);
	assert_int_equal(http_do(&r, "POST", url, t_provider, "application/json", huge, 3u << 20, NULL), 0);
	assert_true(http_is_problem(&r, 413));
	http_res_release(&r);
	/* a raw body on a JSON route: 415 */
	snprintf(url, sizeof(url), "%s/api/v1/access/grants", fx.base);
	assert_int_equal(http_do(&r, "POST", url, t_patient, "application/octet-stream", huge, 100, NULL), 0);
	assert_true(http_is_problem(&r, 415));
	http_res_release(&r);
	free(huge);
}

/* Bad input on the auth routes and the relay: every answer a 4xx problem+json. */
static void test_bad_auth_input(void **state)
{
	struct http_res r;
	char url[256], nonce[64], domain[128], msg[1024], sig[140], *big;
	static const struct {
		const char *path, *body;
		long status;
		bool auth;
	} cases[] = {
		/* wrong types and missing fields */
		{ "/api/v1/auth/login", "{\"message\":5,\"signature\":\"0x00\"}", 400, false },
		{ "/api/v1/auth/login", "{\"message\":\"x\",\"signature\":[1]}", 400, false },
		{ "/api/v1/auth/login", "{\"message\":\"x\"}", 400, false },
		{ "/api/v1/auth/login", "{\"message\":null,\"signature\":null}", 400, false },
		{ "/api/v1/auth/login", "\"just a string\"", 400, false },
		{ "/api/v1/auth/login", "{\"message\":\"x\",\"signature\":\"0xgg\"}", 400, false },
		/* malformed TOTP codes (the patient enrolled in test_totp_admin) */
		{ "/api/v1/me/totp/confirm", "{\"code\":123456}", 401, true },
		{ "/api/v1/me/totp/confirm", "{\"code\":\"12345a\"}", 401, true },
		{ "/api/v1/me/totp/confirm", "{\"code\":\"1234567890\"}", 401, true },
		/* the relay */
		{ "/api/v1/tx", "{\"raw\":\"0x\"}", 400, true },
		{ "/api/v1/tx", "{\"raw\":true}", 400, true },
		{ "/api/v1/tx", "{\"raw\":\"0xf8\"}", 400, true },
		{ "/api/v1/tx", "{\"raw\":\"0x02\"}", 400, true },
		{ "/api/v1/tx", "{\"raw\":\"0x1\"}", 400, true },
		{ "/api/v1/tx", "{\"raw\":\"0xf86c\"", 400, true },
		{ "/api/v1/tx", NULL, 400, true },
		{ "/api/v1/tx", "{\"raw\":\"0xc0\"}", 401, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(&r, "POST", cases[i].path, cases[i].auth ? t_patient : NULL, cases[i].body);
		if (!http_is_problem(&r, cases[i].status))
			fail_msg("case %zu %s %s: status %ld type %s body %s", i, cases[i].path,
				 cases[i].body ? cases[i].body : "(none)", r.status, r.ctype,
				 r.body ? (char *)r.body : "");
		http_res_release(&r);
	}
	/* a SIWE message that expired (Expiration Time in the past) */
	fresh_nonce(nonce, domain);
	{
		const struct phr_identity *id = phr_node_identity_by_name(fx.node, "patient");
		char addr[PHR_ETH_ADDRESS_STR_LEN], when[40], exp[40];
		uint8_t s65[65];
		phr_eth_address_checksum(addr, id->address);
		iso_time(when, sizeof(when), time(NULL) - 120);
		iso_time(exp, sizeof(exp), time(NULL) - 60);
		snprintf(msg, sizeof(msg),
			 "%s wants you to sign in with your Ethereum account:\n%s\n\nSign in.\n\n"
			 "URI: http://%s\nVersion: 1\nChain ID: 31337\nNonce: %s\nIssued At: %s\n"
			 "Expiration Time: %s",
			 domain, addr, domain, nonce, when, exp);
		assert_int_equal(phr_eip191_sign(s65, msg, strlen(msg), id->seckey), PHR_OK);
		assert_int_equal(phr_hex_encode(sig, sizeof(sig), s65, 65, true), PHR_OK);
	}
	login(&r, msg, sig);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* a bearer scheme that is not Bearer, a token with a wrong prefix */
	snprintf(url, sizeof(url), "%s/api/v1/me", fx.base);
	assert_int_equal(http_do(&r, "GET", url, NULL, NULL, NULL, 0, "Authorization: Basic dXNlcjpwdw=="), 0);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	assert_int_equal(http_do(&r, "GET", url, "xyz_00000000000000000000000000000000000000000000000000000000000000000",
				 NULL, NULL, 0, NULL), 0);
	assert_true(http_is_problem(&r, 401));
	http_res_release(&r);
	/* a raw upload over 16 MiB: 413 */
	big = calloc(1, (17u << 20));
	assert_non_null(big);
	snprintf(url, sizeof(url), "%s/api/v1/ciphertext", fx.base);
	assert_int_equal(http_do(&r, "POST", url, t_provider, "application/octet-stream", big, 17u << 20, NULL), 0);
	assert_true(http_is_problem(&r, 413));
	http_res_release(&r);
	/* a JSON body over 1 MiB on the relay: 413 */
	memset(big, ' ', (2u << 20));
	memcpy(big, "{\"raw\":\"0x", 10);
	big[(2u << 20) - 2] = '"';
	big[(2u << 20) - 1] = '}';
	snprintf(url, sizeof(url), "%s/api/v1/tx", fx.base);
	assert_int_equal(http_do(&r, "POST", url, t_patient, "application/json", big, 2u << 20, NULL), 0);
	assert_true(http_is_problem(&r, 413));
	http_res_release(&r);
	free(big);
}

static void test_rate_limit(void **state)
{
	struct http_res r;
	int limited = 0;

	(void)state;
	for (int i = 0; i < 80; i++) {
		req(&r, "POST", "/api/v1/auth/nonce", NULL, NULL);
		if (r.status == 429) {
			assert_true(http_is_problem(&r, 429));
			limited++;
		}
		http_res_release(&r);
	}
	assert_true(limited > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openapi_matches_routes),
		cmocka_unit_test(test_health_metrics),
		cmocka_unit_test(test_siwe_login),
		cmocka_unit_test(test_token_cache),
		cmocka_unit_test(test_flows_over_http),
		cmocka_unit_test(test_connections_over_the_bound),
		cmocka_unit_test(test_totp_admin),
		cmocka_unit_test(test_emergency),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bad_auth_input),
		cmocka_unit_test(test_rate_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
