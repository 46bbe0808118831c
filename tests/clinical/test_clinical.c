/*
 * Milestone tokens (seed §5) and SMART Health Cards on a node, over HTTP:
 * attestation by the provider (hosted and with its own signature), the
 * public metadata free of health data, verification against the chain and
 * its failures, the sealed details, card issuance for the demo vaccination,
 * /.well-known/jwks.json and card verification (and a tampered card).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../api/api_test_util.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/milestone.h"

static struct api_fx fx;
static char t_patient[PHR_API_TOKEN_LEN], t_provider[PHR_API_TOKEN_LEN], t_clinic[PHR_API_TOKEN_LEN];
static char vacc_id[80], lab_id[80], patient_addr[64];

static void req(struct http_res *r, const char *method, const char *path, const char *token,
		const json_t *body)
{
	char url[512];
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	snprintf(url, sizeof(url), "%s%s", fx.base, path);
	assert_int_equal(http_do(r, method, url, token, s ? "application/json" : NULL, s,
				 s ? strlen(s) : 0, NULL),
			 0);
	free(s);
}

static int setup(void **state)
{
	struct http_res r;
	const struct phr_identity *p;
	char path[160];
	size_t i;
	json_t *it;

	(void)state;
	if (api_fx_start(&fx, true) != 0)
		return -1;
	api_fx_token(&fx, t_patient, "patient");
	api_fx_token(&fx, t_provider, "provider");
	api_fx_token(&fx, t_clinic, "clinic");
	p = phr_node_identity_by_name(fx.node, "patient");
	phr_eth_address_checksum(patient_addr, p->address);
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", patient_addr);
	req(&r, "GET", path, t_patient, NULL);
	if (r.status != 200)
		return -1;
	json_array_foreach(json_object_get(r.json, "items"), i, it) {
		json_int_t t = json_integer_value(json_object_get(it, "type"));
		const char *id = json_string_value(json_object_get(it, "id"));
		if (t == 1 && vacc_id[0] == 0)
			snprintf(vacc_id, sizeof(vacc_id), "%s", id);
		if (t == 5 && lab_id[0] == 0)
			snprintf(lab_id, sizeof(lab_id), "%s", id);
	}
	http_res_release(&r);
	return vacc_id[0] && lab_id[0] ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

static bool body_has(const struct http_res *r, const char *needle)
{
	return r->body != NULL && memmem(r->body, r->len, needle, strlen(needle)) != NULL;
}

static void test_milestone_attest_and_verify(void **state)
{
	struct http_res r;
	char path[200];
	const char *k;
	json_t *v;

	(void)state;
	/* the dev demo attested the vaccination when it seeded it */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/milestones", patient_addr);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 1);
	assert_true(json_is_object(json_object_get(json_array_get(json_object_get(r.json, "items"), 0),
						   "metadata")));
	http_res_release(&r);

	/* no metadata for a token that is not a milestone */
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", lab_id);
	req(&r, "GET", path, NULL, NULL);
	assert_true(http_is_problem(&r, 404));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", vacc_id);

	/* only the token's provider may attest */
	req(&r, "POST", path, t_clinic, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
	req(&r, "POST", path, t_patient, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);

	req(&r, "POST", path, t_provider, NULL);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "recordType")), "Vaccination");
	assert_string_equal(json_string_value(json_object_get(r.json, "tokenId")), vacc_id);
	/* the public metadata carries no health data of the record */
	assert_false(body_has(&r, "influenza"));
	assert_false(body_has(&r, "ABC123"));
	assert_false(body_has(&r, "quadrivalent"));
	assert_false(body_has(&r, "Demo Patient"));
	assert_non_null(json_object_get(json_object_get(r.json, "details"), "sealed"));
	http_res_release(&r);

	/* anyone can verify it against the chain */
	snprintf(path, sizeof(path), "/api/v1/milestones/%s/verify", vacc_id);
	req(&r, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "valid")));
	json_object_foreach(json_object_get(r.json, "checks"), k, v) {
		if (!json_is_true(v))
			fail_msg("check %s failed", k);
	}
	assert_int_equal(json_object_size(json_object_get(r.json, "checks")), 8);
	http_res_release(&r);

	/* the public metadata as published */
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", vacc_id);
	req(&r, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "recordType")), "Vaccination");
	assert_false(body_has(&r, "ABC123"));
	http_res_release(&r);

	/* a lab result is not a milestone */
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", lab_id);
	req(&r, "POST", path, t_provider, NULL);
	assert_int_equal(r.status / 100, 4);
	assert_true(body_has(&r, "milestone type"));
	http_res_release(&r);
}

static void test_milestone_details_sealed(void **state)
{
	struct http_res r;
	char path[200];

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/milestones/%s/details", vacc_id);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "kind")), "vaccination");
	assert_string_equal(json_string_value(json_object_get(r.json, "lotNumber")), "ABC123");
	assert_string_equal(json_string_value(json_object_get(r.json, "code")),
			    "http://hl7.org/fhir/sid/cvx|150");
	assert_string_equal(json_string_value(json_object_get(r.json, "date")), "2025-01-29T10:30:00Z");
	http_res_release(&r);
	req(&r, "GET", path, t_provider, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "kind")), "vaccination");
	http_res_release(&r);
	req(&r, "GET", path, t_clinic, NULL);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);
}

/* A copy of the published metadata with @p key set to @p value, checked on chain. */
static bool still_valid_with(const char *key, json_t *value)
{
	struct phr_u256 id;
	json_t *meta = NULL, *rep = NULL;
	bool valid;

	assert_int_equal(phr_u256_parse(&id, vacc_id), 0);
	assert_int_equal(phr_node_milestone_get(fx.node, &meta, &id), PHR_OK);
	assert_int_equal(json_object_set_new(meta, key, value), 0);
	assert_int_equal(phr_node_milestone_check(fx.node, &rep, meta), PHR_OK);
	valid = json_is_true(json_object_get(rep, "valid"));
	json_decref(meta);
	json_decref(rep);
	return valid;
}

static void test_milestone_tampering_detected(void **state)
{
	const struct phr_identity *clinic = phr_node_identity_by_name(fx.node, "clinic");
	char a[PHR_ETH_ADDRESS_STR_LEN];
	json_t *bad_sig;

	(void)state;
	phr_eth_address_checksum(a, clinic->address);
	/* fields outside the proof may change; the helper itself is sound */
	assert_true(still_valid_with("name", json_string("renamed")));
	assert_false(still_valid_with("provider", json_string(a)));
	assert_false(still_valid_with("timestamp", json_string("2020-01-01T00:00:00Z")));
	assert_false(still_valid_with("recordType", json_string("MajorProcedure")));
	assert_false(still_valid_with("dataHash", json_string("0x1111111111111111111111111111111111111111111111111111111111111111")));
	{
		char sig_s[2 + 130 + 1];
		memcpy(sig_s, "0x", 2);
		memset(sig_s + 2, '0', 128);
		memcpy(sig_s + 130, "1b", 3);
		bad_sig = json_string(sig_s);
	}
	assert_false(still_valid_with("verificationProof", bad_sig));
	/* the details hash is signed too */
	{
		json_t *d = json_pack("{s:s}", "hash",
				      "0x2222222222222222222222222222222222222222222222222222222222222222");
		assert_false(still_valid_with("details", d));
	}
}

/* The provider signs with its own key (as `phr milestone attest --keystore` does). */
static void test_milestone_own_signature(void **state)
{
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	const struct phr_identity *clinic = phr_node_identity_by_name(fx.node, "clinic");
	json_t *details = json_pack("{s:s,s:s,s:s}", "kind", "vaccination", "name", "COVID-19 mRNA",
				    "date", "2025-01-29");
	struct http_res r;
	char path[200], dh_s[67], sig_s[PHR_HEX_LEN(65, true)], q[300];
	uint8_t dh[32], sig[65];
	json_t *typed, *body;

	(void)state;
	assert_int_equal(phr_milestone_details_hash(dh, details), PHR_OK);
	assert_int_equal(phr_hex_encode(dh_s, sizeof(dh_s), dh, 32, true), PHR_OK);
	snprintf(q, sizeof(q), "/api/v1/milestones/%s/typed-data?detailsHash=%s", vacc_id, dh_s);
	req(&r, "GET", q, NULL, NULL);
	assert_int_equal(r.status, 200);
	typed = json_incref(r.json);
	http_res_release(&r);

	/* signed by someone else: refused */
	assert_int_equal(phr_eip712_sign(sig, typed, clinic->seckey), PHR_OK);
	assert_int_equal(phr_hex_encode(sig_s, sizeof(sig_s), sig, 65, true), PHR_OK);
	body = json_pack("{s:O,s:s}", "details", details, "signature", sig_s);
	snprintf(path, sizeof(path), "/api/v1/milestones/%s", vacc_id);
	req(&r, "POST", path, t_clinic, body);
	assert_int_equal(r.status / 100, 4);
	assert_true(body_has(&r, "application/problem+json") || body_has(&r, "signature"));
	http_res_release(&r);
	json_decref(body);

	/* the provider's signature over other details: refused */
	assert_int_equal(phr_eip712_sign(sig, typed, prov->seckey), PHR_OK);
	assert_int_equal(phr_hex_encode(sig_s, sizeof(sig_s), sig, 65, true), PHR_OK);
	body = json_pack("{s:{s:s},s:s}", "details", "kind", "other", "signature", sig_s);
	req(&r, "POST", path, t_clinic, body);
	assert_int_equal(r.status / 100, 4);
	http_res_release(&r);
	json_decref(body);

	/* the provider's signature over these details: published (by whoever relays it) */
	body = json_pack("{s:O,s:s}", "details", details, "signature", sig_s);
	req(&r, "POST", path, t_clinic, body);
	assert_int_equal(r.status, 201);
	http_res_release(&r);
	json_decref(body);
	snprintf(path, sizeof(path), "/api/v1/milestones/%s/verify", vacc_id);
	req(&r, "GET", path, NULL, NULL);
	assert_true(json_is_true(json_object_get(r.json, "valid")));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/milestones/%s/details", vacc_id);
	req(&r, "GET", path, t_patient, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_equal(r.json, details));
	http_res_release(&r);
	json_decref(typed);
	json_decref(details);
}

static void test_shc_issue_verify(void **state)
{
	struct http_res r;
	char path[200];
	json_t *body, *patient, *jwks, *vb;
	char *jws;

	(void)state;
	req(&r, "GET", "/.well-known/jwks.json", NULL, NULL);
	assert_int_equal(r.status, 200);
	jwks = json_incref(r.json);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "kty")), "EC");
	assert_null(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "d"));
	http_res_release(&r);

	patient = json_pack("{s:s,s:[{s:s,s:[s]}],s:s}", "resourceType", "Patient", "name", "family",
			    "Anyperson", "given", "John", "birthDate", "1951-01-20");
	body = json_pack("{s:O}", "patient", patient);
	snprintf(path, sizeof(path), "/api/v1/records/%s/shc", vacc_id);
	/* no Patient: refused */
	req(&r, "POST", path, t_patient, NULL);
	assert_int_equal(r.status / 100, 4);
	http_res_release(&r);
	/* a lab result is not an Immunization */
	snprintf(path, sizeof(path), "/api/v1/records/%s/shc", lab_id);
	req(&r, "POST", path, t_patient, body);
	assert_int_equal(r.status / 100, 4);
	http_res_release(&r);
	/* a provider without a grant cannot have a card issued */
	snprintf(path, sizeof(path), "/api/v1/records/%s/shc", vacc_id);
	req(&r, "POST", path, t_clinic, body);
	assert_true(http_is_problem(&r, 403));
	http_res_release(&r);

	req(&r, "POST", path, t_patient, body);
	assert_int_equal(r.status, 201);
	jws = strdup(json_string_value(json_object_get(r.json, "jws")));
	assert_true(json_array_size(json_object_get(r.json, "qr")) >= 1);
	assert_int_equal(strncmp(json_string_value(json_array_get(json_object_get(r.json, "qr"), 0)), "shc:/", 5), 0);
	vb = json_pack("{s:O}", "qr", json_object_get(r.json, "qr"));
	http_res_release(&r);

	/* verifies: from the JWS and from the QR content */
	{
		json_t *b = json_pack("{s:s}", "jws", jws);
		req(&r, "POST", "/api/v1/shc/verify", NULL, b);
		json_decref(b);
	}
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "valid")));
	assert_true(body_has(&r, "Immunization"));
	http_res_release(&r);
	req(&r, "POST", "/api/v1/shc/verify", NULL, vb);
	assert_true(json_is_true(json_object_get(r.json, "valid")));
	http_res_release(&r);

	/* a tampered signature fails */
	{
		size_t n = strlen(jws);
		json_t *b;
		jws[n - 3] = jws[n - 3] == 'A' ? 'B' : 'A';
		b = json_pack("{s:s}", "jws", jws);
		req(&r, "POST", "/api/v1/shc/verify", NULL, b);
		json_decref(b);
		assert_int_equal(r.status, 200);
		assert_false(json_is_true(json_object_get(r.json, "valid")));
		http_res_release(&r);
	}

	/* the QR code as an image */
	snprintf(path, sizeof(path), "/api/v1/records/%s/shc?format=svg", vacc_id);
	req(&r, "POST", path, t_patient, body);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.ctype, "image/svg+xml");
	assert_true(body_has(&r, "<svg"));
	http_res_release(&r);

	free(jws);
	json_decref(vb);
	json_decref(jwks);
	json_decref(body);
	json_decref(patient);
}

/* Escrow holders answer cross-origin clients: a CORS preflight gets 204 (headers in docs/emergency.md). */
static void test_escrow_preflight(void **state)
{
	struct http_res r;

	(void)state;
	req(&r, "OPTIONS", "/api/v1/escrow", NULL, NULL);
	assert_int_equal(r.status, 204);
	http_res_release(&r);
	req(&r, "OPTIONS", "/api/v1/records/1", NULL, NULL);
	assert_int_not_equal(r.status, 204);
	http_res_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escrow_preflight),
		cmocka_unit_test(test_milestone_attest_and_verify),
		cmocka_unit_test(test_milestone_details_sealed),
		cmocka_unit_test(test_milestone_tampering_detected),
		cmocka_unit_test(test_milestone_own_signature),
		cmocka_unit_test(test_shc_issue_verify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
