/*
 * SMART Health Cards: minimised Bundles, issuing, verification (signature,
 * issuer key, nbf/exp, revocation by rid) and the .smart-health-card file.
 */
#include <errno.h>
#include <math.h>
#include <time.h>

#include <phr/json.h>

#include "shc_int.h"

/* ---- minimisation ------------------------------------------------------- */

struct refmap {
	char **from; /* "Type/id" */
	size_t n;
};

static const char *ref_target(const struct refmap *m, const char *ref)
{
	size_t rl = strlen(ref);
	for (size_t i = 0; i < m->n; i++) {
		if (!m->from[i])
			continue;
		size_t fl = strlen(m->from[i]);
		/* "Type/id" or an absolute URL ending in "/Type/id" */
		if (rl == fl ? strcmp(ref, m->from[i]) == 0
			     : rl > fl && ref[rl - fl - 1] == '/' && strcmp(ref + rl - fl, m->from[i]) == 0)
			return m->from[i + m->n] ? m->from[i + m->n] : NULL;
	}
	return NULL;
}

/* Strips display texts and rewrites references inside one value, recursively. */
static int minimise_value(json_t *v, const struct refmap *m, bool in_coding, int depth)
{
	if (depth > 64)
		return PHR_ERR_INVALID;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			int rc = minimise_value(e, m, in_coding, depth + 1);
			if (rc != PHR_OK)
				return rc;
		}
		return PHR_OK;
	}
	if (!json_is_object(v))
		return PHR_OK;
	if (in_coding)
		json_object_del(v, "display"); /* Coding.display */
	if (json_object_get(v, "coding"))
		json_object_del(v, "text"); /* CodeableConcept.text */
	const char *ref = json_string_value(json_object_get(v, "reference"));
	if (ref) {
		const char *to = ref_target(m, ref);
		if (to && json_object_set_new(v, "reference", json_string(to)) != 0)
			return PHR_ERR_NOMEM;
	}
	const char *key;
	json_t *e;
	json_object_foreach(v, key, e) {
		int rc = minimise_value(e, m, strcmp(key, "coding") == 0, depth + 1);
		if (rc != PHR_OK)
			return rc;
	}
	return PHR_OK;
}

static void refmap_release(struct refmap *m)
{
	if (m->from)
		for (size_t i = 0; i < 2 * m->n; i++)
			phr_free(m->from[i]);
	phr_free(m->from);
}

int phr_shc_bundle_minimise(json_t **out, const json_t *const *resources, size_t n)
{
	struct refmap m = { .from = phr_calloc(2 * n + 1, sizeof(char *)), .n = n };
	json_t *entries = json_array();
	json_t *bundle = entries ? json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type", "collection",
					     "entry", entries)
				 : NULL;
	int rc = m.from && bundle ? PHR_OK : PHR_ERR_NOMEM;
	if (!bundle)
		json_decref(entries);
	for (size_t i = 0; rc == PHR_OK && i < n; i++) {
		const char *type = json_string_value(json_object_get(resources[i], "resourceType"));
		const char *id = json_string_value(json_object_get(resources[i], "id"));
		if (!json_is_object(resources[i]) || !type) {
			rc = PHR_ERR_INVALID;
			break;
		}
		struct phr_buf b;
		phr_buf_init(&b, 1024);
		if (id && phr_buf_appendf(&b, "%s/%s", type, id) == PHR_OK)
			m.from[i] = phr_buf_detach(&b, NULL);
		phr_buf_init(&b, 64);
		if (phr_buf_appendf(&b, "resource:%zu", i) != PHR_OK || !(m.from[n + i] = phr_buf_detach(&b, NULL)))
			rc = PHR_ERR_NOMEM;
		if (id && !m.from[i])
			rc = PHR_ERR_NOMEM;
	}
	for (size_t i = 0; rc == PHR_OK && i < n; i++) {
		json_t *r = json_deep_copy(resources[i]);
		if (!r) {
			rc = PHR_ERR_NOMEM;
			break;
		}
		json_object_del(r, "id");
		json_object_del(r, "text");
		json_t *meta = json_object_get(r, "meta");
		json_t *security = json_object_get(meta, "security");
		if (security) {
			json_t *keep = json_pack("{s:O}", "security", security);
			if (!keep || json_object_set_new(r, "meta", keep) != 0)
				rc = PHR_ERR_NOMEM;
		} else {
			json_object_del(r, "meta");
		}
		if (rc == PHR_OK)
			rc = minimise_value(r, &m, false, 0);
		json_t *entry = json_pack("{s:s, s:o}", "fullUrl", m.from[n + i], "resource", r);
		if (!entry || json_array_append_new(entries, entry) != 0)
			rc = rc == PHR_OK ? PHR_ERR_NOMEM : rc;
	}
	refmap_release(&m);
	if (rc != PHR_OK) {
		json_decref(bundle);
		return rc;
	}
	*out = bundle;
	return PHR_OK;
}

/* ---- issuing ------------------------------------------------------------ */

static bool rid_ok(const char *rid)
{
	size_t n = strlen(rid);
	if (n == 0 || n > 24)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = rid[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int phr_shc_card_issue(struct phr_buf *jws, const struct phr_shc_key *k, const struct phr_shc_issue_opts *o,
		       const json_t *bundle)
{
	if (!o || !o->iss || !*o->iss || o->nbf <= 0 || (o->exp && o->exp <= o->nbf) || (o->rid && !rid_ok(o->rid)))
		return PHR_ERR_INVALID;
	/* verifiers append "/.well-known/jwks.json" to iss: no trailing slash */
	if (o->iss[strlen(o->iss) - 1] == '/')
		return PHR_ERR_INVALID;
	if (!json_is_object(bundle) || !json_string_value(json_object_get(bundle, "resourceType")))
		return PHR_ERR_INVALID;
	json_t *types = json_pack("[s]", PHR_SHC_TYPE_HEALTH_CARD);
	json_t *payload = NULL;
	int rc = types ? PHR_OK : PHR_ERR_NOMEM;
	if (o->types) {
		for (size_t i = 0; rc == PHR_OK && o->types[i]; i++)
			if (json_array_append_new(types, json_string(o->types[i])) != 0)
				rc = PHR_ERR_NOMEM;
	} else if (rc == PHR_OK && json_array_append_new(types, json_string(PHR_SHC_TYPE_IMMUNIZATION)) != 0) {
		rc = PHR_ERR_NOMEM;
	}
	if (rc == PHR_OK) {
		json_t *vc = json_pack("{s:O, s:{s:s, s:O}}", "type", types, "credentialSubject", "fhirVersion", "4.0.1",
				       "fhirBundle", bundle);
		if (vc && o->rid && json_object_set_new(vc, "rid", json_string(o->rid)) != 0) {
			json_decref(vc);
			vc = NULL;
		}
		payload = vc ? json_pack("{s:s, s:I}", "iss", o->iss, "nbf", (json_int_t)o->nbf) : NULL;
		if (payload && o->exp && json_object_set_new(payload, "exp", json_integer(o->exp)) != 0) {
			json_decref(payload);
			payload = NULL;
		}
		if (payload && json_object_set_new(payload, "vc", vc) != 0) {
			json_decref(payload);
			payload = NULL;
		} else if (!payload) {
			json_decref(vc);
		}
		if (!payload)
			rc = PHR_ERR_NOMEM;
	}
	if (rc == PHR_OK)
		rc = phr_shc_jws_sign(jws, k, payload);
	json_decref(payload);
	json_decref(types);
	return rc;
}

/* ---- verification ------------------------------------------------------- */

static bool has_string(const json_t *arr, const char *s)
{
	size_t i;
	const json_t *e;
	json_array_foreach(arr, i, e) {
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	}
	return false;
}

/* Is @p rid (issued at @p nbf) listed in @p crl? */
static bool crl_lists(const json_t *crl, const char *kid, const char *rid, double nbf)
{
	const char *ckid = json_string_value(json_object_get(crl, "kid"));
	const json_t *method = json_object_get(crl, "method");
	if (!ckid || strcmp(ckid, kid) != 0)
		return false;
	if (!(json_is_string(method) && strcmp(json_string_value(method), "rid") == 0) &&
	    !(json_is_array(method) && has_string(method, "rid")))
		return false;
	size_t i, rl = strlen(rid);
	const json_t *e;
	json_array_foreach(json_object_get(crl, "rids"), i, e) {
		const char *s = json_string_value(e);
		if (!s || strncmp(s, rid, rl) != 0)
			continue;
		if (s[rl] == '\0')
			return true;
		if (s[rl] != '.')
			continue;
		/* "rid.T": cards issued at or before T (seconds) are revoked */
		char *end;
		errno = 0;
		unsigned long long t = strtoull(s + rl + 1, &end, 10);
		if (errno == 0 && end != s + rl + 1 && *end == '\0' && floor(nbf) <= (double)t)
			return true;
	}
	return false;
}

int phr_shc_card_verify(json_t **payload_out, char *reason, size_t cap, const char *jws, size_t len,
			const struct phr_shc_verify_opts *o)
{
	json_t *hdr = NULL, *payload = NULL;
	struct phr_shc_key *key = NULL;
	uint8_t sig[PHR_SHC_SIG_BYTES];
	int rc;

	if (reason && cap)
		reason[0] = '\0';
	if (!o || !o->jwks)
		return phr_shc_fail(reason, cap, PHR_ERR_INVALID, "no issuer JWKS given");
	rc = phr_shc_jws_decode(&hdr, &payload, sig, jws, len);
	if (rc != PHR_OK) {
		rc = phr_shc_fail(reason, cap, rc, "malformed JWS: %s", phr_strerror(rc));
		goto out;
	}
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	if ((rc = phr_shc_jwks_find(&key, reason, cap, o->jwks, kid)) != PHR_OK)
		goto out;
	const char *last_dot = memchr(jws, '.', len);
	last_dot = memchr(last_dot + 1, '.', len - (size_t)(last_dot + 1 - jws));
	if ((rc = phr_shc_es256_verify(key, sig, (const uint8_t *)jws, (size_t)(last_dot - jws))) != PHR_OK) {
		rc = phr_shc_fail(reason, cap, rc, "signature does not verify with key %s", kid);
		goto out;
	}
	const char *iss = json_string_value(json_object_get(payload, "iss"));
	const json_t *jnbf = json_object_get(payload, "nbf"), *jexp = json_object_get(payload, "exp");
	const json_t *vc = json_object_get(payload, "vc");
	const json_t *types = json_object_get(vc, "type");
	const json_t *bundle = json_object_get(json_object_get(vc, "credentialSubject"), "fhirBundle");
	if (!iss || !json_is_number(jnbf) || (jexp && !json_is_number(jexp)) || !json_is_array(types) ||
	    !has_string(types, PHR_SHC_TYPE_HEALTH_CARD) || !json_is_object(bundle)) {
		rc = phr_shc_fail(reason, cap, PHR_ERR_INVALID,
				  "payload lacks iss, nbf, the health-card type or the FHIR Bundle");
		goto out;
	}
	if (o->iss && strcmp(o->iss, iss) != 0) {
		rc = phr_shc_fail(reason, cap, PHR_ERR_INVALID, "issuer %s is not the expected %s", iss, o->iss);
		goto out;
	}
	double now = o->now ? (double)o->now : (double)time(NULL);
	double nbf = json_number_value(jnbf);
	if (nbf > now) {
		rc = phr_shc_fail(reason, cap, PHR_ERR_STATE, "card is not valid before %.0f", nbf);
		goto out;
	}
	if (jexp && json_number_value(jexp) <= now) {
		rc = phr_shc_fail(reason, cap, PHR_ERR_EXPIRED, "card expired at %.0f", json_number_value(jexp));
		goto out;
	}
	const char *rid = json_string_value(json_object_get(vc, "rid"));
	if (rid && o->crl) {
		bool revoked = false;
		if (json_is_array(o->crl)) {
			size_t i;
			const json_t *c;
			json_array_foreach(o->crl, i, c) revoked = revoked || crl_lists(c, kid, rid, nbf);
		} else {
			revoked = crl_lists(o->crl, kid, rid, nbf);
		}
		if (revoked) {
			rc = phr_shc_fail(reason, cap, PHR_ERR_FORBIDDEN, "card is revoked (rid %s)", rid);
			goto out;
		}
	}
	if (payload_out)
		*payload_out = json_incref(payload);
	rc = PHR_OK;
out:
	phr_shc_key_free(key);
	json_decref(hdr);
	json_decref(payload);
	return rc;
}

/* ---- the .smart-health-card file ---------------------------------------- */

static int file_encode_impl(struct phr_buf *out, const char *const *jws, size_t n)
{
	json_t *arr = json_array();
	json_t *doc = arr ? json_pack("{s:o}", "verifiableCredential", arr) : NULL;
	int rc = doc ? PHR_OK : PHR_ERR_NOMEM;
	for (size_t i = 0; rc == PHR_OK && i < n; i++)
		if (json_array_append_new(arr, json_string(jws[i])) != 0)
			rc = PHR_ERR_NOMEM;
	if (rc == PHR_OK)
		rc = phr_json_dump(out, doc, JSON_INDENT(2));
	if (rc == PHR_OK)
		rc = phr_buf_append_byte(out, '\n');
	json_decref(doc);
	return rc;
}

int phr_shc_file_parse(json_t **vcs, const char *text, size_t len)
{
	json_t *doc;
	if (len > PHR_SHC_MAX_INPUT * 16)
		return PHR_ERR_TOO_LARGE;
	int rc = phr_json_parse(&doc, NULL, 0, text, len);
	if (rc != PHR_OK)
		return rc;
	json_t *arr = json_object_get(doc, "verifiableCredential");
	size_t i;
	json_t *e;
	rc = json_is_array(arr) && json_array_size(arr) > 0 ? PHR_OK : PHR_ERR_INVALID;
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e))
			rc = PHR_ERR_INVALID;
	}
	if (rc == PHR_OK)
		*vcs = json_incref(arr);
	json_decref(doc);
	return rc;
}

int phr_shc_file_encode(struct phr_buf *out, const char *const *jws, size_t n)
{
	size_t start = out->len;
	return phr_shc_keep(out, start, file_encode_impl(out, jws, n));
}
