/* Known answers from outside phr: RFC 7638 §3.1's thumbprint, and the SMART
 * Health Cards spec's example cards (tests/vectors/shc) verifying in phr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <phr/shc.h>

#include "shc_test_util.h"

#define VEC "tests/vectors/shc/"
#define EXAMPLE_KID "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"

static void test_rfc7638_thumbprint(void **state)
{
	(void)state;
	/* RFC 7638 §3.1: the RSA key of RFC 7517 appendix A.1 */
	json_t *jwk = json_pack(
		"{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
		"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
		"jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
		"qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksIN"
		"HaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		"e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
	assert_non_null(jwk);
	char kid[PHR_SHC_KID_BYTES];
	assert_int_equal(phr_shc_jwk_thumbprint(kid, jwk), PHR_OK);
	assert_string_equal(kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* a changed member changes the thumbprint; a missing one is an error */
	json_object_set_new(jwk, "e", json_string("AQAC"));
	assert_int_equal(phr_shc_jwk_thumbprint(kid, jwk), PHR_OK);
	assert_string_not_equal(kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_object_del(jwk, "n");
	assert_int_equal(phr_shc_jwk_thumbprint(kid, jwk), PHR_ERR_INVALID);
	json_decref(jwk);

	/* the spec issuer's EC key: its published kid is its thumbprint */
	json_t *jwks = shc_test_json(VEC "issuer-jwks.json");
	assert_non_null(jwks);
	assert_int_equal(phr_shc_jwk_thumbprint(kid, json_array_get(json_object_get(jwks, "keys"), 0)), PHR_OK);
	assert_string_equal(kid, EXAMPLE_KID);
	json_decref(jwks);
}

static void test_spec_example_00(void **state)
{
	(void)state;
	size_t n;
	char *jws = shc_test_read(VEC "example-00-d-jws.txt", &n);
	json_t *jwks = shc_test_json(VEC "issuer-jwks.json");
	assert_non_null(jws);
	assert_non_null(jwks);
	struct phr_shc_verify_opts o = { .jwks = jwks };
	json_t *payload = NULL;
	char reason[200];
	int rc = phr_shc_card_verify(&payload, reason, sizeof(reason), jws, n, &o);
	if (rc != PHR_OK)
		fail_msg("spec example rejected: %s", reason);
	assert_string_equal(json_string_value(json_object_get(payload, "iss")), "https://smarthealth.cards/examples/issuer");
	json_t *bundle = json_object_get(json_object_get(json_object_get(payload, "vc"), "credentialSubject"), "fhirBundle");
	json_t *e0 = json_array_get(json_object_get(bundle, "entry"), 0);
	assert_string_equal(json_string_value(json_object_get(e0, "fullUrl")), "resource:0");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e0, "resource"), "resourceType")), "Patient");
	json_decref(payload);

	/* the same card with the expected issuer and with a wrong one */
	o.iss = "https://smarthealth.cards/examples/issuer";
	assert_int_equal(phr_shc_card_verify(NULL, NULL, 0, jws, n, &o), PHR_OK);
	o.iss = "https://example.org/issuer";
	assert_int_equal(phr_shc_card_verify(NULL, NULL, 0, jws, n, &o), PHR_ERR_INVALID);
	o.iss = NULL;
	/* before its nbf (2021-04-09) it is not yet valid */
	o.now = 1600000000;
	assert_int_equal(phr_shc_card_verify(NULL, NULL, 0, jws, n, &o), PHR_ERR_STATE);
	o.now = 0;

	/* one changed character in each part breaks it */
	for (size_t i = 0; i < n; i += 37) {
		char *t = phr_strdup(jws);
		if (t[i] == '.') {
			phr_free(t);
			continue;
		}
		t[i] = t[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(phr_shc_card_verify(NULL, NULL, 0, t, n, &o), PHR_OK);
		phr_free(t);
	}

	/* the .smart-health-card file holds the same JWS */
	size_t fn;
	char *file = shc_test_read(VEC "example-00-e-file.smart-health-card", &fn);
	json_t *vcs;
	assert_int_equal(phr_shc_file_parse(&vcs, file, fn), PHR_OK);
	assert_int_equal(json_array_size(vcs), 1);
	assert_string_equal(json_string_value(json_array_get(vcs, 0)), jws);
	json_decref(vcs);
	phr_free(file);

	/* the QR numeric value: decodes to the JWS, and phr encodes the JWS to it */
	size_t qn;
	char *qr = shc_test_read(VEC "example-00-f-qr-code-numeric-value-0.txt", &qn);
	assert_non_null(qr);
	struct phr_buf b;
	phr_buf_init(&b, 0);
	const char *chunks[1] = { qr };
	assert_int_equal(phr_shc_numeric_decode(&b, chunks, 1), PHR_OK);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, jws, n);
	phr_buf_reset(&b);
	size_t nc;
	assert_int_equal(phr_shc_numeric_encode(&b, &nc, jws, n), PHR_OK);
	assert_int_equal(nc, 1);
	assert_int_equal(b.len, qn);
	assert_memory_equal(b.data, qr, qn);
	phr_buf_release(&b);
	phr_free(qr);
	phr_free(jws);
	json_decref(jwks);
}

static void test_spec_example_03_revoked(void **state)
{
	(void)state;
	size_t n;
	char *jws = shc_test_read(VEC "example-03-d-jws.txt", &n);
	json_t *jwks = shc_test_json(VEC "issuer-jwks.json");
	json_t *crl = shc_test_json(VEC "crl-" EXAMPLE_KID ".json");
	assert_non_null(jws);
	assert_non_null(crl);
	/* issued 2022-11-15 with an exp a year later */
	struct phr_shc_verify_opts o = { .jwks = jwks, .now = 1668545476 };
	char reason[200];
	int rc = phr_shc_card_verify(NULL, reason, sizeof(reason), jws, n, &o);
	if (rc != PHR_OK)
		fail_msg("spec example 03 rejected: %s", reason);
	/* the spec's CRL lists its rid with the issuance second */
	o.crl = crl;
	assert_int_equal(phr_shc_card_verify(NULL, reason, sizeof(reason), jws, n, &o), PHR_ERR_FORBIDDEN);
	assert_non_null(strstr(reason, "revoked"));
	/* after its exp it has expired */
	o.crl = NULL;
	o.now = 1700081476;
	assert_int_equal(phr_shc_card_verify(NULL, NULL, 0, jws, n, &o), PHR_ERR_EXPIRED);
	json_decref(crl);
	json_decref(jwks);
	phr_free(jws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7638_thumbprint),
		cmocka_unit_test(test_spec_example_00),
		cmocka_unit_test(test_spec_example_03_revoked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
