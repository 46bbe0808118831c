/*
 * SMART Health Cards on the node: the issuer key (DIR/shc-issuer.jwk, made on
 * first use), /.well-known/jwks.json with CORS, issuing a card for an
 * Immunization record, and verifying cards issued by this node.
 */
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "phr/json.h"
#include "phr/shc.h"

/* Largest card request body (a Patient resource) and largest issued card. */
#define SHC_QR_SCALE 4

static bool json_str_is(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

/* The node's issuer key, created (P-256, private JWK, mode 0600) when missing. */
static int issuer_key(struct phr_api *a, struct phr_shc_key **out)
{
	char path[600];
	struct phr_buf b;
	json_t *jwk = NULL;
	int rv;

	if ((size_t)snprintf(path, sizeof(path), "%s/shc-issuer.jwk", a->cfg.datadir) >= sizeof(path))
		return PHR_ERR_TOO_LARGE;
	phr_buf_init(&b, 65536);
	pthread_mutex_lock(&key_lock);
	rv = phr_file_read(&b, path, 65536);
	if (rv == PHR_ERR_NOT_FOUND) {
		struct phr_shc_key *k = NULL;
		char *s = NULL;
		rv = phr_shc_key_generate(&k);
		if (rv == PHR_OK)
			rv = phr_shc_key_to_jwk(&jwk, k, true);
		if (rv == PHR_OK && (s = json_dumps(jwk, JSON_COMPACT)) == NULL)
			rv = PHR_ERR_NOMEM;
		if (rv == PHR_OK)
			rv = phr_file_write_atomic(path, s, strlen(s), 0600);
		if (s != NULL) {
			sodium_memzero(s, strlen(s));
			free(s);
		}
		if (rv == PHR_OK) {
			*out = k;
			k = NULL;
			phr_log_info("api", "SMART Health Card issuer key created (%s)", path);
		}
		phr_shc_key_free(k);
	} else if (rv == PHR_OK) {
		jwk = json_loadb((const char *)b.data, b.len, 0, NULL);
		rv = jwk == NULL ? PHR_ERR_CORRUPT : phr_shc_key_from_jwk(out, jwk);
	}
	pthread_mutex_unlock(&key_lock);
	json_decref(jwk);
	sodium_memzero(b.data, b.cap);
	phr_buf_release(&b);
	return rv;
}

static int jwks_of(struct phr_api *a, json_t **jwks)
{
	struct phr_shc_key *k = NULL;
	int rv = issuer_key(a, &k);

	if (rv == PHR_OK) {
		const struct phr_shc_key *keys[1] = { k };
		rv = phr_shc_jwks_build(jwks, keys, 1);
	}
	phr_shc_key_free(k);
	return rv;
}

/* The issuer URL: the node's base URL (iss + /.well-known/jwks.json is the key set). */
static void issuer_url(struct phr_api *a, char *out, size_t cap)
{
	snprintf(out, cap, "http://%s", a->domain);
}

/* The mount "/.well-known/": jwks.json for SHC verifiers (CORS, cacheable). */
int api_wellknown_serve(struct api_ctx *c, const char *url, const char *method)
{
	json_t *jwks = NULL;
	int rv;

	if (strcmp(url, "/.well-known/jwks.json") != 0)
		return api_fail(c, PHR_ERR_NOT_FOUND, "no such document");
	if (api_header_add(c, "Access-Control-Allow-Origin", "*") != PHR_OK)
		return api_fail(c, PHR_ERR_INTERNAL, "headers");
	if (strcmp(method, "OPTIONS") == 0) {
		if (api_header_add(c, "Access-Control-Allow-Methods", "GET, OPTIONS") != PHR_OK)
			return api_fail(c, PHR_ERR_INTERNAL, "headers");
		c->raw_type = "text/plain";
		c->status = 204;
		return PHR_OK;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return api_fail(c, PHR_ERR_UNSUPPORTED, "GET only");
	if ((rv = jwks_of(c->api, &jwks)) != PHR_OK)
		return api_fail(c, rv, "the issuer key cannot be read");
	if (api_header_add(c, "Cache-Control", "public, max-age=300") != PHR_OK) {
		json_decref(jwks);
		return api_fail(c, PHR_ERR_INTERNAL, "headers");
	}
	return api_ok(c, 200, jwks);
}

/* POST /api/v1/records/{id}/shc {patient: Patient resource}: a card for an
 * Immunization record the caller may read, issued by this node for a record
 * minted by a provider it hosts. ?format=png|svg answers the first QR chunk. */
int api_h_shc_issue(struct api_ctx *c)
{
	struct phr_node *node = c->api->cfg.node;
	const struct phr_identity *me = api_hosted_caller(c);
	const json_t *patient = c->req.body ? json_object_get(c->req.body, "patient") : NULL;
	const char *fmt = api_query(c, "format");
	struct phr_u256 id;
	struct phr_record_meta m;
	struct phr_buf plain, jws, qr, img;
	struct phr_shc_key *k = NULL;
	json_t *imm = NULL, *bundle = NULL, *res = NULL, *chunks = NULL;
	char iss[320];
	size_t n_chunks = 0;
	int rv;

	if (me == NULL)
		return PHR_ERR_FORBIDDEN;
	if (phr_api_param_u256(&id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(&id))
		return api_fail(c, PHR_ERR_INVALID, "the path must name a record id (from 1)");
	if (!json_is_object(patient) ||
	    !json_str_is(json_object_get(patient, "resourceType"), "Patient"))
		return api_fail(c, PHR_ERR_INVALID,
				"the body must hold {\"patient\": a FHIR Patient resource with name and birthDate}");
	if (fmt != NULL && strcmp(fmt, "png") != 0 && strcmp(fmt, "svg") != 0 && strcmp(fmt, "json") != 0)
		return api_fail(c, PHR_ERR_INVALID, "format must be json, png or svg");
	if ((rv = phr_node_record_meta(node, &m, &id)) != PHR_OK)
		return api_fail(c, rv, "no live record %s", c->req.params[0]);
	if (phr_node_identity(node, m.provider) == NULL)
		return api_fail(c, PHR_ERR_FORBIDDEN,
				"this node issues cards only for records minted by the providers it hosts");
	phr_buf_init(&plain, PHR_RECORD_MAX);
	phr_buf_init(&jws, 0);
	phr_buf_init(&qr, 0);
	phr_buf_init(&img, 0);
	rv = phr_node_record_read(node, &plain, &m, me, &id, 1 /* Treatment */);
	if (rv != PHR_OK) {
		rv = api_fail(c, rv, rv == PHR_ERR_FORBIDDEN ? "the caller may not read this record"
							     : "the record cannot be read");
		goto out;
	}
	imm = json_loadb((const char *)plain.data, plain.len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_str_is(json_object_get(imm, "resourceType"), "Immunization")) {
		rv = api_fail(c, PHR_ERR_INVALID, "the record is not a FHIR Immunization");
		goto out;
	}
	{
		const json_t *in[2] = { patient, imm };
		struct phr_shc_issue_opts o = { .nbf = (int64_t)time(NULL) };
		issuer_url(c->api, iss, sizeof(iss));
		o.iss = iss;
		if ((rv = phr_shc_bundle_minimise(&bundle, in, 2)) != PHR_OK ||
		    (rv = issuer_key(c->api, &k)) != PHR_OK ||
		    (rv = phr_shc_card_issue(&jws, k, &o, bundle)) != PHR_OK ||
		    (rv = phr_shc_numeric_encode(&qr, &n_chunks, (const char *)jws.data, jws.len)) != PHR_OK) {
			rv = api_fail(c, rv, "the card cannot be issued");
			goto out;
		}
	}
	if (fmt != NULL && strcmp(fmt, "json") != 0) {
		size_t first = strcspn((const char *)qr.data, "\n");
		bool png = strcmp(fmt, "png") == 0;
		rv = phr_shc_qr_render(&img, (const char *)qr.data, first,
				       png ? PHR_SHC_QR_PNG : PHR_SHC_QR_SVG, SHC_QR_SCALE);
		if (rv != PHR_OK) {
			rv = api_fail(c, rv, "the QR code cannot be drawn");
			goto out;
		}
		c->raw_out = phr_buf_detach(&img, &c->raw_len);
		c->raw_type = png ? "image/png" : "image/svg+xml";
		c->status = 201;
		goto out;
	}
	chunks = json_array();
	for (char *p = (char *)qr.data; chunks != NULL && p != NULL && *p != '\0';) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (json_array_append_new(chunks, json_stringn(p, len)) != 0) {
			json_decref(chunks);
			chunks = NULL;
		}
		p = nl ? nl + 1 : NULL;
	}
	res = chunks == NULL ? NULL
			     : json_pack("{s:s%,s:{s:[s%]},s:o,s:s}", "jws", (const char *)jws.data,
					 jws.len, "file", "verifiableCredential", (const char *)jws.data,
					 jws.len, "qr", chunks, "iss", iss);
	rv = api_ok(c, 201, res);
out:
	sodium_memzero(plain.data, plain.cap);
	phr_buf_release(&plain);
	phr_buf_release(&jws);
	phr_buf_release(&qr);
	phr_buf_release(&img);
	phr_shc_key_free(k);
	json_decref(imm);
	json_decref(bundle);
	return rv;
}

/* POST /api/v1/shc/verify {jws} | {qr: [...]} | a .smart-health-card file:
 * verifies a card issued by this node (signature, key, dates, issuer). */
int api_h_shc_verify(struct api_ctx *c)
{
	const json_t *b = c->req.body;
	const json_t *vcs = json_object_get(b, "verifiableCredential");
	const json_t *qr = json_object_get(b, "qr");
	const char *jws = json_string_value(json_object_get(b, "jws"));
	struct phr_buf dec;
	json_t *jwks = NULL, *payload = NULL;
	char reason[200] = "", iss[320];
	int rv;

	phr_buf_init(&dec, 0);
	if (jws == NULL && json_is_array(vcs))
		jws = json_string_value(json_array_get(vcs, 0));
	if (jws == NULL && json_is_array(qr) && json_array_size(qr) > 0 && json_array_size(qr) <= 64) {
		const char *parts[64];
		size_t i;
		const json_t *q;
		json_array_foreach(qr, i, q) {
			if ((parts[i] = json_string_value(q)) == NULL)
				return api_fail(c, PHR_ERR_INVALID, "qr must be an array of shc:/ strings");
		}
		if ((rv = phr_shc_numeric_decode(&dec, parts, json_array_size(qr))) != PHR_OK ||
		    (rv = phr_buf_append_byte(&dec, '\0')) != PHR_OK) {
			phr_buf_release(&dec);
			return api_fail(c, PHR_ERR_INVALID, "the shc:/ content does not decode");
		}
		jws = (const char *)dec.data;
	}
	if (jws == NULL)
		return api_fail(c, PHR_ERR_INVALID,
				"the body must hold jws, qr (shc:/ chunks) or verifiableCredential");
	if ((rv = jwks_of(c->api, &jwks)) != PHR_OK) {
		phr_buf_release(&dec);
		return api_fail(c, rv, "the issuer key cannot be read");
	}
	issuer_url(c->api, iss, sizeof(iss));
	{
		struct phr_shc_verify_opts o = { .jwks = jwks, .iss = iss };
		rv = phr_shc_card_verify(&payload, reason, sizeof(reason), jws, strlen(jws), &o);
	}
	json_decref(jwks);
	phr_buf_release(&dec);
	if (rv == PHR_ERR_NOMEM)
		return api_fail(c, rv, "verify");
	if (rv != PHR_OK)
		return api_ok(c, 200, json_pack("{s:b,s:s,s:s}", "valid", 0, "error", phr_err_name(rv),
						 "reason", reason));
	return api_ok(c, 200, json_pack("{s:b,s:o}", "valid", 1, "payload", payload));
}
