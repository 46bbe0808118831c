/*
 * Fuzz target: SMART Health Card parsing and verification. The input is tried
 * as a JWS (verified against the spec example issuer's JWKS, with a CRL), as a
 * .smart-health-card file, as shc:/ QR text (one chunk per line), and, when it
 * is JSON, as a payload that a test key signs so that verification gets
 * past the signature to the payload, time and revocation checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/core.h>
#include <phr/shc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *jwks, *crl, *own_jwks;
static struct phr_shc_key *own_key;

static void init(void)
{
	if (jwks)
		return;
	jwks = json_loads("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s\","
			  "\"use\":\"sig\",\"alg\":\"ES256\",\"crv\":\"P-256\","
			  "\"x\":\"11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw\","
			  "\"y\":\"eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8\"}]}",
			  0, NULL);
	crl = json_loads("{\"kid\":\"3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s\",\"method\":\"rid\",\"ctr\":1,"
			 "\"rids\":[\"vwAjHdarZuc.1668545475\",\"FKDIxsTCGlU\"]}",
			 0, NULL);
	/* a test key for the process: only its JWKS is consulted */
	if (!jwks || !crl || phr_shc_key_generate(&own_key) != PHR_OK)
		abort();
	const struct phr_shc_key *keys[1] = { own_key };
	if (phr_shc_jwks_build(&own_jwks, keys, 1) != PHR_OK)
		abort();
}

/* Signs @p payload with the test key and verifies it: only the payload checks can fail. */
static void sign_and_verify(const json_t *payload)
{
	struct phr_buf jws;
	phr_buf_init(&jws, 1 << 20);
	if (phr_shc_jws_sign(&jws, own_key, payload) == PHR_OK) {
		json_t *crls = json_pack("[{s:s, s:s, s:i, s:[s, s]}]", "kid", phr_shc_key_kid(own_key), "method", "rid",
					 "ctr", 1, "rids", "abc", "def.1700000000");
		struct phr_shc_verify_opts o = { .jwks = own_jwks, .crl = crls, .now = 1700000000, .iss = NULL };
		char reason[128];
		json_t *out = NULL;
		int rc = phr_shc_card_verify(&out, reason, sizeof(reason), (char *)jws.data, jws.len, &o);
		if (rc == PHR_ERR_SIGNATURE || rc == PHR_ERR_NOT_FOUND || rc == PHR_ERR_PARSE)
			abort(); /* a card phr signed always decodes and verifies its signature */
		if (rc == PHR_OK && !json_equal(out, payload))
			abort();
		json_decref(out);
		json_decref(crls);
	}
	phr_buf_release(&jws);
}

static void verify_one(const char *jws, size_t len)
{
	struct phr_shc_verify_opts o = { .jwks = jwks, .crl = crl, .now = 1668545476 };
	char reason[128];
	json_t *payload = NULL;
	int rc = phr_shc_card_verify(&payload, reason, sizeof(reason), jws, len, &o);
	if (rc == PHR_OK && (!payload || reason[0]))
		abort();
	if (rc != PHR_OK && (payload || !reason[0]))
		abort();
	json_decref(payload);
	json_t *h = NULL, *p = NULL;
	uint8_t sig[PHR_SHC_SIG_BYTES];
	if (phr_shc_jws_decode(&h, &p, sig, jws, len) == PHR_OK && (!h || !p))
		abort();
	json_decref(h);
	json_decref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init();
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	verify_one(text, size);

	json_t *as_json = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(as_json))
		sign_and_verify(as_json);
	json_decref(as_json);

	json_t *vcs = NULL;
	if (phr_shc_file_parse(&vcs, text, size) == PHR_OK) {
		size_t i;
		json_t *v;
		json_array_foreach(vcs, i, v) verify_one(json_string_value(v), json_string_length(v));
		json_decref(vcs);
	}

	/* shc:/ lines: decode, and a decoded JWS re-encodes to the same digits */
	const char *lines[16];
	size_t n = 0;
	for (char *p = text; p && n < 16;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lines[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	struct phr_buf jws, again;
	phr_buf_init(&jws, 1 << 20);
	phr_buf_init(&again, 1 << 21);
	if (phr_shc_numeric_decode(&jws, lines, n) == PHR_OK) {
		verify_one(jws.data ? (char *)jws.data : "", jws.len);
		size_t chunks;
		if (n == 1 && strchr(lines[0] + 5, '/') == NULL && jws.len <= PHR_SHC_QR_MAX_JWS &&
		    phr_shc_numeric_encode(&again, &chunks, (char *)jws.data, jws.len) == PHR_OK &&
		    (again.len != strlen(lines[0]) || memcmp(again.data, lines[0], again.len) != 0))
			abort();
	}
	phr_buf_release(&jws);
	phr_buf_release(&again);
	free(text);
	return 0;
}
