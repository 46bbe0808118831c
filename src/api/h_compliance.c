/*
 * Compliance endpoints (include/phr/compliance.h, docs/compliance.md):
 *   GET  /api/v1/patients/{address}/disclosures  §164.528 accounting (patient, auditor)
 *   GET  /api/v1/patients/{address}/export       GDPR export of a hosted patient (self, TOTP)
 *   GET  /api/v1/compliance/report               organisation audit report (auditor)
 *   GET  /api/v1/compliance/audit/verify         audit-trail integrity (auditor; patient: own)
 *   POST /api/v1/compliance/anomalies/scan       the access anomaly rule (auditor)
 *   GET  /api/v1/compliance/jobs                 the compliance job's last pass (auditor)
 *   GET  /api/v1/explain?actor=&record=          why an actor can or cannot read a record
 *   GET  /api/v1/patients/{address}/consents     grants as FHIR Consents (patient, auditor)
 *   POST /api/v1/patients/{address}/consents     a Consent creates/changes/revokes grants
 *   GET|POST /api/v1/records/{id}/erasure        erasure state | request (owner)
 *   POST /api/v1/records/{id}/erasure/finish     burn after the request (owner)
 *   POST /api/v1/records/{id}/hold               legal hold set/release (hold authority)
 */
#include <sodium.h>
#include <string.h>

#include "api_int.h"
#include "phr/compliance.h"
#include "phr/crypto.h"
#include "phr/json.h"

#define OBSERVER "phr node"

static int q_u64(struct api_ctx *c, uint64_t *v, const char *key)
{
	const char *s = api_query(c, key);

	if (s == NULL)
		return PHR_OK;
	if (phr_parse_u64(v, s) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "query parameter %s must be a number", key);
	return PHR_OK;
}

static int q_addr(struct api_ctx *c, uint8_t out[20], const uint8_t **set, const char *key)
{
	const char *s = api_query(c, key);

	if (s == NULL)
		return PHR_OK;
	if (phr_api_param_address(out, s) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "query parameter %s must be a 0x address", key);
	*set = out;
	return PHR_OK;
}

/* Answers rows as JSON {items, count}, CSV or a FHIR Bundle of BALP AuditEvents. */
static int rows_answer(struct api_ctx *c, json_t *rows)
{
	const char *fmt = api_query(c, "format");
	struct phr_buf b;
	json_t *bundle = NULL;
	int rv;

	if (fmt == NULL || strcmp(fmt, "json") == 0)
		return api_list_result(c, PHR_OK, rows);
	if (strcmp(fmt, "csv") == 0) {
		phr_buf_init(&b, 0);
		rv = phr_compliance_rows_csv(&b, rows);
		json_decref(rows);
		if (rv != PHR_OK) {
			phr_buf_release(&b);
			return api_fail(c, rv, "csv");
		}
		c->raw_out = phr_buf_detach(&b, &c->raw_len);
		c->raw_type = "text/csv; charset=utf-8";
		c->status = 200;
		return PHR_OK;
	}
	if (strcmp(fmt, "fhir") == 0) {
		rv = phr_compliance_rows_balp(&bundle, rows, OBSERVER);
		json_decref(rows);
		if (rv != PHR_OK)
			return api_fail(c, rv, "AuditEvents");
		return api_ok(c, 200, bundle);
	}
	json_decref(rows);
	return api_fail(c, PHR_ERR_INVALID, "format must be json, csv or fhir");
}

static int report(struct api_ctx *c, struct phr_compliance_query *q)
{
	uint64_t purpose = UINT64_MAX;
	json_t *rows = NULL;
	int rv;

	if ((rv = q_u64(c, &q->from, "from")) != PHR_OK || (rv = q_u64(c, &q->to, "to")) != PHR_OK ||
	    (rv = q_u64(c, &purpose, "purpose")) != PHR_OK)
		return rv;
	if (purpose != UINT64_MAX) {
		if (purpose > PHR_PURPOSE_MAX)
			return api_fail(c, PHR_ERR_INVALID, "purpose is 0..%u", PHR_PURPOSE_MAX);
		q->purpose = (int)purpose;
	}
	rv = phr_compliance_report(c->api->cfg.node, &rows, q);
	if (rv != PHR_OK)
		return api_fail(c, rv, "the audit trail");
	return rows_answer(c, rows);
}

int api_h_compliance_disclosures(struct api_ctx *c)
{
	struct phr_compliance_query q = { .purpose = -1, .disclosures_only = true };
	uint8_t p[20];
	uint64_t now = 0;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	q.patient = p;
	/* six years back unless the caller says otherwise */
	if ((rv = phr_node_chain_time(c->api->cfg.node, &now)) != PHR_OK)
		return api_fail(c, rv, "chain time");
	q.from = now > PHR_COMPLIANCE_ACCOUNTING_WINDOW ? now - PHR_COMPLIANCE_ACCOUNTING_WINDOW : 0;
	return report(c, &q);
}

int api_h_compliance_report(struct api_ctx *c)
{
	struct phr_compliance_query q = { .purpose = -1 };
	uint8_t actor[20], patient[20];
	const char *d = api_query(c, "disclosures");
	int rv;

	if (!api_is_auditor(c->api, c->caller))
		return api_fail(c, PHR_ERR_FORBIDDEN, "the audit report is for auditors");
	if ((rv = q_addr(c, actor, &q.actor, "actor")) != PHR_OK ||
	    (rv = q_addr(c, patient, &q.patient, "patient")) != PHR_OK)
		return rv;
	q.disclosures_only = d != NULL && strcmp(d, "true") == 0;
	return report(c, &q);
}

int api_h_compliance_verify(struct api_ctx *c)
{
	uint8_t patient[20];
	const uint8_t *p = NULL;
	json_t *rep = NULL;
	int rv;

	if ((rv = q_addr(c, patient, &p, "patient")) != PHR_OK)
		return rv;
	if (!api_is_auditor(c->api, c->caller) && (p == NULL || memcmp(p, c->caller, 20) != 0))
		return api_fail(c, PHR_ERR_FORBIDDEN,
				"auditors verify any trail; a patient verifies her own (?patient=)");
	rv = phr_compliance_audit_verify(c->api->cfg.node, &rep, p);
	if (rv != PHR_OK)
		return api_fail(c, rv, "verifying the audit trail");
	return api_ok(c, 200, rep);
}

int api_h_compliance_anomalies(struct api_ctx *c)
{
	struct phr_compliance_anomaly_rule r;
	uint64_t v;
	json_t *found = NULL;
	int rv;

	if (!api_is_auditor(c->api, c->caller))
		return api_fail(c, PHR_ERR_FORBIDDEN, "the anomaly scan is for auditors");
	phr_compliance_anomaly_defaults(&r);
	if ((rv = q_u64(c, &r.window, "window")) != PHR_OK ||
	    (rv = q_u64(c, &r.baseline, "baseline")) != PHR_OK)
		return rv;
	v = r.min_records;
	if ((rv = q_u64(c, &v, "minRecords")) != PHR_OK)
		return rv;
	r.min_records = v > 1000000 ? 1000000 : (unsigned)v;
	v = r.factor;
	if ((rv = q_u64(c, &v, "factor")) != PHR_OK)
		return rv;
	r.factor = v > 1000000 ? 1000000 : (unsigned)v;
	rv = phr_compliance_anomaly_scan(c->api->cfg.node, &found, &r, c->caller);
	if (rv != PHR_OK)
		return api_fail(c, rv, "anomaly scan");
	return api_list_result(c, PHR_OK, found);
}

static int raw_answer(struct api_ctx *c, struct phr_buf *b, const char *type)
{
	c->raw_out = phr_buf_detach(b, &c->raw_len);
	c->raw_type = type;
	c->status = 200;
	return PHR_OK;
}

/* {bundle, car (base64), accessLog} of the hosted patient @p me. */
static int export_all(struct api_ctx *c, const struct phr_identity *me, const uint8_t p[20])
{
	struct phr_compliance_query q = { .patient = p, .purpose = -1 };
	struct phr_buf car;
	json_t *bundle = NULL, *log = NULL, *out = NULL;
	char *b64 = NULL;
	size_t cap = 0;
	int rv;

	phr_buf_init(&car, 0);
	rv = phr_compliance_export_bundle(c->api->cfg.node, &bundle, NULL, NULL, me);
	if (rv == PHR_OK && json_array_size(json_object_get(bundle, "entry")) > 0)
		rv = phr_compliance_export_car(c->api->cfg.node, &car, NULL, me);
	if (rv == PHR_OK)
		rv = phr_compliance_report(c->api->cfg.node, &log, &q);
	if (rv == PHR_OK) {
		cap = sodium_base64_ENCODED_LEN(car.len, sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = phr_malloc(cap)) == NULL)
			rv = PHR_ERR_NOMEM;
	}
	if (rv == PHR_OK) {
		sodium_bin2base64(b64, cap, car.data, car.len, sodium_base64_VARIANT_ORIGINAL);
		out = json_pack("{s:s,s:O,s:s,s:O}", "format", "phr-export/1", "bundle", bundle, "car",
				b64, "accessLog", log);
		if (out == NULL)
			rv = PHR_ERR_NOMEM;
	}
	phr_free(b64);
	phr_buf_release(&car);
	json_decref(bundle);
	json_decref(log);
	if (rv != PHR_OK)
		return api_fail(c, rv, "export");
	return api_ok(c, 200, out);
}

int api_h_compliance_export(struct api_ctx *c)
{
	const struct phr_identity *me;
	const char *part = api_query(c, "part");
	struct phr_compliance_query q = { .purpose = -1 };
	struct phr_buf b;
	json_t *j = NULL;
	uint8_t p[20];
	int rv;

	if (phr_api_param_address(p, c->req.params[0]) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "the path must name a 0x address");
	if (memcmp(p, c->caller, 20) != 0)
		return api_fail(c, PHR_ERR_FORBIDDEN, "only the patient may export her records");
	if (part != NULL && strcmp(part, "log") == 0) {
		/* the access log holds what the chain shows: any patient, keystore ones too */
		q.patient = p;
		rv = phr_compliance_report(c->api->cfg.node, &j, &q);
		return rv == PHR_OK ? rows_answer(c, j) : api_fail(c, rv, "the audit trail");
	}
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN; /* api_hosted_caller set the problem */
	if ((rv = api_totp_check(c)) != PHR_OK)
		return rv;
	if (part == NULL)
		part = "bundle";
	phr_buf_init(&b, 0);
	if (strcmp(part, "bundle") == 0 || strcmp(part, "ndjson") == 0) {
		rv = phr_compliance_export_bundle(c->api->cfg.node, &j, NULL, NULL, me);
		if (rv == PHR_OK && part[0] == 'b')
			return api_ok(c, 200, j);
		if (rv == PHR_OK)
			rv = phr_compliance_bundle_ndjson(&b, j);
		json_decref(j);
		if (rv == PHR_OK)
			return raw_answer(c, &b, "application/fhir+ndjson");
	} else if (strcmp(part, "car") == 0) {
		rv = phr_compliance_export_car(c->api->cfg.node, &b, NULL, me);
		if (rv == PHR_OK)
			return raw_answer(c, &b, "application/vnd.ipld.car");
	} else if (strcmp(part, "all") == 0) {
		/* everything in one answer (one TOTP code: a code is good once per step) */
		return export_all(c, me, p);
	} else {
		return api_fail(c, PHR_ERR_INVALID, "part must be all, bundle, ndjson, car or log");
	}
	phr_buf_release(&b);
	return api_fail(c, rv, "export");
}

/* --- consent, explain, erasure, the job --------------------------------------------- */

int api_h_explain(struct api_ctx *c)
{
	struct phr_record_meta m;
	struct phr_u256 id;
	uint8_t actor[20];
	const char *a = api_query(c, "actor"), *r = api_query(c, "record");
	json_t *out = NULL;
	int rv;

	if (a == NULL || r == NULL || phr_api_param_address(actor, a) != PHR_OK ||
	    phr_api_param_u256(&id, r) != PHR_OK)
		return api_fail(c, PHR_ERR_INVALID, "actor (0x address) and record (id) are required");
	/* the actor itself, the record's patient, or an auditor (that a token is not live is
	 * public on chain: anybody signed in hears it) */
	rv = phr_node_record_meta(c->api->cfg.node, &m, &id);
	if (rv != PHR_OK && rv != PHR_ERR_NOT_FOUND)
		return api_fail(c, rv, "reading the record");
	if (rv == PHR_OK && memcmp(actor, c->caller, 20) != 0 &&
	    !api_is_auditor(c->api, c->caller) && memcmp(m.patient, c->caller, 20) != 0)
		return api_fail(c, PHR_ERR_FORBIDDEN,
				"the actor, the record's patient or an auditor may ask");
	rv = phr_compliance_explain(c->api->cfg.node, &out, actor, &id);
	if (rv != PHR_OK)
		return api_fail(c, rv, "explain");
	return api_ok(c, 200, out);
}

int api_h_consents_get(struct api_ctx *c)
{
	uint8_t p[20];
	json_t *b = NULL;
	int rv = api_patient_param(c, p, false);

	if (rv != PHR_OK)
		return rv;
	rv = phr_consent_from_grants(c->api->cfg.node, &b, p);
	if (rv != PHR_OK)
		return api_fail(c, rv, "grants");
	return api_ok(c, 200, b);
}

/* The hosted patient of path parameter 0, who must be the caller. */
static const struct phr_identity *self_patient(struct api_ctx *c)
{
	uint8_t p[20];

	if (phr_api_param_address(p, c->req.params[0]) != PHR_OK) {
		api_fail(c, PHR_ERR_INVALID, "the path must name a 0x address");
		return NULL;
	}
	if (memcmp(p, c->caller, 20) != 0) {
		api_fail(c, PHR_ERR_FORBIDDEN, "only the patient may do this");
		return NULL;
	}
	return api_hosted_caller(c);
}

int api_h_consents_post(struct api_ctx *c)
{
	const struct phr_identity *me = self_patient(c);
	json_t *out = NULL;
	int rv;

	if (me == NULL)
		return PHR_ERR_FORBIDDEN;
	if ((rv = api_totp_check_enrolled(c)) != PHR_OK)
		return rv;
	if (c->req.body == NULL)
		return api_fail(c, PHR_ERR_INVALID, "the body must be a FHIR Consent");
	rv = phr_consent_apply(c->api->cfg.node, &out, me, c->req.body);
	if (rv == PHR_ERR_PARSE)
		return api_fail(c, PHR_ERR_INVALID, "not a Consent phr can apply (docs/compliance.md)");
	if (rv != PHR_OK)
		return api_fail(c, rv, "applying the Consent");
	return api_ok(c, 200, out);
}

static int record_param(struct api_ctx *c, struct phr_u256 *id)
{
	if (phr_api_param_u256(id, c->req.params[0]) != PHR_OK || phr_u256_is_zero(id))
		return api_fail(c, PHR_ERR_INVALID, "the path must name a record id");
	return PHR_OK;
}

static int erasure_answer(struct api_ctx *c, const struct phr_u256 *id, unsigned status)
{
	json_t *st = NULL;
	int rv = phr_erasure_status(c->api->cfg.node, &st, id);

	if (rv != PHR_OK)
		return api_fail(c, rv, "erasure state");
	return api_ok(c, status, st);
}

int api_h_erasure_get(struct api_ctx *c)
{
	struct phr_u256 id;
	int rv = record_param(c, &id);

	return rv != PHR_OK ? rv : erasure_answer(c, &id, 200);
}

/* POST erasure (request) and erasure/finish (burn): the hosted patient's owner. */
static int erasure_owner(struct api_ctx *c, bool finish)
{
	const struct phr_identity *me;
	struct phr_u256 id;
	int rv = record_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	if ((rv = api_totp_check_enrolled(c)) != PHR_OK)
		return rv;
	rv = finish ? phr_erasure_finish(c->api->cfg.node, me, &id)
		    : phr_erasure_request(c->api->cfg.node, me, &id);
	if (rv == PHR_ERR_REVERTED)
		return api_fail(c, PHR_ERR_CONFLICT,
				"refused on chain: not the owner, no live record, already asked, "
				"or under legal hold (GET .../erasure)");
	if (rv != PHR_OK)
		return api_fail(c, rv, finish ? "burning the token" : "the erasure request");
	return erasure_answer(c, &id, finish ? 200 : 202);
}

int api_h_erasure_request(struct api_ctx *c)
{
	return erasure_owner(c, false);
}

int api_h_erasure_finish(struct api_ctx *c)
{
	return erasure_owner(c, true);
}

int api_h_erasure_hold(struct api_ctx *c)
{
	const struct phr_identity *me;
	struct phr_u256 id;
	uint8_t h[32];
	const char *reason = json_string_value(json_object_get(c->req.body, "reason"));
	bool release = json_is_true(json_object_get(c->req.body, "release"));
	int rv = record_param(c, &id);

	if (rv != PHR_OK)
		return rv;
	if ((me = api_hosted_caller(c)) == NULL)
		return PHR_ERR_FORBIDDEN;
	if (reason == NULL || *reason == '\0' || strlen(reason) > 4096)
		return api_fail(c, PHR_ERR_INVALID,
				"reason (text, kept off chain: only its keccak256 is recorded) is required");
	phr_keccak256(h, (const uint8_t *)reason, strlen(reason));
	rv = phr_erasure_hold(c->api->cfg.node, me, &id, h, !release);
	if (rv == PHR_ERR_REVERTED)
		return api_fail(c, PHR_ERR_FORBIDDEN, "refused on chain: not a hold authority, or no hold");
	if (rv != PHR_OK)
		return api_fail(c, rv, "legal hold");
	return erasure_answer(c, &id, 200);
}

int api_h_compliance_jobs(struct api_ctx *c)
{
	if (!api_is_auditor(c->api, c->caller))
		return api_fail(c, PHR_ERR_FORBIDDEN, "the job status is for auditors");
	return api_ok(c, 200, phr_compliance_job_status());
}

int api_consent_hook(struct api_ctx *c, json_t **answer, const struct phr_identity *me,
		     const json_t *consent)
{
	const char *pv = json_string_value(
		json_object_get(json_object_get(json_object_get(consent, "patient"), "identifier"),
				"value"));
	uint8_t p[20];
	json_t *out = NULL;
	char msg[200];
	int rv;

	/* the caller's own Consent (urn:ethereum:0x...) only; any other is a stored document */
	if (me == NULL || pv == NULL || strncmp(pv, "urn:ethereum:", 13) != 0 ||
	    phr_api_param_address(p, pv + 13) != PHR_OK || memcmp(p, me->address, 20) != 0)
		return PHR_ERR_NOT_FOUND;
	rv = phr_consent_apply(c->api->cfg.node, &out, me, consent);
	if (rv == PHR_ERR_PARSE)
		return api_fail(c, PHR_ERR_INVALID,
				"a Consent phr can apply names its actors as urn:ethereum:0x... "
				"(docs/compliance.md)");
	if (rv != PHR_OK)
		return api_fail(c, rv, "applying the Consent to the chain");
	snprintf(msg, sizeof(msg),
		 "applied to the chain: %zu grant changes, %zu permits overridden by denies "
		 "(GET /api/v1/patients/{address}/consents shows the grants)",
		 json_array_size(json_object_get(out, "applied")),
		 json_array_size(json_object_get(out, "overridden")));
	json_decref(out);
	json_decref(*answer);
	*answer = json_pack("{s:s,s:[{s:s,s:s,s:s}]}", "resourceType", "OperationOutcome", "issue",
			    "severity", "information", "code", "informational", "diagnostics", msg);
	return *answer != NULL ? PHR_OK : api_fail(c, PHR_ERR_NOMEM, "answer");
}
