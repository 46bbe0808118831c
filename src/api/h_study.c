/*
 * Research studies over the API (include/phr/study.h): create, the sealed
 * custodian shares, consent, submissions, close, partial decryptions, the
 * result and the log.
 */
#include <string.h>

#include <sodium.h>

#include "api_int.h"
#include "phr/json.h"
#include "phr/crypto.h"
#include "phr/study.h"

static const char *study_param(struct api_ctx *c)
{
	const char *name = c->req.params[0];

	if (!phr_study_name_ok(name)) {
		api_fail(c, PHR_ERR_INVALID, "a study name is 1..64 characters of A-Z a-z 0-9 . _ -");
		return NULL;
	}
	return name;
}

static int study_failed(struct api_ctx *c, int rv, const char *what)
{
	switch (rv) {
	case PHR_ERR_NOT_FOUND:
		return api_fail(c, rv, "%s: no such study (or nothing for this address)", what);
	case PHR_ERR_STATE:
		return api_fail(c, rv, "%s: not in this state (submissions and consent need an open "
				       "study; partials and the result a closed one)", what);
	case PHR_ERR_FORBIDDEN:
		return api_fail(c, rv, "%s: refused (no consent on chain now, not the sponsor, not "
				       "this custodian, or fewer than t valid partials)", what);
	case PHR_ERR_TAMPERED:
		return api_fail(c, rv, "%s: a proof does not verify (e.g. a value out of range, or a "
				       "wrong partial decryption)", what);
	case PHR_ERR_EXISTS:
		return api_fail(c, rv, "%s: already done for this study and address", what);
	case PHR_ERR_UNSUPPORTED:
		return api_fail(c, rv, "%s: this deployment has no StudyRegistry", what);
	default:
		return api_fail(c, rv, "%s", what);
	}
}

/* POST /api/v1/studies {name, bits, t, custodians} by a hosted verified provider. */
int api_h_study_create(struct api_ctx *c)
{
	const struct phr_identity *me = api_hosted_caller(c);
	const json_t *b = c->req.body, *cu = json_object_get(b, "custodians");
	const char *name = json_string_value(json_object_get(b, "name"));
	json_int_t bits = json_integer_value(json_object_get(b, "bits"));
	json_int_t t = json_integer_value(json_object_get(b, "t"));
	uint8_t addrs[32][20];
	size_t i, n = json_array_size(cu);
	const json_t *v;
	json_t *params = NULL;
	int rv;

	if (me == NULL)
		return PHR_ERR_FORBIDDEN;
	if (!phr_study_name_ok(name))
		return api_fail(c, PHR_ERR_INVALID, "name: 1..64 characters of A-Z a-z 0-9 . _ -");
	if (!json_is_integer(json_object_get(b, "bits")) || bits < 1 || bits > 16)
		return api_fail(c, PHR_ERR_INVALID, "bits: an integer 1..16 (values lie in [0, 2^bits))");
	if (!json_is_array(cu) || n < 1 || n > 32)
		return api_fail(c, PHR_ERR_INVALID, "custodians: an array of 1..32 addresses");
	if (!json_is_integer(json_object_get(b, "t")) || t < 1 || (size_t)t > n)
		return api_fail(c, PHR_ERR_INVALID, "t: an integer 1..len(custodians)");
	json_array_foreach(cu, i, v) {
		if (!json_is_string(v) || phr_eth_address_parse(addrs[i], json_string_value(v)) != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "custodians[%zu] is not an address", i);
	}
	rv = phr_node_study_create(c->api->cfg.node, &params, me, name, (uint32_t)bits, (uint32_t)t,
				   (const uint8_t(*)[20])addrs, n);
	if (rv == PHR_ERR_INVALID)
		return api_fail(c, rv, "custodians must be distinct");
	if (rv == PHR_ERR_NOT_FOUND)
		return api_fail(c, rv, "every custodian must have registered an encryption key");
	if (rv == PHR_ERR_FORBIDDEN)
		return api_fail(c, rv, "the sponsor must be a verified provider");
	if (rv != PHR_OK)
		return study_failed(c, rv, "create");
	return api_ok(c, 201, params);
}

/* GET /api/v1/studies/{name} */
int api_h_study_get(struct api_ctx *c)
{
	const char *name = study_param(c);
	json_t *o = NULL;
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if ((rv = phr_node_study_get(c->api->cfg.node, &o, name)) != PHR_OK)
		return study_failed(c, rv, "study");
	return api_ok(c, 200, o);
}

/* GET /api/v1/studies/{name}/shares/{address}: the sealed share (base64). */
int api_h_study_share(struct api_ctx *c)
{
	const char *name = study_param(c);
	struct phr_buf sealed;
	char *b64;
	uint8_t who[20];
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if (phr_api_param_address(who, c->req.params[1]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a 0x address");
	phr_buf_init(&sealed, 8192);
	rv = phr_node_study_share(c->api->cfg.node, &sealed, name, who);
	if (rv != PHR_OK) {
		phr_buf_release(&sealed);
		return study_failed(c, rv, "share");
	}
	b64 = phr_malloc(sodium_base64_ENCODED_LEN(sealed.len, sodium_base64_VARIANT_ORIGINAL));
	if (b64 == NULL) {
		phr_buf_release(&sealed);
		return api_fail(c, PHR_ERR_NOMEM, "share");
	}
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(sealed.len, sodium_base64_VARIANT_ORIGINAL),
			  sealed.data, sealed.len, sodium_base64_VARIANT_ORIGINAL);
	phr_buf_release(&sealed);
	rv = api_ok(c, 200, json_pack("{s:s}", "sealed", b64));
	phr_free(b64);
	return rv;
}

/* POST /api/v1/studies/{name}/consent {until} | {withdraw: true}: the hosted patient, on chain. */
int api_h_study_consent(struct api_ctx *c)
{
	const char *name = study_param(c);
	const struct phr_identity *me;
	const json_t *u = json_object_get(c->req.body, "until");
	bool withdraw = json_is_true(json_object_get(c->req.body, "withdraw"));
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if (!withdraw && (!json_is_integer(u) || json_integer_value(u) <= 0))
		return api_fail(c, PHR_ERR_INVALID, "until: the end of the consent (seconds since the "
						    "epoch), or withdraw: true");
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	rv = phr_node_study_consent(c->api->cfg.node, me, name,
				    withdraw ? 0 : (uint64_t)json_integer_value(u));
	if (rv == PHR_ERR_INVALID)
		return api_fail(c, rv, "until must lie in the future");
	if (rv != PHR_OK)
		return study_failed(c, rv, withdraw ? "withdraw" : "consent");
	return api_ok(c, 200, json_pack("{s:s,s:b}", "study", name, "consented", !withdraw));
}

/* POST /api/v1/studies/{name}/submissions {submission} by the patient itself. */
int api_h_study_submit(struct api_ctx *c)
{
	const char *name = study_param(c);
	const json_t *sub = json_object_get(c->req.body, "submission");
	uint64_t count = 0;
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if (!json_is_object(sub))
		return api_fail(c, PHR_ERR_INVALID, "submission: the object phr study submit makes");
	rv = phr_node_study_submit(c->api->cfg.node, &count, name, c->caller, sub);
	if (rv == PHR_ERR_INVALID)
		return api_fail(c, rv, "the submission is not the caller's (its patient must be the "
				       "signed-in address) or is malformed");
	if (rv == PHR_ERR_PARSE)
		return api_fail(c, PHR_ERR_INVALID, "the submission does not parse");
	if (rv != PHR_OK)
		return study_failed(c, rv, "submit");
	return api_ok(c, 201, json_pack("{s:s,s:I}", "study", name, "count", (json_int_t)count));
}

/* POST /api/v1/studies/{name}/close by the hosted sponsor. */
int api_h_study_close(struct api_ctx *c)
{
	const char *name = study_param(c);
	const struct phr_identity *me;
	json_t *o = NULL;
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	if ((rv = phr_node_study_close(c->api->cfg.node, me, name)) != PHR_OK)
		return study_failed(c, rv, "close");
	if ((rv = phr_node_study_get(c->api->cfg.node, &o, name)) != PHR_OK)
		return study_failed(c, rv, "study");
	return api_ok(c, 200, o);
}

/* POST /api/v1/studies/{name}/partials {partial} by custodian partial.index. */
int api_h_study_partial(struct api_ctx *c)
{
	const char *name = study_param(c);
	const json_t *p = json_object_get(c->req.body, "partial");
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if (!json_is_object(p))
		return api_fail(c, PHR_ERR_INVALID, "partial: the object phr study decrypt makes");
	rv = phr_node_study_partial(c->api->cfg.node, name, c->caller, p);
	if (rv == PHR_ERR_PARSE)
		return api_fail(c, PHR_ERR_INVALID, "the partial decryption does not parse");
	if (rv != PHR_OK)
		return study_failed(c, rv, "partial");
	return api_ok(c, 201, json_pack("{s:s,s:b}", "study", name, "accepted", 1));
}

/* GET /api/v1/studies/{name}/result */
int api_h_study_result(struct api_ctx *c)
{
	const char *name = study_param(c);
	json_t *o = NULL;
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if ((rv = phr_node_study_result(c->api->cfg.node, &o, name)) != PHR_OK)
		return study_failed(c, rv, "result");
	return api_ok(c, 200, o);
}

static bool is_caller(struct api_ctx *c, const json_t *addr)
{
	const char *s = json_string_value(addr);
	uint8_t a[20];

	return s != NULL && phr_eth_address_parse(a, s) == PHR_OK && memcmp(a, c->caller, 20) == 0;
}

/* The log names every patient who consented or submitted, and when: it is for the
 * sponsor, the custodians and the node's auditors, not for anybody signed in. */
static int log_reader(struct api_ctx *c, const char *name)
{
	json_t *o = NULL, *p, *v;
	size_t i;
	bool ok;
	int rv;

	if (api_is_auditor(c->api, c->caller))
		return PHR_OK;
	if ((rv = phr_node_study_get(c->api->cfg.node, &o, name)) != PHR_OK)
		return study_failed(c, rv, "log");
	p = json_object_get(o, "params");
	ok = is_caller(c, json_object_get(p, "sponsor"));
	json_array_foreach(json_object_get(p, "custodians"), i, v)
		ok = ok || is_caller(c, v);
	json_decref(o);
	return ok ? PHR_OK
		  : api_fail(c, PHR_ERR_FORBIDDEN,
			     "the study log is for the sponsor, the custodians and auditors");
}

/* GET /api/v1/studies/{name}/log */
int api_h_study_log(struct api_ctx *c)
{
	const char *name = study_param(c);
	json_t *l = NULL;
	int rv;

	if (name == NULL)
		return PHR_ERR_INVALID;
	if ((rv = log_reader(c, name)) != PHR_OK)
		return rv;
	rv = phr_node_study_log(c->api->cfg.node, &l, name);
	if (rv != PHR_OK)
		return study_failed(c, rv, "log");
	return api_list_result(c, rv, l);
}
