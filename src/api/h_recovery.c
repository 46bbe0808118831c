/*
 * Recovery over the API (include/phr/recovery.h):
 *   GET  /api/v1/recovery/{patient}       guardians, threshold, round, scheduled rotation
 *   POST /api/v1/recovery/shares/release  a holder hosted here releases its key share to
 *                                         the caller (the patient's owner after a rotation)
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "phr/crypto.h"
#include "phr/recovery.h"

int api_h_recovery_status(struct api_ctx *c);
int api_h_recovery_share_release(struct api_ctx *c);

int api_h_recovery_status(struct api_ctx *c)
{
	struct phr_recovery_status st;
	uint8_t patient[20];
	json_t *g, *o;
	int rv;

	if (phr_eth_address_parse(patient, c->req.params[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "patient must be a 0x address");
	rv = phr_recovery_status_read(phr_node_chain(c->api->cfg.node),
				      phr_node_deployment(c->api->cfg.node), &st, patient, NULL);
	if (rv != PHR_OK)
		return api_fail(c, rv, "recovery state");
	if ((g = json_array()) == NULL)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < st.n_guardians; i++)
		json_array_append_new(g, api_jaddr(st.guardians[i]));
	o = json_pack("{s:o,s:o,s:I,s:I,s:b}", "owner", api_jaddr(st.owner), "guardians", g,
		      "threshold", (json_int_t)st.threshold, "round", (json_int_t)st.round,
		      "pending", st.pending);
	if (o != NULL && st.pending) {
		json_object_set_new(o, "pendingOwner", api_jaddr(st.pending_owner));
		json_object_set_new(o, "readyAt", json_integer((json_int_t)st.ready_at));
	}
	return api_ok(c, 200, o);
}

int api_h_recovery_share_release(struct api_ctx *c)
{
	const struct phr_identity *holder;
	struct phr_recovery_share in, out;
	json_t *share = c->req.body ? json_object_get(c->req.body, "share") : NULL;
	char *text;
	int rv;

	if (!json_is_object(share) || (text = json_dumps(share, JSON_COMPACT)) == NULL)
		return api_fail(c, PHR_ERR_INVALID, "share (a phr-recovery-share/1 object) is required");
	rv = phr_recovery_share_parse(&in, text, strlen(text));
	free(text);
	if (rv != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "not a valid share (%s)", phr_strerror(rv));
	holder = phr_node_identity(c->api->cfg.node, in.to);
	if (holder == NULL)
		return api_fail(c, PHR_ERR_NOT_FOUND, "the share's holder is not hosted on this node");
	rv = phr_node_recovery_share_release(c->api->cfg.node, &out, holder, &in, c->caller);
	if (rv == PHR_ERR_STATE)
		return api_fail(c, rv, "register the new owner's encryption key first");
	if (rv != PHR_OK)
		return api_fail(c, rv, "the share is released only to the patient's owner after a rotation");
	return api_ok(c, 200, json_pack("{s:o}", "share", phr_recovery_share_json(&out)));
}
