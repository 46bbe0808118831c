/*
 * Milestone tokens (seed §5) over the API: attest or publish, read the public
 * metadata, verify it against the chain, list a patient's milestones, open
 * the sealed details. See include/phr/milestone.h and docs/milestones.md.
 */
#include <string.h>

#include "api_int.h"
#include "phr/json.h"
#include "phr/milestone.h"

static int token_param(struct api_ctx *c, struct phr_u256 *id)
{
	if (phr_api_param_u256(id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(id))
		return api_fail(c, PHR_ERR_INVALID, "the path must name a token id (from 1)");
	return PHR_OK;
}

static int milestone_failed(struct api_ctx *c, int rv)
{
	switch (rv) {
	case PHR_ERR_NOT_FOUND:
		return api_fail(c, rv, "no live token, or no milestone published for it");
	case PHR_ERR_INVALID:
		return api_fail(c, rv, "the token is not of a milestone type (Vaccination, "
				       "MajorProcedure, ChronicConditionAchievement, PreventiveCare)");
	case PHR_ERR_SIGNATURE:
		return api_fail(c, rv, "the signature is not the token provider's EIP-712 "
				       "signature of the milestone");
	case PHR_ERR_FORBIDDEN:
		return api_fail(c, rv, "only the provider who minted the token may attest it");
	default:
		return api_fail(c, rv, "milestone");
	}
}

/* POST /api/v1/milestones/{id}: the caller's own signature in the body
 * {details, signature}, or (no body) attested by the hosted provider. */
int api_h_milestone_publish(struct api_ctx *c)
{
	struct phr_u256 id;
	json_t *meta = NULL;
	const json_t *body = c->req.body;
	int rv = token_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if (body != NULL && json_object_get(body, "signature") != NULL) {
		uint8_t sig[PHR_ETH_SIG_BYTES];
		const char *s = json_string_value(json_object_get(body, "signature"));
		const json_t *details = json_object_get(body, "details");
		if (s == NULL || phr_hex_decode_exact(sig, sizeof(sig), s) != PHR_OK)
			return api_fail(c, PHR_ERR_INVALID, "signature must be 0x + 65 bytes of hex");
		if (!json_is_object(details))
			return api_fail(c, PHR_ERR_INVALID, "details must be a JSON object");
		rv = phr_node_milestone_publish(c->api->cfg.node, &meta, &id, details, sig);
	} else {
		const struct phr_identity *me = api_hosted_caller(c);
		if (me == NULL)
			return PHR_ERR_FORBIDDEN;
		rv = phr_node_milestone_attest(c->api->cfg.node, &meta, me, &id);
	}
	if (rv != PHR_OK)
		return milestone_failed(c, rv);
	return api_ok(c, 201, meta);
}

/* GET /api/v1/milestones/{id}: public metadata (no health data). */
int api_h_milestone_get(struct api_ctx *c)
{
	struct phr_u256 id;
	json_t *meta = NULL;
	int rv = token_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if ((rv = phr_node_milestone_get(c->api->cfg.node, &meta, &id)) != PHR_OK)
		return milestone_failed(c, rv);
	return api_ok(c, 200, meta);
}

/* GET /api/v1/milestones/{id}/verify: the metadata checked against the chain. */
int api_h_milestone_verify(struct api_ctx *c)
{
	struct phr_u256 id;
	json_t *meta = NULL, *rep = NULL;
	int rv = token_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if ((rv = phr_node_milestone_get(c->api->cfg.node, &meta, &id)) != PHR_OK)
		return milestone_failed(c, rv);
	rv = phr_node_milestone_check(c->api->cfg.node, &rep, meta);
	if (rv != PHR_OK) {
		json_decref(meta);
		return api_fail(c, rv, "the metadata cannot be checked");
	}
	if (json_object_set_new(rep, "metadata", meta) != 0) {
		json_decref(rep);
		return api_fail(c, PHR_ERR_NOMEM, "verify");
	}
	return api_ok(c, 200, rep);
}

/* GET /api/v1/milestones/{id}/details: the sealed details, opened by the hosted
 * patient or provider. */
int api_h_milestone_details(struct api_ctx *c)
{
	struct phr_u256 id;
	json_t *meta = NULL, *d = NULL;
	const struct phr_identity *me;
	int rv = token_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	if ((rv = phr_node_milestone_get(c->api->cfg.node, &meta, &id)) != PHR_OK)
		return milestone_failed(c, rv);
	rv = phr_node_milestone_details_open(c->api->cfg.node, &d, me, meta);
	json_decref(meta);
	if (rv == PHR_ERR_FORBIDDEN)
		return api_fail(c, rv, "the details are sealed to the patient and the provider only");
	if (rv != PHR_OK)
		return api_fail(c, rv, "the sealed details do not open or do not match their hash");
	return api_ok(c, 200, d);
}

/* GET /api/v1/patients/{address}/milestones */
int api_h_patient_milestones(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, true);

	if (rv != PHR_OK)
		return rv;
	rv = phr_node_milestones_list(c->api->cfg.node, &l, p);
	return api_list_result(c, rv, l);
}

/* GET /api/v1/milestones/{id}/typed-data?detailsHash=0x...: the EIP-712 typed
 * data a provider signs with its own key for this token (public fields only). */
int api_h_milestone_typed_data(struct api_ctx *c)
{
	const struct phr_deployment *d = phr_node_deployment(c->api->cfg.node);
	const char *dh_s = api_query(c, "detailsHash");
	struct phr_u256 id;
	struct phr_record_meta m;
	uint8_t dh[32];
	json_t *typed = NULL;
	int rv = token_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if (dh_s == NULL || strlen(dh_s) != 66 || phr_hex_decode_exact(dh, 32, dh_s) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "detailsHash must be 0x + 32 bytes of hex");
	if ((rv = phr_node_record_meta(c->api->cfg.node, &m, &id)) != PHR_OK)
		return milestone_failed(c, rv);
	if (!phr_milestone_type(m.rtype))
		return milestone_failed(c, PHR_ERR_INVALID);
	rv = phr_milestone_typed_data(&typed, d->chain_id, d->nft, &id, m.rtype, m.data_hash, dh,
				      m.created_at);
	if (rv != PHR_OK)
		return api_fail(c, rv, "typed data");
	return api_ok(c, 200, typed);
}
