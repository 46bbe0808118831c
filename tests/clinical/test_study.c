/*
 * Research studies on a node over HTTP (issue: homomorphic aggregates): the
 * sponsor creates a study, custodians open their sealed shares, patients
 * consent on chain and submit, refusals (no consent, withdrawn consent, twice,
 * someone else's submission, a tampered proof, after close), close, partial
 * decryptions (a wrong custodian, a wrong partial, fewer than t), and the
 * result equal to the plaintext figures; every step in the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "../api/api_test_util.h"
#include "phr/crypto.h"
#include "phr/he.h"
#include "phr/study.h"

#define NPAT 3 /* dev accounts 7, 8, 9 (the funded ones left) */

static struct api_fx fx;
static const struct phr_identity *pat[NPAT];
static char tok[NPAT][PHR_API_TOKEN_LEN], t_provider[PHR_API_TOKEN_LEN], t_clinic[PHR_API_TOKEN_LEN],
	t_emergency[PHR_API_TOKEN_LEN];
static struct phr_he_study study;

static void req(struct http_res *r, const char *method, const char *path, const char *token, const json_t *body)
{
	char url[512];
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	snprintf(url, sizeof(url), "%s%s", fx.base, path);
	assert_int_equal(http_do(r, method, url, token, s ? "application/json" : NULL, s, s ? strlen(s) : 0,
				 NULL),
			 0);
	free(s);
}

/* Hosts and registers dev accounts 7.. as extra patients. */
static int setup(void **state)
{
	(void)state;
	if (api_fx_start(&fx, false) != 0)
		return -1;
	for (int i = 0; i < NPAT; i++) {
		uint8_t *sk = sodium_malloc(32);
		struct phr_identity *id = NULL;
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		if (sk == NULL || phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 7 + (uint32_t)i) != PHR_OK ||
		    phr_identity_new(&id, name, sk) != PHR_OK || phr_node_add_identity(fx.node, id) != PHR_OK)
			return -1;
		sodium_free(sk);
		pat[i] = phr_node_identity_by_name(fx.node, name);
		if (phr_node_register(fx.node, pat[i]) != PHR_OK)
			return -1;
		api_fx_token(&fx, tok[i], name);
	}
	api_fx_token(&fx, t_provider, "provider");
	api_fx_token(&fx, t_clinic, "clinic");
	api_fx_token(&fx, t_emergency, "emergency");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

static void addr_of(char out[PHR_ETH_ADDRESS_STR_LEN], const char *name)
{
	phr_eth_address_checksum(out, phr_node_identity_by_name(fx.node, name)->address);
}

static void test_create_and_shares(void **state)
{
	struct http_res r;
	char a1[PHR_ETH_ADDRESS_STR_LEN], a2[PHR_ETH_ADDRESS_STR_LEN], a3[PHR_ETH_ADDRESS_STR_LEN], path[200];
	json_t *body;

	(void)state;
	addr_of(a1, "provider");
	addr_of(a2, "clinic");
	addr_of(a3, "emergency");
	body = json_pack("{s:s,s:i,s:i,s:[s,s,s]}", "name", "hba1c-2026", "bits", 8, "t", 2, "custodians", a1,
			 a2, a3);
	/* a patient cannot sponsor a study; bad parameters are refused */
	req(&r, "POST", "/api/v1/studies", tok[0], body);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	{
		json_t *bad = json_deep_copy(body);
		json_object_set_new(bad, "t", json_integer(4));
		req(&r, "POST", "/api/v1/studies", t_provider, bad);
		assert_true(http_is_problem(&r, 400) || http_is_problem(&r, 422));
		http_res_release(&r);
		json_object_set_new(bad, "t", json_integer(2));
		json_object_set_new(bad, "name", json_string("no spaces"));
		req(&r, "POST", "/api/v1/studies", t_provider, bad);
		assert_int_equal(r.status / 100, 4);
		http_res_release(&r);
		json_decref(bad);
	}
	req(&r, "POST", "/api/v1/studies", t_provider, body);
	assert_int_equal(r.status, 201);
	assert_int_equal(phr_he_study_from_json(&study, json_object_get(r.json, "he")), PHR_OK);
	assert_int_equal(study.t, 2);
	assert_int_equal(study.n, 3);
	http_res_release(&r);
	req(&r, "POST", "/api/v1/studies", t_provider, body);
	assert_true(http_is_problem(&r, 409));
	http_res_release(&r);
	json_decref(body);

	/* each custodian opens its own sealed share and checks it against the commitments */
	for (int i = 0; i < 3; i++) {
		const char *names[] = { "provider", "clinic", "emergency" };
		const struct phr_identity *id = phr_node_identity_by_name(fx.node, names[i]);
		char a[PHR_ETH_ADDRESS_STR_LEN];
		uint8_t box[4096], plain[4096];
		size_t blen = 0;
		struct phr_he_share sh;
		json_t *j;
		addr_of(a, names[i]);
		snprintf(path, sizeof(path), "/api/v1/studies/hba1c-2026/shares/%s", a);
		req(&r, "GET", path, NULL, NULL);
		assert_int_equal(r.status, 200);
		assert_int_equal(sodium_base642bin(box, sizeof(box), json_string_value(json_object_get(r.json, "sealed")),
						   strlen(json_string_value(json_object_get(r.json, "sealed"))), NULL, &blen,
						   NULL, sodium_base64_VARIANT_ORIGINAL),
				 0);
		http_res_release(&r);
		/* not for anyone else */
		assert_int_not_equal(crypto_box_seal_open(plain, box, blen, pat[0]->box_pk, pat[0]->box_sk), 0);
		assert_int_equal(crypto_box_seal_open(plain, box, blen, id->box_pk, id->box_sk), 0);
		j = json_loadb((const char *)plain, blen - crypto_box_SEALBYTES, 0, NULL);
		assert_non_null(j);
		assert_int_equal(phr_he_share_from_json(&sh, j), PHR_OK);
		assert_int_equal(sh.index, (uint32_t)i + 1);
		assert_int_equal(phr_he_share_verify(&study, &sh), PHR_OK);
		json_decref(j);
	}
	/* a non-custodian has no share */
	{
		char a[PHR_ETH_ADDRESS_STR_LEN];
		phr_eth_address_checksum(a, pat[0]->address);
		snprintf(path, sizeof(path), "/api/v1/studies/hba1c-2026/shares/%s", a);
		req(&r, "GET", path, NULL, NULL);
		assert_true(http_is_problem(&r, 404));
		http_res_release(&r);
	}
}

static json_t *submission(int who, uint64_t v)
{
	struct phr_he_submission *sub = phr_malloc(sizeof(*sub));
	char a[PHR_ETH_ADDRESS_STR_LEN];
	json_t *j = NULL, *b;

	assert_non_null(sub);
	phr_eth_address_checksum(a, pat[who]->address);
	assert_int_equal(phr_he_submission_make(sub, &study, a, v), PHR_OK);
	assert_int_equal(phr_he_submission_to_json(&j, sub), PHR_OK);
	phr_free(sub);
	b = json_pack("{s:o}", "submission", j);
	return b;
}

static long submit(int as, json_t *body)
{
	struct http_res r;
	long st;

	req(&r, "POST", "/api/v1/studies/hba1c-2026/submissions", tok[as], body);
	st = r.status;
	http_res_release(&r);
	json_decref(body);
	return st;
}

static void consent(int who, long until_offset, bool withdraw)
{
	struct http_res r;
	json_t *b = withdraw ? json_pack("{s:b}", "withdraw", 1)
			     : json_pack("{s:I}", "until", (json_int_t)(time(NULL) + until_offset));

	req(&r, "POST", "/api/v1/studies/hba1c-2026/consent", tok[who], b);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	json_decref(b);
}

static void test_consent_and_submissions(void **state)
{
	(void)state;
	/* no consent on chain: not counted */
	assert_int_equal(submit(0, submission(0, 61)), 403);
	consent(0, 86400, false);
	consent(1, 86400, false);
	consent(2, 86400, false);
	assert_int_equal(submit(0, submission(0, 61)), 201);
	/* once per patient */
	assert_int_equal(submit(0, submission(0, 70)), 409);
	/* someone else's submission */
	assert_int_equal(submit(2, submission(1, 70)) / 100, 4);
	/* a tampered range proof (a value outside [0, 2^bits)) */
	{
		json_t *b = submission(1, 200);
		json_t *first = json_array_get(json_object_get(json_object_get(b, "submission"), "bitProofs"), 0);
		/* swap one bit's proof scalars: the OR-proof no longer verifies */
		assert_non_null(json_object_get(first, "z1"));
		assert_int_equal(json_object_set(first, "z0", json_object_get(first, "z1")), 0);
		assert_int_equal(submit(1, b), 422);
	}
	assert_int_equal(submit(1, submission(1, 200)), 201);
	/* consent withdrawn: refused at once */
	consent(2, 0, true);
	assert_int_equal(submit(2, submission(2, 99)), 403);
}

static json_t *partial_of(int custodian, const struct phr_he_aggregate *agg, bool tamper)
{
	const char *names[] = { "provider", "clinic", "emergency" };
	const struct phr_identity *id = phr_node_identity_by_name(fx.node, names[custodian]);
	struct http_res r;
	char a[PHR_ETH_ADDRESS_STR_LEN], path[200];
	uint8_t box[4096], plain[4096];
	size_t blen = 0;
	struct phr_he_share sh;
	struct phr_he_partial p;
	json_t *j, *pj = NULL;

	addr_of(a, names[custodian]);
	snprintf(path, sizeof(path), "/api/v1/studies/hba1c-2026/shares/%s", a);
	req(&r, "GET", path, NULL, NULL);
	assert_int_equal(sodium_base642bin(box, sizeof(box), json_string_value(json_object_get(r.json, "sealed")),
					   strlen(json_string_value(json_object_get(r.json, "sealed"))), NULL, &blen, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	http_res_release(&r);
	assert_int_equal(crypto_box_seal_open(plain, box, blen, id->box_pk, id->box_sk), 0);
	j = json_loadb((const char *)plain, blen - crypto_box_SEALBYTES, 0, NULL);
	assert_int_equal(phr_he_share_from_json(&sh, j), PHR_OK);
	json_decref(j);
	assert_int_equal(phr_he_partial_make(&p, &study, &sh, agg), PHR_OK);
	if (tamper)
		memcpy(p.d[0], p.d[1], sizeof(p.d[0]));
	assert_int_equal(phr_he_partial_to_json(&pj, &p), PHR_OK);
	sodium_memzero(&sh, sizeof(sh));
	return json_pack("{s:o}", "partial", pj);
}

static void test_close_decrypt_result(void **state)
{
	struct http_res r;
	struct phr_he_aggregate agg;
	json_t *p;
	size_t i;
	json_t *e;
	bool saw[6] = { false };

	(void)state;
	/* only the sponsor closes */
	req(&r, "POST", "/api/v1/studies/hba1c-2026/close", t_clinic, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	/* no partials while open */
	req(&r, "GET", "/api/v1/studies/hba1c-2026", t_provider, NULL);
	assert_int_equal(phr_he_aggregate_from_json(&agg, json_object_get(r.json, "aggregate")), PHR_OK);
	http_res_release(&r);
	p = partial_of(1, &agg, false);
	req(&r, "POST", "/api/v1/studies/hba1c-2026/partials", t_clinic, p);
	assert_true(http_is_problem(&r, 409));
	http_res_release(&r);
	json_decref(p);

	req(&r, "POST", "/api/v1/studies/hba1c-2026/close", t_provider, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "closed")));
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 2);
	assert_int_equal(phr_he_aggregate_from_json(&agg, json_object_get(r.json, "aggregate")), PHR_OK);
	http_res_release(&r);
	/* closed: no more submissions */
	assert_int_equal(submit(2, submission(2, 5)), 409);

	/* result needs t = 2 valid partials */
	req(&r, "GET", "/api/v1/studies/hba1c-2026/result", t_provider, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	/* clinic's partial, posted by someone else: refused */
	p = partial_of(1, &agg, false);
	req(&r, "POST", "/api/v1/studies/hba1c-2026/partials", t_emergency, p);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	req(&r, "POST", "/api/v1/studies/hba1c-2026/partials", t_clinic, p);
	assert_int_equal(r.status, 201);
	http_res_release(&r);
	json_decref(p);
	/* a wrong partial decryption is refused */
	p = partial_of(2, &agg, true);
	req(&r, "POST", "/api/v1/studies/hba1c-2026/partials", t_emergency, p);
	assert_int_equal(r.status / 100, 4);
	http_res_release(&r);
	json_decref(p);
	req(&r, "GET", "/api/v1/studies/hba1c-2026/result", t_provider, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	p = partial_of(2, &agg, false);
	req(&r, "POST", "/api/v1/studies/hba1c-2026/partials", t_emergency, p);
	assert_int_equal(r.status, 201);
	http_res_release(&r);
	json_decref(p);

	/* 61 and 200: the plaintext figures exactly */
	req(&r, "GET", "/api/v1/studies/hba1c-2026/result", t_provider, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(r.json, "sum")), 261);
	assert_int_equal(json_integer_value(json_object_get(r.json, "sumsq")), 61 * 61 + 200 * 200);
	assert_true(json_real_value(json_object_get(r.json, "mean")) == 130.5);
	assert_true(json_real_value(json_object_get(r.json, "variance")) == 4830.25);
	http_res_release(&r);

	/* every step is in the log, refusals included */
	req(&r, "GET", "/api/v1/studies/hba1c-2026/log", t_provider, NULL);
	assert_int_equal(r.status, 200);
	json_array_foreach(json_object_get(r.json, "items"), i, e) {
		const char *step = json_string_value(json_object_get(e, "step"));
		const char *out = json_string_value(json_object_get(e, "outcome"));
		bool ok = strcmp(out, "ok") == 0;
		if (strcmp(step, "create") == 0 && ok)
			saw[0] = true;
		if (strcmp(step, "consent") == 0 && ok)
			saw[1] = true;
		if (strcmp(step, "submit") == 0 && strcmp(out, "forbidden") == 0)
			saw[2] = true;
		if (strcmp(step, "close") == 0 && ok)
			saw[3] = true;
		if (strcmp(step, "partial") == 0 && strcmp(out, "tampered") == 0)
			saw[4] = true;
		if (strcmp(step, "result") == 0 && ok)
			saw[5] = true;
	}
	for (int k = 0; k < 6; k++)
		if (!saw[k])
			fail_msg("log entry %d missing", k);
	http_res_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_shares),
		cmocka_unit_test(test_consent_and_submissions),
		cmocka_unit_test(test_close_decrypt_result),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
