/* shc unit tests: base64url, keys and ES256, JWS, minimised Bundles, issue ->
 * verify round trips and every way a card must fail (tampered header,
 * payload or signature, wrong key, expired, not yet valid, revoked), the
 * numeric encoding with chunking, QR rendering and the card file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <qrencode.h>
#include <sodium.h>
#include <zlib.h>

#include <phr/shc.h>

#include "shc_test_util.h"

#define ISS "https://provider.example.org/phr"
#define NBF 1700000000

static void test_b64url(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *enc;
	} v[] = { { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg" },
		  { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" } };
	struct phr_buf b;
	phr_buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		phr_buf_reset(&b);
		assert_int_equal(phr_shc_b64url_encode(&b, (const uint8_t *)v[i].raw, strlen(v[i].raw)), PHR_OK);
		assert_int_equal(b.len, strlen(v[i].enc));
		assert_memory_equal(b.data ? (char *)b.data : "", v[i].enc, b.len);
		phr_buf_reset(&b);
		assert_int_equal(phr_shc_b64url_decode(&b, v[i].enc, strlen(v[i].enc)), PHR_OK);
		assert_int_equal(b.len, strlen(v[i].raw));
		if (b.len)
			assert_memory_equal(b.data, v[i].raw, b.len);
	}
	/* padding, standard alphabet, a lone character, non-zero spare bits */
	static const char *const bad[] = { "Zg==", "+/8", "Z", "Zh", "Zm9=", "Zm 9v" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		phr_buf_reset(&b);
		assert_int_equal(phr_shc_b64url_decode(&b, bad[i], strlen(bad[i])), PHR_ERR_PARSE);
	}
	phr_buf_release(&b);
}

static void test_keys(void **state)
{
	(void)state;
	struct phr_shc_key *k, *pub, *priv;
	assert_int_equal(phr_shc_key_generate(&k), PHR_OK);
	assert_true(phr_shc_key_has_private(k));
	assert_int_equal(strlen(phr_shc_key_kid(k)), 43);

	json_t *jwk, *jwk_priv;
	assert_int_equal(phr_shc_key_to_jwk(&jwk, k, false), PHR_OK);
	assert_null(json_object_get(jwk, "d"));
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), phr_shc_key_kid(k));
	char kid[PHR_SHC_KID_BYTES];
	assert_int_equal(phr_shc_jwk_thumbprint(kid, jwk), PHR_OK);
	assert_string_equal(kid, phr_shc_key_kid(k));
	assert_int_equal(phr_shc_key_to_jwk(&jwk_priv, k, true), PHR_OK);
	assert_non_null(json_object_get(jwk_priv, "d"));

	assert_int_equal(phr_shc_key_from_jwk(&pub, jwk), PHR_OK);
	assert_false(phr_shc_key_has_private(pub));
	assert_int_equal(phr_shc_key_from_jwk(&priv, jwk_priv), PHR_OK);
	assert_string_equal(phr_shc_key_kid(priv), phr_shc_key_kid(k));
	json_t *tmp;
	struct phr_shc_key *tk = NULL;
	assert_int_equal(phr_shc_key_to_jwk(&tmp, pub, true), PHR_ERR_STATE);

	/* sign with the reloaded private key, verify with the public one */
	uint8_t sig[PHR_SHC_SIG_BYTES], sig2[PHR_SHC_SIG_BYTES];
	const uint8_t msg[] = "header.payload";
	assert_int_equal(phr_shc_es256_sign(sig, priv, msg, sizeof(msg) - 1), PHR_OK);
	assert_int_equal(phr_shc_es256_verify(pub, sig, msg, sizeof(msg) - 1), PHR_OK);
	assert_int_equal(phr_shc_es256_sign(sig2, k, msg, sizeof(msg) - 1), PHR_OK);
	assert_memory_not_equal(sig, sig2, sizeof(sig)); /* fresh nonces */
	assert_int_equal(phr_shc_es256_verify(pub, sig2, msg, sizeof(msg) - 1), PHR_OK);
	assert_int_equal(phr_shc_es256_verify(pub, sig, msg, sizeof(msg) - 2), PHR_ERR_SIGNATURE);
	sig[10] ^= 1;
	assert_int_equal(phr_shc_es256_verify(pub, sig, msg, sizeof(msg) - 1), PHR_ERR_SIGNATURE);
	memset(sig, 0, sizeof(sig)); /* r = s = 0 */
	assert_int_equal(phr_shc_es256_verify(pub, sig, msg, sizeof(msg) - 1), PHR_ERR_SIGNATURE);
	assert_int_equal(phr_shc_es256_sign(sig, pub, msg, 1), PHR_ERR_STATE);

	/* bad JWKs: wrong curve, point off the curve, d not matching x/y */
	json_t *bad = json_deep_copy(jwk);
	json_object_set_new(bad, "crv", json_string("P-384"));
	assert_int_equal(phr_shc_key_from_jwk(&tk, bad), PHR_ERR_UNSUPPORTED);
	json_decref(bad);
	bad = json_deep_copy(jwk);
	json_object_set(bad, "y", json_object_get(jwk, "x"));
	assert_int_equal(phr_shc_key_from_jwk(&tk, bad), PHR_ERR_INVALID);
	json_decref(bad);
	struct phr_shc_key *other;
	json_t *other_priv;
	assert_int_equal(phr_shc_key_generate(&other), PHR_OK);
	assert_int_equal(phr_shc_key_to_jwk(&other_priv, other, true), PHR_OK);
	bad = json_deep_copy(jwk);
	json_object_set(bad, "d", json_object_get(other_priv, "d"));
	assert_int_equal(phr_shc_key_from_jwk(&tk, bad), PHR_ERR_INVALID);
	json_decref(bad);
	bad = json_deep_copy(jwk);
	json_object_set_new(bad, "x", json_string("AAAA"));
	assert_int_equal(phr_shc_key_from_jwk(&tk, bad), PHR_ERR_INVALID);
	json_decref(bad);

	/* JWKS */
	const struct phr_shc_key *both[2] = { k, other };
	json_t *jwks;
	assert_int_equal(phr_shc_jwks_build(&jwks, both, 2), PHR_OK);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
	assert_null(json_object_get(json_array_get(json_object_get(jwks, "keys"), 1), "d"));
	json_decref(jwks);

	json_decref(other_priv);
	phr_shc_key_free(other);
	json_decref(jwk);
	json_decref(jwk_priv);
	phr_shc_key_free(pub);
	phr_shc_key_free(priv);
	phr_shc_key_free(k);
	phr_shc_key_free(NULL);
}

static json_t *patient(void)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:[{s:s, s:[s]}], s:s}", "resourceType", "Patient", "id",
			 "pat-1", "meta", "versionId", "3", "text", "status", "generated", "div", "<div>Jane</div>",
			 "name", "family", "Doe", "given", "Jane", "birthDate", "1980-01-02");
}

static json_t *immunization(void)
{
	return json_pack("{s:s, s:s, s:s, s:{s:[{s:s, s:s, s:s}], s:s}, s:{s:s, s:s}, s:s, s:[{s:{s:s, s:s}}], s:s}",
			 "resourceType", "Immunization", "id", "imm-9", "status", "completed", "vaccineCode", "coding",
			 "system", "http://hl7.org/fhir/sid/cvx", "code", "207", "display", "COVID-19 mRNA", "text",
			 "Moderna", "patient", "reference", "Patient/pat-1", "display", "Jane Doe",
			 "occurrenceDateTime", "2021-01-01", "performer", "actor", "reference",
			 "http://example.org/fhir/Patient/pat-1", "display", "ABC", "lotNumber", "0000001");
}

static json_t *make_bundle(void)
{
	json_t *p = patient(), *i = immunization(), *b = NULL;
	const json_t *r[2] = { p, i };
	assert_int_equal(phr_shc_bundle_minimise(&b, r, 2), PHR_OK);
	json_decref(p);
	json_decref(i);
	return b;
}

static void test_bundle_minimise(void **state)
{
	(void)state;
	json_t *b = make_bundle();
	assert_string_equal(json_string_value(json_object_get(b, "type")), "collection");
	json_t *e = json_object_get(b, "entry");
	assert_int_equal(json_array_size(e), 2);
	json_t *p = json_object_get(json_array_get(e, 0), "resource");
	json_t *i = json_object_get(json_array_get(e, 1), "resource");
	assert_string_equal(json_string_value(json_object_get(json_array_get(e, 1), "fullUrl")), "resource:1");
	assert_null(json_object_get(p, "id"));
	assert_null(json_object_get(p, "meta"));
	assert_null(json_object_get(p, "text"));
	assert_string_equal(json_string_value(json_object_get(p, "birthDate")), "1980-01-02");
	assert_null(json_object_get(i, "id"));
	json_t *vc = json_object_get(i, "vaccineCode");
	assert_null(json_object_get(vc, "text"));
	assert_null(json_object_get(json_array_get(json_object_get(vc, "coding"), 0), "display"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(vc, "coding"), 0), "code")), "207");
	assert_string_equal(json_string_value(json_object_get(json_object_get(i, "patient"), "reference")), "resource:0");
	json_t *actor = json_object_get(json_array_get(json_object_get(i, "performer"), 0), "actor");
	assert_string_equal(json_string_value(json_object_get(actor, "reference")), "resource:0");
	json_decref(b);

	json_t *notres = json_pack("{s:s}", "id", "x");
	const json_t *r[1] = { notres };
	json_t *out;
	assert_int_equal(phr_shc_bundle_minimise(&out, r, 1), PHR_ERR_INVALID);
	json_decref(notres);
}

struct fixture {
	struct phr_shc_key *key, *other;
	json_t *jwks, *other_jwks, *bundle;
};

static int setup(void **state)
{
	static struct fixture f;
	if (phr_shc_key_generate(&f.key) || phr_shc_key_generate(&f.other))
		return -1;
	const struct phr_shc_key *a[1] = { f.key }, *b[1] = { f.other };
	if (phr_shc_jwks_build(&f.jwks, a, 1) || phr_shc_jwks_build(&f.other_jwks, b, 1))
		return -1;
	f.bundle = make_bundle();
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	phr_shc_key_free(f->key);
	phr_shc_key_free(f->other);
	json_decref(f->jwks);
	json_decref(f->other_jwks);
	json_decref(f->bundle);
	return 0;
}

static char *issue(struct fixture *f, const struct phr_shc_key *k, int64_t exp, const char *rid)
{
	struct phr_shc_issue_opts o = { .iss = ISS, .nbf = NBF, .exp = exp, .rid = rid };
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_shc_card_issue(&b, k, &o, f->bundle), PHR_OK);
	return phr_buf_detach(&b, NULL);
}

static int verify(struct fixture *f, const char *jws, const json_t *crl, int64_t now)
{
	struct phr_shc_verify_opts o = { .jwks = f->jwks, .crl = crl, .now = now ? now : NBF + 10 };
	char reason[200];
	int rc = phr_shc_card_verify(NULL, reason, sizeof(reason), jws, strlen(jws), &o);
	assert_true(rc == PHR_OK ? reason[0] == '\0' : reason[0] != '\0');
	return rc;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	char *jws = issue(f, f->key, 0, NULL);
	json_t *hdr, *payload;
	assert_int_equal(phr_shc_jws_decode(&hdr, &payload, NULL, jws, strlen(jws)), PHR_OK);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(hdr, "zip")), "DEF");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), phr_shc_key_kid(f->key));
	assert_int_equal(json_integer_value(json_object_get(payload, "nbf")), NBF);
	json_t *types = json_object_get(json_object_get(payload, "vc"), "type");
	assert_string_equal(json_string_value(json_array_get(types, 0)), PHR_SHC_TYPE_HEALTH_CARD);
	assert_string_equal(json_string_value(json_array_get(types, 1)), PHR_SHC_TYPE_IMMUNIZATION);
	json_t *bundle = json_object_get(json_object_get(json_object_get(payload, "vc"), "credentialSubject"), "fhirBundle");
	assert_true(json_equal(bundle, f->bundle));
	json_decref(hdr);
	json_decref(payload);

	struct phr_shc_verify_opts o = { .jwks = f->jwks, .now = NBF, .iss = ISS };
	json_t *out = NULL;
	assert_int_equal(phr_shc_card_verify(&out, NULL, 0, jws, strlen(jws), &o), PHR_OK);
	assert_string_equal(json_string_value(json_object_get(out, "iss")), ISS);
	json_decref(out);
	/* the payload is minified: the inflated text has no whitespace outside strings */
	phr_free(jws);
}

/* Rebuilds a JWS from parts: header JSON, payload JSON, signed by @p k. */
static char *forge(const char *hdr_json, const char *payload_json, const struct phr_shc_key *k)
{
	struct phr_buf b, z;
	phr_buf_init(&b, 0);
	phr_buf_init(&z, 0);
	assert_int_equal(phr_shc_b64url_encode(&b, (const uint8_t *)hdr_json, strlen(hdr_json)), PHR_OK);
	assert_int_equal(phr_buf_append_byte(&b, '.'), PHR_OK);
	uLongf zl = compressBound(strlen(payload_json)) + 64;
	assert_int_equal(phr_buf_reserve(&z, zl), PHR_OK);
	z_stream s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = (Bytef *)(uintptr_t)payload_json;
	s.avail_in = (uInt)strlen(payload_json);
	s.next_out = z.data;
	s.avail_out = (uInt)zl;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	z.len = zl - s.avail_out;
	deflateEnd(&s);
	assert_int_equal(phr_shc_b64url_encode(&b, z.data, z.len), PHR_OK);
	uint8_t sig[PHR_SHC_SIG_BYTES];
	assert_int_equal(phr_shc_es256_sign(sig, k, b.data, b.len), PHR_OK);
	assert_int_equal(phr_buf_append_byte(&b, '.'), PHR_OK);
	assert_int_equal(phr_shc_b64url_encode(&b, sig, sizeof(sig)), PHR_OK);
	phr_buf_release(&z);
	return phr_buf_detach(&b, NULL);
}

static void test_tampered(void **state)
{
	struct fixture *f = *state;
	char *jws = issue(f, f->key, 0, NULL);
	size_t n = strlen(jws);
	const char *d1 = strchr(jws, '.'), *d2 = strrchr(jws, '.');
	assert_int_equal(verify(f, jws, NULL, 0), PHR_OK);

	/* one character changed in the header, the payload and the signature */
	size_t at[3] = { 5, (size_t)(d1 - jws) + 20, (size_t)(d2 - jws) + 10 };
	for (int i = 0; i < 3; i++) {
		char *t = phr_strdup(jws);
		t[at[i]] = t[at[i]] == 'Q' ? 'R' : 'Q';
		assert_int_not_equal(verify(f, t, NULL, 0), PHR_OK);
		phr_free(t);
	}
	/* the signature's two halves swapped: still 64 bytes, must fail */
	{
		json_t *h;
		uint8_t sig[64], sw[64];
		assert_int_equal(phr_shc_jws_decode(&h, NULL, sig, jws, n), PHR_OK);
		json_decref(h);
		memcpy(sw, sig + 32, 32);
		memcpy(sw + 32, sig, 32);
		struct phr_buf b;
		phr_buf_init(&b, 0);
		assert_int_equal(phr_buf_append(&b, jws, (size_t)(d2 - jws) + 1), PHR_OK);
		assert_int_equal(phr_shc_b64url_encode(&b, sw, 64), PHR_OK);
		assert_int_equal(verify(f, (char *)b.data, NULL, 0), PHR_ERR_SIGNATURE);
		phr_buf_release(&b);
	}
	/* parts dropped, extra part, truncated */
	char *t = phr_strdup(jws);
	t[d2 - jws] = '\0';
	assert_int_equal(verify(f, t, NULL, 0), PHR_ERR_PARSE);
	phr_free(t);
	t = phr_strdup(jws);
	t[n - 5] = '\0';
	assert_int_not_equal(verify(f, t, NULL, 0), PHR_OK);
	phr_free(t);

	/* a payload changed and re-signed by another key under this key's kid */
	char hdr[200];
	snprintf(hdr, sizeof(hdr), "{\"zip\":\"DEF\",\"alg\":\"ES256\",\"kid\":\"%s\"}", phr_shc_key_kid(f->key));
	char payload[300];
	snprintf(payload, sizeof(payload),
		 "{\"iss\":\"%s\",\"nbf\":%d,\"vc\":{\"type\":[\"%s\"],\"credentialSubject\":{\"fhirVersion\":\"4.0.1\","
		 "\"fhirBundle\":{\"resourceType\":\"Bundle\"}}}}",
		 ISS, NBF, PHR_SHC_TYPE_HEALTH_CARD);
	char *good = forge(hdr, payload, f->key);
	assert_int_equal(verify(f, good, NULL, 0), PHR_OK);
	char *wrong = forge(hdr, payload, f->other);
	assert_int_equal(verify(f, wrong, NULL, 0), PHR_ERR_SIGNATURE);
	phr_free(good);
	phr_free(wrong);
	/* header alg none / HS256, no zip, crit */
	static const char *const bad_hdr[] = {
		"{\"zip\":\"DEF\",\"alg\":\"none\",\"kid\":\"x\"}",
		"{\"zip\":\"DEF\",\"alg\":\"HS256\",\"kid\":\"x\"}",
		"{\"alg\":\"ES256\",\"kid\":\"x\"}",
		"{\"zip\":\"DEF\",\"alg\":\"ES256\",\"kid\":\"x\",\"crit\":[\"b64\"]}",
		"[1]",
	};
	for (size_t i = 0; i < sizeof(bad_hdr) / sizeof(bad_hdr[0]); i++) {
		char *x = forge(bad_hdr[i], payload, f->key);
		int rc = verify(f, x, NULL, 0);
		assert_true(rc == PHR_ERR_UNSUPPORTED || rc == PHR_ERR_PARSE);
		phr_free(x);
	}
	/* a payload that is not a card */
	char *x = forge(hdr, "{\"iss\":\"a\",\"nbf\":1}", f->key);
	assert_int_equal(verify(f, x, NULL, 0), PHR_ERR_INVALID);
	phr_free(x);
	phr_free(jws);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	char *jws = issue(f, f->key, 0, NULL);
	/* the other issuer's JWKS has no key with this kid */
	struct phr_shc_verify_opts o = { .jwks = f->other_jwks, .now = NBF };
	char reason[200];
	assert_int_equal(phr_shc_card_verify(NULL, reason, sizeof(reason), jws, strlen(jws), &o), PHR_ERR_NOT_FOUND);
	/* a JWKS that files another key under this kid */
	json_t *liar = json_deep_copy(f->other_jwks);
	json_object_set_new(json_array_get(json_object_get(liar, "keys"), 0), "kid", json_string(phr_shc_key_kid(f->key)));
	o.jwks = liar;
	assert_int_equal(phr_shc_card_verify(NULL, reason, sizeof(reason), jws, strlen(jws), &o), PHR_ERR_INVALID);
	json_decref(liar);
	/* a card signed by the other key verifies only with its JWKS */
	char *jws2 = issue(f, f->other, 0, NULL);
	assert_int_equal(verify(f, jws2, NULL, 0), PHR_ERR_NOT_FOUND);
	o.jwks = f->other_jwks;
	assert_int_equal(phr_shc_card_verify(NULL, NULL, 0, jws2, strlen(jws2), &o), PHR_OK);
	phr_free(jws2);
	phr_free(jws);
}

static void test_time(void **state)
{
	struct fixture *f = *state;
	char *jws = issue(f, f->key, NBF + 3600, NULL);
	assert_int_equal(verify(f, jws, NULL, NBF + 3599), PHR_OK);
	assert_int_equal(verify(f, jws, NULL, NBF + 3600), PHR_ERR_EXPIRED);
	assert_int_equal(verify(f, jws, NULL, NBF - 1), PHR_ERR_STATE);
	phr_free(jws);
	struct phr_shc_issue_opts bad = { .iss = ISS, .nbf = NBF, .exp = NBF - 1 };
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_shc_card_issue(&b, f->key, &bad, f->bundle), PHR_ERR_INVALID);
	bad.exp = 0;
	bad.rid = "has space";
	assert_int_equal(phr_shc_card_issue(&b, f->key, &bad, f->bundle), PHR_ERR_INVALID);
	bad.rid = NULL;
	bad.iss = ISS "/";
	assert_int_equal(phr_shc_card_issue(&b, f->key, &bad, f->bundle), PHR_ERR_INVALID);
	assert_int_equal(b.len, 0);
	bad.iss = NULL;
	assert_int_equal(phr_shc_card_issue(&b, f->key, &bad, f->bundle), PHR_ERR_INVALID);
	phr_buf_release(&b);
}

static void test_revoked(void **state)
{
	struct fixture *f = *state;
	char *jws = issue(f, f->key, 0, "r1d-abc_42");
	const char *kid = phr_shc_key_kid(f->key);
	json_t *crl = json_pack("{s:s, s:s, s:i, s:[s, s]}", "kid", kid, "method", "rid", "ctr", 2, "rids", "other",
				"r1d-abc_42");
	assert_int_equal(verify(f, jws, NULL, 0), PHR_OK);
	assert_int_equal(verify(f, jws, crl, 0), PHR_ERR_FORBIDDEN);
	/* the same list under another kid does not apply */
	json_t *other = json_deep_copy(crl);
	json_object_set_new(other, "kid", json_string("someone-else"));
	assert_int_equal(verify(f, jws, other, 0), PHR_OK);
	/* in an array of lists */
	json_t *arr = json_pack("[O, O]", other, crl);
	assert_int_equal(verify(f, jws, arr, 0), PHR_ERR_FORBIDDEN);
	/* a timestamp: cards issued at or before it are revoked, later ones not */
	char entry[64];
	snprintf(entry, sizeof(entry), "r1d-abc_42.%d", NBF);
	json_array_set_new(json_object_get(crl, "rids"), 1, json_string(entry));
	assert_int_equal(verify(f, jws, crl, 0), PHR_ERR_FORBIDDEN);
	snprintf(entry, sizeof(entry), "r1d-abc_42.%d", NBF - 1);
	json_array_set_new(json_object_get(crl, "rids"), 1, json_string(entry));
	assert_int_equal(verify(f, jws, crl, 0), PHR_OK);
	/* a prefix of the rid is not the rid */
	json_array_set_new(json_object_get(crl, "rids"), 1, json_string("r1d-abc"));
	assert_int_equal(verify(f, jws, crl, 0), PHR_OK);
	json_decref(arr);
	json_decref(other);
	json_decref(crl);
	phr_free(jws);
}

static void test_numeric(void **state)
{
	(void)state;
	struct phr_buf b, back;
	phr_buf_init(&b, 0);
	phr_buf_init(&back, 0);
	size_t nc;
	/* '-' is 00, '.' 01, 'z' 77 */
	assert_int_equal(phr_shc_numeric_encode(&b, &nc, "-.Az", 4), PHR_OK);
	assert_string_equal((char *)b.data, "shc:/00012077");
	phr_buf_reset(&b);
	assert_int_equal(phr_shc_numeric_encode(&b, &nc, "a b", 3), PHR_ERR_INVALID);
	static const char *const bad[] = { "shc:/0", "shc:/78", "shc:/0a", "shc:0000", "shc:/1/2/00", "shc:/0/1/00",
					   "shc:/2/1/00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *one[1] = { bad[i] };
		phr_buf_reset(&back);
		assert_int_equal(phr_shc_numeric_decode(&back, one, 1), PHR_ERR_PARSE);
	}
	/* a long JWS is chunked, balanced, and reassembles in any order */
	char big[3000];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('-' + (i * 7) % 78);
	big[sizeof(big) - 1] = '\0';
	phr_buf_reset(&b);
	assert_int_equal(phr_shc_numeric_encode(&b, &nc, big, strlen(big)), PHR_OK);
	assert_int_equal(nc, 3);
	char *lines[3];
	char *s = (char *)b.data;
	for (size_t i = 0; i < 3; i++) {
		lines[i] = s;
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = '\0', s = nl + 1;
	}
	assert_memory_equal(lines[0], "shc:/1/3/", 9);
	assert_memory_equal(lines[2], "shc:/3/3/", 9);
	assert_true(strlen(lines[0]) - 9 <= 2 * PHR_SHC_QR_MAX_JWS);
	const char *shuffled[3] = { lines[2], lines[0], lines[1] };
	assert_int_equal(phr_shc_numeric_decode(&back, shuffled, 3), PHR_OK);
	assert_int_equal(back.len, strlen(big));
	assert_memory_equal(back.data, big, back.len);
	const char *missing[2] = { lines[0], lines[1] };
	phr_buf_reset(&back);
	assert_int_equal(phr_shc_numeric_decode(&back, missing, 2), PHR_ERR_PARSE);
	const char *dup[3] = { lines[0], lines[0], lines[1] };
	phr_buf_reset(&back);
	assert_int_equal(phr_shc_numeric_decode(&back, dup, 3), PHR_ERR_PARSE);
	/* outputs stay untouched on failure: a chunk that breaks late leaves the
	 * earlier chunks' text out */
	phr_buf_reset(&back);
	assert_int_equal(phr_buf_append_str(&back, "kept"), PHR_OK);
	char *late = phr_strdup(lines[2]);
	late[strlen(late) - 1] = 'x';
	const char *broken[3] = { lines[0], lines[1], late };
	assert_int_equal(phr_shc_numeric_decode(&back, broken, 3), PHR_ERR_PARSE);
	assert_int_equal(back.len, 4);
	assert_string_equal((char *)back.data, "kept");
	assert_int_equal(phr_shc_b64url_decode(&back, "Zm9vYmF!", 8), PHR_ERR_PARSE);
	assert_string_equal((char *)back.data, "kept");
	phr_free(late);
	phr_buf_release(&b);
	phr_buf_release(&back);
}

static void test_qr(void **state)
{
	struct fixture *f = *state;
	char *jws = issue(f, f->key, 0, NULL);
	struct phr_buf num, png, svg;
	phr_buf_init(&num, 0);
	phr_buf_init(&png, 0);
	phr_buf_init(&svg, 0);
	size_t nc;
	assert_int_equal(phr_shc_numeric_encode(&num, &nc, jws, strlen(jws)), PHR_OK);
	assert_int_equal(nc, 1);
	assert_int_equal(phr_shc_qr_render(&png, (char *)num.data, num.len, PHR_SHC_QR_PNG, 2), PHR_OK);
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	assert_memory_equal(png.data, sig, 8);
	assert_memory_equal(png.data + 12, "IHDR", 4);
	uint32_t w = (uint32_t)png.data[16] << 24 | (uint32_t)png.data[17] << 16 | (uint32_t)png.data[18] << 8 | png.data[19];
	/* side = (17 + 4 * version + 8) * scale, version 1..40 */
	assert_int_equal((w / 2 - 25) % 4, 0);
	assert_true(w / 2 >= 29 && w / 2 <= 185);
	/* IDAT inflates to side rows of 1 + side bytes; the top-left finder
	 * pattern is dark at module (4,4) and the quiet zone white */
	uint32_t idat_len = (uint32_t)png.data[33] << 24 | (uint32_t)png.data[34] << 16 | (uint32_t)png.data[35] << 8 | png.data[36];
	assert_memory_equal(png.data + 37, "IDAT", 4);
	uLongf rawlen = (uLongf)(w + 1) * w;
	uint8_t *raw = malloc(rawlen);
	assert_int_equal(uncompress(raw, &rawlen, png.data + 41, idat_len), Z_OK);
	assert_int_equal(rawlen, (uLongf)(w + 1) * w);
	assert_int_equal(raw[0 * (w + 1) + 1], 255);
	assert_int_equal(raw[(4 * 2) * (w + 1) + 1 + 4 * 2], 0);
	free(raw);
	assert_memory_equal(png.data + png.len - 8, "IEND", 4);

	assert_int_equal(phr_shc_qr_render(&svg, (char *)num.data, num.len, PHR_SHC_QR_SVG, 0), PHR_OK);
	assert_non_null(strstr((char *)svg.data, "<svg"));
	assert_non_null(strstr((char *)svg.data, "M4 4h1v1h-1z")); /* finder pattern corner */
	phr_buf_reset(&png);
	assert_int_equal(phr_shc_qr_render(&png, "shc:/12a4", 9, PHR_SHC_QR_PNG, 2), PHR_ERR_PARSE);
	assert_int_equal(phr_shc_qr_render(&png, "http://x", 8, PHR_SHC_QR_PNG, 2), PHR_ERR_PARSE);
	assert_int_equal(phr_shc_qr_render(&png, (char *)num.data, num.len, PHR_SHC_QR_PNG, 0), PHR_ERR_INVALID);
	phr_buf_release(&num);
	phr_buf_release(&png);
	phr_buf_release(&svg);
	phr_free(jws);
}

/* The PNG and SVG show exactly libqrencode's module matrix for the same two
 * segments (byte "shc:/", numeric digits), with a 4-module quiet zone. */
static void test_qr_matrix(void **state)
{
	(void)state;
	const char *qr = "shc:/56762909524320603460292437404460312229595326546034602925407728043360287028647167452228092861333145643765314159064022030645045908564355034142454136403706366541713724123638030437562204673740753232392543344332605736010641293361123274243503696800275229652620773944655229270734222062556964582763756505595508556436";
	size_t len = strlen(qr);
	QRinput *in = QRinput_new2(0, QR_ECLEVEL_L);
	assert_non_null(in);
	assert_int_equal(QRinput_append(in, QR_MODE_8, 5, (const unsigned char *)qr), 0);
	assert_int_equal(QRinput_append(in, QR_MODE_NUM, (int)len - 5, (const unsigned char *)qr + 5), 0);
	QRcode *code = QRcode_encodeInput(in);
	assert_non_null(code);
	const unsigned scale = 3;
	size_t side = (size_t)(code->width + 8) * scale;

	struct phr_buf png, svg;
	phr_buf_init(&png, 0);
	phr_buf_init(&svg, 0);
	assert_int_equal(phr_shc_qr_render(&png, qr, len, PHR_SHC_QR_PNG, scale), PHR_OK);
	assert_int_equal(phr_shc_qr_render(&svg, qr, len, PHR_SHC_QR_SVG, 0), PHR_OK);
	uint32_t idat_len = (uint32_t)png.data[33] << 24 | (uint32_t)png.data[34] << 16 | (uint32_t)png.data[35] << 8 | png.data[36];
	uLongf rawlen = (uLongf)(side + 1) * side;
	uint8_t *raw = malloc(rawlen);
	assert_non_null(raw);
	assert_int_equal(uncompress(raw, &rawlen, png.data + 41, idat_len), Z_OK);
	assert_int_equal(rawlen, (uLongf)(side + 1) * side);
	size_t dark_modules = 0;
	for (size_t py = 0; py < side; py++) {
		assert_int_equal(raw[py * (side + 1)], 0); /* filter: none */
		for (size_t px = 0; px < side; px++) {
			long mx = (long)(px / scale) - 4, my = (long)(py / scale) - 4;
			bool want = mx >= 0 && my >= 0 && mx < code->width && my < code->width &&
				    (code->data[my * code->width + mx] & 1);
			assert_int_equal(raw[py * (side + 1) + 1 + px], want ? 0 : 255);
		}
	}
	for (int my = 0; my < code->width; my++)
		for (int mx = 0; mx < code->width; mx++)
			if (code->data[my * code->width + mx] & 1) {
				char cell[32];
				snprintf(cell, sizeof(cell), "M%d %dh1v1h-1z", mx + 4, my + 4);
				assert_non_null(strstr((char *)svg.data, cell));
				dark_modules++;
			}
	/* and nothing else is drawn */
	size_t cells = 0;
	for (const char *p = (char *)svg.data; (p = strstr(p, "h1v1h-1z")); p++)
		cells++;
	assert_int_equal(cells, dark_modules);
	free(raw);
	phr_buf_release(&png);
	phr_buf_release(&svg);
	QRcode_free(code);
	QRinput_free(in);
}

static void test_file(void **state)
{
	struct fixture *f = *state;
	char *a = issue(f, f->key, 0, NULL), *b2 = issue(f, f->key, 0, "x");
	const char *v[2] = { a, b2 };
	struct phr_buf b;
	phr_buf_init(&b, 0);
	assert_int_equal(phr_shc_file_encode(&b, v, 2), PHR_OK);
	json_t *vcs;
	assert_int_equal(phr_shc_file_parse(&vcs, (char *)b.data, b.len), PHR_OK);
	assert_int_equal(json_array_size(vcs), 2);
	assert_string_equal(json_string_value(json_array_get(vcs, 1)), b2);
	json_decref(vcs);
	assert_int_equal(phr_shc_file_parse(&vcs, "{\"verifiableCredential\":[1]}", 28), PHR_ERR_INVALID);
	assert_int_equal(phr_shc_file_parse(&vcs, "{\"verifiableCredential\":[]}", 27), PHR_ERR_INVALID);
	assert_int_equal(phr_shc_file_parse(&vcs, "{", 1), PHR_ERR_PARSE);
	phr_buf_release(&b);
	phr_free(a);
	phr_free(b2);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bundle_minimise),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_qr),
		cmocka_unit_test(test_qr_matrix),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
