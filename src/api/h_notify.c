/*
 * Notification routes (notify.h): webhook subscriptions of the signed-in
 * account and a patient's notifications with their delivery state.
 */
#include <sodium.h>
#include <string.h>

#include "api_int.h"
#include "phr/json.h"
#include "phr/notify.h"

/* POST /api/v1/me/webhooks {url, secret (hex, 16..64 bytes)} */
int api_h_webhook_add(struct api_ctx *c)
{
	uint8_t secret[PHR_NOTIFY_SECRET_MAX];
	const char *url;
	size_t n = 0;
	uint64_t id = 0;
	int rv;

	if (c->req.body == NULL || phr_json_get_str(&url, c->req.body, "url") != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "url (http://...) is required");
	if (phr_json_get_hex(secret, sizeof(secret), &n, c->req.body, "secret") != PHR_OK ||
	    n < PHR_NOTIFY_SECRET_MIN)
		return api_fail(c, PHR_ERR_INVALID, "secret (hex, %u..%u bytes) is required",
				PHR_NOTIFY_SECRET_MIN, PHR_NOTIFY_SECRET_MAX);
	rv = phr_notify_subscribe(c->api->cfg.node, &id, c->caller, url, secret, n);
	sodium_memzero(secret, sizeof(secret));
	if (rv != PHR_OK)
		return api_fail(c, rv == PHR_ERR_UNSUPPORTED ? PHR_ERR_INVALID : rv, "%s",
				rv == PHR_ERR_UNSUPPORTED ? "https webhooks need a TLS proxy: give its http URL"
							  : "bad webhook");
	return api_ok(c, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id, "url", url));
}

/* GET /api/v1/me/webhooks */
int api_h_webhook_list(struct api_ctx *c)
{
	json_t *l = NULL;
	int rv = phr_notify_subscriptions(c->api->cfg.node, &l, c->caller);

	return api_list_result(c, rv, l);
}

/* DELETE /api/v1/me/webhooks/{id} */
int api_h_webhook_delete(struct api_ctx *c)
{
	uint64_t id = 0;
	int rv;

	if (phr_parse_u64(&id, c->req.params[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a subscription id");
	rv = phr_notify_unsubscribe(c->api->cfg.node, c->caller, id);
	if (rv != PHR_OK)
		return api_fail(c, rv, "%s", rv == PHR_ERR_NOT_FOUND ? "no such subscription" : "database");
	return api_ok(c, 200, json_pack("{s:b}", "deleted", 1));
}

/* GET /api/v1/patients/{address}/notifications[?limit=N] */
int api_h_patient_notifications(struct api_ctx *c)
{
	const char *ls = api_query(c, "limit");
	uint64_t limit = 0;
	uint8_t p[20];
	json_t *l = NULL;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	if (ls != NULL && (phr_parse_u64(&limit, ls) != PHR_OK || limit > 1000))
		return api_fail(c, PHR_ERR_INVALID, "limit: 1..1000");
	rv = phr_notify_list(c->api->cfg.node, &l, p, (size_t)limit);
	return api_list_result(c, rv, l);
}
