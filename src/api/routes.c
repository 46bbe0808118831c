/*
 * The route table, request matching and the validated field getters.
 */
#include <sodium.h>
#include <string.h>

#include "api_int.h"
#include "phr/crypto.h"
#include "phr/json.h"

const struct api_route api_route_table[] = {
	{ "GET", "/healthz", false, api_h_healthz },
	{ "GET", "/metrics", false, api_h_metrics },
	{ "POST", "/rpc", false, NULL },
	{ "GET", "/ipfs/{cid}", false, NULL },
	{ "GET", "/api/v1/openapi.json", false, api_h_openapi },
	{ "GET", "/api/v1/info", false, api_h_info },
	{ "POST", "/api/v1/auth/nonce", false, api_h_nonce },
	{ "POST", "/api/v1/auth/login", false, api_h_login },
	{ "POST", "/api/v1/auth/logout", true, api_h_logout },
	{ "GET", "/api/v1/me", true, api_h_me },
	{ "POST", "/api/v1/me/totp", true, api_h_totp_enroll },
	{ "POST", "/api/v1/me/totp/confirm", true, api_h_totp_confirm },
	{ "POST", "/api/v1/patients", true, api_h_register },
	{ "GET", "/api/v1/patients/{address}/records", true, api_h_patient_records },
	{ "GET", "/api/v1/patients/{address}/grants", true, api_h_patient_grants },
	{ "GET", "/api/v1/patients/{address}/requests", true, api_h_patient_requests },
	{ "GET", "/api/v1/patients/{address}/audit", true, api_h_patient_audit },
	{ "GET", "/api/v1/patients/{address}/denials", true, api_h_patient_denials },
	{ "POST", "/api/v1/records", true, api_h_submit },
	{ "POST", "/api/v1/ciphertext", true, api_h_ciphertext },
	{ "GET", "/api/v1/records/{id}", true, api_h_get_record },
	{ "GET", "/api/v1/records/{id}/content", true, api_h_get_content },
	{ "GET", "/api/v1/records/{id}/audit", true, api_h_record_audit },
	{ "GET", "/api/v1/records/{id}/capsules/{address}", false, api_h_capsule },
	{ "PUT", "/api/v1/records/{id}/capsules/{address}", true, api_h_capsule_put },
	{ "POST", "/api/v1/access/grants", true, api_h_grant },
	{ "POST", "/api/v1/access/revoke", true, api_h_revoke },
	{ "POST", "/api/v1/access/requests", true, api_h_request },
	{ "POST", "/api/v1/access/requests/{id}/approve", true, api_h_approve },
	{ "POST", "/api/v1/access/requests/{id}/deny", true, api_h_deny },
	{ "POST", "/api/v1/providers/verify", true, api_h_verify_provider },
	{ "POST", "/api/v1/emergency", true, api_h_emergency_open },
	{ "POST", "/api/v1/emergency/close", true, api_h_emergency_close },
	{ "GET", "/api/v1/escrow", false, api_h_escrow_info },
	{ "PUT", "/api/v1/escrow/{address}", false, api_h_escrow_deposit },
	{ "GET", "/api/v1/escrow/{address}", true, api_h_escrow_status },
	{ "POST", "/api/v1/escrow/{address}/release", false, api_h_escrow_release },
	{ "POST", "/api/v1/me/webhooks", true, api_h_webhook_add },
	{ "GET", "/api/v1/me/webhooks", true, api_h_webhook_list },
	{ "DELETE", "/api/v1/me/webhooks/{id}", true, api_h_webhook_delete },
	{ "GET", "/api/v1/patients/{address}/notifications", true, api_h_patient_notifications },
	{ "POST", "/api/v1/tx", true, api_h_tx },
	{ "POST", "/api/v1/milestones/{id}", true, api_h_milestone_publish },
	{ "GET", "/api/v1/milestones/{id}", false, api_h_milestone_get },
	{ "GET", "/api/v1/milestones/{id}/verify", false, api_h_milestone_verify },
	{ "GET", "/api/v1/milestones/{id}/details", true, api_h_milestone_details },
	{ "GET", "/api/v1/milestones/{id}/typed-data", false, api_h_milestone_typed_data },
	{ "GET", "/api/v1/patients/{address}/milestones", true, api_h_patient_milestones },
	{ "POST", "/api/v1/records/{id}/shc", true, api_h_shc_issue },
	{ "POST", "/api/v1/shc/verify", false, api_h_shc_verify },
	{ "POST", "/api/v1/studies", true, api_h_study_create },
	{ "GET", "/api/v1/studies/{name}", true, api_h_study_get },
	{ "GET", "/api/v1/studies/{name}/shares/{address}", false, api_h_study_share },
	{ "POST", "/api/v1/studies/{name}/consent", true, api_h_study_consent },
	{ "POST", "/api/v1/studies/{name}/submissions", true, api_h_study_submit },
	{ "POST", "/api/v1/studies/{name}/close", true, api_h_study_close },
	{ "POST", "/api/v1/studies/{name}/partials", true, api_h_study_partial },
	{ "GET", "/api/v1/studies/{name}/result", true, api_h_study_result },
	{ "GET", "/api/v1/studies/{name}/log", true, api_h_study_log },
	{ "GET", "/api/v1/backups/status", true, api_h_backups_status },
	{ "GET", "/api/v1/recovery/{address}", true, api_h_recovery_status },
	{ "POST", "/api/v1/recovery/shares/release", true, api_h_recovery_share_release },
	{ "GET", "/api/v1/patients/{address}/disclosures", true, api_h_compliance_disclosures },
	{ "GET", "/api/v1/patients/{address}/export", true, api_h_compliance_export },
	{ "GET", "/api/v1/compliance/report", true, api_h_compliance_report },
	{ "GET", "/api/v1/compliance/audit/verify", true, api_h_compliance_verify },
	{ "POST", "/api/v1/compliance/anomalies/scan", true, api_h_compliance_anomalies },
	{ "GET", "/api/v1/compliance/jobs", true, api_h_compliance_jobs },
	{ "GET", "/api/v1/explain", true, api_h_explain },
	{ "GET", "/api/v1/patients/{address}/consents", true, api_h_consents_get },
	{ "POST", "/api/v1/patients/{address}/consents", true, api_h_consents_post },
	{ "GET", "/api/v1/records/{id}/erasure", true, api_h_erasure_get },
	{ "POST", "/api/v1/records/{id}/erasure", true, api_h_erasure_request },
	{ "POST", "/api/v1/records/{id}/erasure/finish", true, api_h_erasure_finish },
	{ "POST", "/api/v1/records/{id}/hold", true, api_h_erasure_hold },
	{ "POST", "/api/v1/zk/verify", false, api_h_zk_verify },
	{ NULL, NULL, false, NULL },
};

/* Path prefixes served by one function each (api_int.h); most specific first, "/" last. */
const struct api_mount api_mount_table[] = {
	{ "/fhir", (size_t)32 << 20, api_fhir_serve, false }, /* fhir_server.c */
	{ "/api/v1/dicom", (size_t)2 << 30, api_dicom_serve, true }, /* h_dicom.c, spooled */
	{ "/.well-known/", 0, api_wellknown_serve, false }, /* h_shc.c */
	{ "/", 0, api_portal_serve, false }, /* portal.c: keep last */
	{ NULL, 0, NULL, false },
};

const struct phr_api_route_info *phr_api_routes(void)
{
	static struct phr_api_route_info info[PHR_ARRAY_LEN(api_route_table)];
	static bool init;

	if (!init) {
		for (size_t i = 0; i < PHR_ARRAY_LEN(api_route_table); i++) {
			info[i].method = api_route_table[i].method;
			info[i].path = api_route_table[i].path;
			info[i].auth = api_route_table[i].auth;
		}
		init = true;
	}
	return info;
}

/* Matches @p path against template @p t; fills params. */
static int match(const char *t, const char *path, struct phr_api_req *req)
{
	size_t np = 0;

	while (*t != '\0') {
		if (*t == '{') {
			const char *te = strchr(t, '}');
			size_t n = strcspn(path, "/");
			if (te == NULL || n == 0)
				return 0;
			if (n >= sizeof(req->params[0]) || np == PHR_API_MAX_PARAMS)
				return -1;
			memcpy(req->params[np], path, n);
			req->params[np][n] = '\0';
			np++;
			path += n;
			t = te + 1;
			continue;
		}
		if (*t != *path)
			return 0;
		t++;
		path++;
	}
	if (*path != '\0')
		return 0;
	req->n_params = np;
	return 1;
}

int phr_api_req_parse(struct phr_api_req *req, const char *method, const char *path,
		      const char *body, size_t body_len, bool json)
{
	bool path_seen = false;

	memset(req, 0, sizeof(*req));
	req->route = -1;
	for (size_t i = 0; api_route_table[i].method != NULL; i++) {
		struct phr_api_req tmp;
		int m;
		memset(&tmp, 0, sizeof(tmp));
		m = match(api_route_table[i].path, path, &tmp);
		if (m < 0)
			return 400;
		if (m == 0)
			continue;
		path_seen = true;
		if (strcmp(api_route_table[i].method, method) != 0)
			continue;
		tmp.route = (int)i;
		*req = tmp;
		break;
	}
	if (req->route < 0)
		return path_seen ? 405 : 404;
	if (body_len > 0 && json) {
		json_t *j = NULL;
		if (body_len > PHR_API_MAX_JSON)
			return 413;
		if (phr_json_parse(&j, NULL, 0, body, body_len) != PHR_OK)
			return 400;
		if (!json_is_object(j)) {
			json_decref(j);
			return 400;
		}
		req->body = j;
	}
	return 0;
}

void phr_api_req_release(struct phr_api_req *req)
{
	json_decref(req->body);
	req->body = NULL;
}

int phr_api_param_address(uint8_t addr[20], const char *s)
{
	if (s == NULL || strlen(s) != 42 || phr_eth_address_parse(addr, s) != PHR_OK)
		return PHR_ERR_INVALID;
	return PHR_OK;
}

int phr_api_param_u256(struct phr_u256 *v, const char *s)
{
	struct phr_u256 x;

	if (s == NULL || *s == '\0' || strlen(s) > 78)
		return PHR_ERR_INVALID;
	for (const char *p = s[0] == '0' && s[1] == 'x' ? s + 2 : s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (s[1] == 'x' && ((*p >= 'a' && *p <= 'f') ||
								    (*p >= 'A' && *p <= 'F')))))
			return PHR_ERR_INVALID;
	if (phr_u256_parse(&x, s) != PHR_OK)
		return PHR_ERR_INVALID;
	*v = x;
	return PHR_OK;
}

int phr_api_get_address(uint8_t addr[20], const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return PHR_ERR_NOT_FOUND;
	if (!json_is_string(v))
		return PHR_ERR_INVALID;
	return phr_api_param_address(addr, json_string_value(v));
}

int phr_api_get_u256(struct phr_u256 *out, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	char tmp[32];

	if (v == NULL || json_is_null(v))
		return PHR_ERR_NOT_FOUND;
	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0)
			return PHR_ERR_INVALID;
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		return phr_api_param_u256(out, tmp);
	}
	if (!json_is_string(v))
		return PHR_ERR_INVALID;
	return phr_api_param_u256(out, json_string_value(v));
}

int phr_api_get_uint(uint64_t *out, const json_t *obj, const char *key, uint64_t max)
{
	uint64_t x;
	int rv = phr_json_get_u64(&x, obj, key);

	if (rv == PHR_ERR_NOT_FOUND)
		return rv;
	if (rv != PHR_OK || x > max)
		return PHR_ERR_INVALID;
	*out = x;
	return PHR_OK;
}

int phr_api_get_level(enum phr_level *level, const json_t *obj, const char *key)
{
	static const char *const names[] = { "none", "read", "write", "admin" };
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return PHR_ERR_NOT_FOUND;
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 3) {
		*level = (enum phr_level)json_integer_value(v);
		return PHR_OK;
	}
	if (json_is_string(v))
		for (unsigned i = 1; i < 4; i++)
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*level = (enum phr_level)i;
				return PHR_OK;
			}
	return PHR_ERR_INVALID;
}

int phr_api_get_scope(uint8_t scope[32], const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	uint64_t t;
	struct phr_u256 id;

	if (v == NULL || json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), "all") == 0)) {
		phr_scope_all(scope);
		return PHR_OK;
	}
	if (json_is_string(v)) {
		uint8_t s[32];
		const char *h = json_string_value(v);
		if (strlen(h) != 66 || phr_hex_decode_exact(s, 32, h) != PHR_OK)
			return PHR_ERR_INVALID;
		if (!((s[0] == 0 && sodium_is_zero(s, 32)) ||
		      (s[0] == 1 && sodium_is_zero(s + 1, 30) && s[31] <= PHR_RECORD_TYPE_MAX) ||
		      s[0] == 2))
			return PHR_ERR_INVALID;
		memcpy(scope, s, 32);
		return PHR_OK;
	}
	if (!json_is_object(v) || json_object_size(v) != 1)
		return PHR_ERR_INVALID;
	if (phr_api_get_uint(&t, v, "category", PHR_RECORD_TYPE_MAX) == PHR_OK) {
		phr_scope_category(scope, (unsigned)t);
		return PHR_OK;
	}
	if (phr_api_get_u256(&id, v, "record") == PHR_OK && id.w[3] >> 56 == 0) {
		phr_scope_record(scope, &id);
		return PHR_OK;
	}
	return PHR_ERR_INVALID;
}

int phr_api_get_base64(struct phr_buf *out, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n, bin_len = 0;

	if (v == NULL || json_is_null(v))
		return PHR_ERR_NOT_FOUND;
	if (!json_is_string(v))
		return PHR_ERR_INVALID;
	s = json_string_value(v);
	n = json_string_length(v);
	if (phr_buf_reserve(out, n / 4 * 3 + 3) != PHR_OK)
		return PHR_ERR_INVALID;
	if (sodium_base642bin(out->data + out->len, out->cap - out->len - 1, s, n, NULL, &bin_len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return PHR_ERR_INVALID;
	out->len += bin_len;
	out->data[out->len] = '\0';
	return PHR_OK;
}
