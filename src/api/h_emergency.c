/*
 * Escrow routes of the emergency summary (emergency.h): the holder's public
 * key, deposits and releases (both authenticated by signatures in the body,
 * not by a bearer token), and the holder's record for the patient.
 */
#include <string.h>

#include "api_int.h"
#include "phr/emergency.h"
#include "phr/json.h"

/* GET /api/v1/escrow: this node's escrow key. */
int api_h_escrow_info(struct api_ctx *c)
{
	const struct phr_identity *me;
	json_t *o;
	int rv = phr_escrow_holder_identity(c->api->cfg.node, &me);

	if (rv != PHR_OK)
		return api_fail(c, rv, "escrow key unavailable");
	o = json_pack("{s:o,s:I}", "address", api_jaddr(me->address), "maxCiphertext",
		      (json_int_t)PHR_ESCROW_CIPHERTEXT_MAX);
	if (o == NULL || phr_json_set_hex(o, "boxPk", me->box_pk, 32) != PHR_OK) {
		json_decref(o);
		return api_fail(c, PHR_ERR_NOMEM, "out of memory");
	}
	return api_ok(c, 200, o);
}

static int escrow_patient(struct api_ctx *c, uint8_t p[20])
{
	if (phr_api_param_address(p, c->req.params[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a 0x address");
	if (c->body.len == 0)
		return api_fail(c, PHR_ERR_INVALID, "a JSON body is required");
	return PHR_OK;
}

/* PUT /api/v1/escrow/{address}: a deposit signed by the patient's owner. */
int api_h_escrow_deposit(struct api_ctx *c)
{
	uint8_t p[20];
	int rv = escrow_patient(c, p);

	if (rv != PHR_OK)
		return rv;
	rv = phr_escrow_deposit(c->api->cfg.node, p, (const char *)c->body.data, c->body.len);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "not signed by the patient's owner, or not for this holder"
				: rv == PHR_ERR_CONFLICT ? "a newer or equal escrow is kept"
				: rv == PHR_ERR_SIGNATURE ? "bad signature"
				: rv == PHR_ERR_TAMPERED ? "the share does not open with this holder's key"
							  : "deposit refused");
	return api_ok(c, 201, json_pack("{s:b,s:o}", "kept", 1, "patient", api_jaddr(p)));
}

/* POST /api/v1/escrow/{address}/release: a break-glass provider's signed request. */
int api_h_escrow_release(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *out = NULL;
	int rv = escrow_patient(c, p);

	if (rv != PHR_OK)
		return rv;
	rv = phr_escrow_release(c->api->cfg.node, &out, p, (const char *)c->body.data, c->body.len);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s",
				rv == PHR_ERR_FORBIDDEN ? "no active break-glass session on chain for the requester"
				: rv == PHR_ERR_NOT_FOUND ? "no escrow kept for this patient"
				: rv == PHR_ERR_EXPIRED ? "stale request (timestamp)"
				: rv == PHR_ERR_UNAUTHENTICATED ? "bad signature"
								 : "release refused");
	return api_ok(c, 200, out);
}

/* GET /api/v1/escrow/{address}: what this holder keeps and its release log. */
int api_h_escrow_status(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *out = NULL;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	rv = phr_escrow_status(c->api->cfg.node, &out, p);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_NOT_FOUND ? "no escrow kept for this patient"
								     : "escrow unreadable");
	return api_ok(c, 200, out);
}
