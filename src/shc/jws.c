/* JWS compact serialisation for SMART Health Cards: ES256, zip DEF. */
#include <phr/json.h>

#include "shc_int.h"

int phr_shc_jws_sign(struct phr_buf *out, const struct phr_shc_key *k, const json_t *payload)
{
	if (!phr_shc_key_has_private(k))
		return PHR_ERR_STATE;
	struct phr_buf input, json, zipped;
	phr_buf_init(&input, PHR_SHC_MAX_INPUT * 2);
	phr_buf_init(&json, PHR_SHC_MAX_INPUT);
	phr_buf_init(&zipped, PHR_SHC_MAX_INPUT);
	json_t *hdr = json_pack("{s:s, s:s, s:s}", "zip", "DEF", "alg", "ES256", "kid", phr_shc_key_kid(k));
	int rc = hdr ? phr_json_dump(&json, hdr, JSON_COMPACT) : PHR_ERR_NOMEM;
	if (rc == PHR_OK)
		rc = phr_shc_b64url_encode(&input, json.data, json.len);
	if (rc == PHR_OK)
		rc = phr_buf_append_byte(&input, '.');
	/* minified: no whitespace; key order as built */
	phr_buf_reset(&json);
	if (rc == PHR_OK)
		rc = phr_json_dump(&json, payload, JSON_COMPACT);
	if (rc == PHR_OK)
		rc = phr_shc_deflate(&zipped, json.data, json.len);
	if (rc == PHR_OK)
		rc = phr_shc_b64url_encode(&input, zipped.data, zipped.len);
	uint8_t sig[PHR_SHC_SIG_BYTES];
	if (rc == PHR_OK)
		rc = phr_shc_es256_sign(sig, k, input.data, input.len);
	if (rc == PHR_OK)
		rc = phr_buf_append_byte(&input, '.');
	if (rc == PHR_OK)
		rc = phr_shc_b64url_encode(&input, sig, sizeof(sig));
	if (rc == PHR_OK)
		rc = phr_buf_append(out, input.data, input.len);
	json_decref(hdr);
	phr_buf_release(&input);
	phr_buf_release(&json);
	phr_buf_release(&zipped);
	return rc;
}

/* finds the two dots; each part non-empty */
static int split3(size_t dot[2], const char *jws, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (jws[i] != '.')
			continue;
		if (n == 2)
			return PHR_ERR_PARSE;
		dot[n++] = i;
	}
	if (n != 2 || dot[0] == 0 || dot[1] == dot[0] + 1 || dot[1] + 1 == len)
		return PHR_ERR_PARSE;
	return PHR_OK;
}

static int parse_part(json_t **out, const char *b64, size_t n, bool inflate)
{
	struct phr_buf raw, text;
	phr_buf_init(&raw, PHR_SHC_MAX_INPUT);
	phr_buf_init(&text, PHR_SHC_MAX_INPUT);
	int rc = phr_shc_b64url_decode(&raw, b64, n);
	const struct phr_buf *j = &raw;
	if (rc == PHR_OK && inflate) {
		rc = phr_shc_inflate(&text, raw.data, raw.len);
		j = &text;
	}
	if (rc == PHR_OK) {
		json_t *v;
		rc = phr_json_parse(&v, NULL, 0, (const char *)j->data, j->len);
		if (rc == PHR_OK && !json_is_object(v)) {
			json_decref(v);
			rc = PHR_ERR_PARSE;
		}
		if (rc == PHR_OK)
			*out = v;
	}
	phr_buf_release(&raw);
	phr_buf_release(&text);
	return rc;
}

static int check_header(const json_t *h)
{
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *zip = json_string_value(json_object_get(h, "zip"));
	if (!alg || !zip || !json_is_string(json_object_get(h, "kid")))
		return PHR_ERR_PARSE;
	if (strcmp(alg, "ES256") != 0 || strcmp(zip, "DEF") != 0 || json_object_get(h, "crit"))
		return PHR_ERR_UNSUPPORTED;
	return PHR_OK;
}

int phr_shc_jws_decode(json_t **header, json_t **payload, uint8_t sig[PHR_SHC_SIG_BYTES], const char *jws,
		       size_t len)
{
	size_t dot[2];
	if (len > PHR_SHC_MAX_INPUT)
		return PHR_ERR_TOO_LARGE;
	int rc = split3(dot, jws, len);
	if (rc != PHR_OK)
		return rc;
	json_t *h = NULL, *p = NULL;
	struct phr_buf s;
	phr_buf_init(&s, 128);
	rc = parse_part(&h, jws, dot[0], false);
	if (rc == PHR_OK)
		rc = check_header(h);
	if (rc == PHR_OK)
		rc = phr_shc_b64url_decode(&s, jws + dot[1] + 1, len - dot[1] - 1);
	if (rc == PHR_OK && s.len != PHR_SHC_SIG_BYTES)
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK && payload)
		rc = parse_part(&p, jws + dot[0] + 1, dot[1] - dot[0] - 1, true);
	if (rc == PHR_OK) {
		if (sig)
			memcpy(sig, s.data, PHR_SHC_SIG_BYTES);
		if (header)
			*header = json_incref(h);
		if (payload)
			*payload = json_incref(p);
	}
	json_decref(h);
	json_decref(p);
	phr_buf_release(&s);
	return rc;
}
