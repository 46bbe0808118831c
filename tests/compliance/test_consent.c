/*
 * Consent as FHIR on an embedded chain. Round trip: a Consent permitting the
 * provider "correct" creates the Write grant the chain then enforces (the
 * provider can write only after it); a permit and a deny for the clinic in
 * one Consent: the deny overrides; a category permit opens only that
 * category; a deny revokes an existing overlapping grant; an inactive
 * Consent withdraws; the grants read back as Consent resources that
 * validate. Explain: every role of docs/authz-matrix.md for GET
 * /api/v1/records/{id} in each grant state (none, active, expired,
 * revoked), plus break-glass, gives the matrix's decision, the chain's own
 * decision, and the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_test_util.h"
#include "phr/compliance.h"
#include "phr/fhir_validate.h"
#include "phr/phr.h"

static const char obs[] = "{\"resourceType\":\"Observation\",\"status\":\"final\","
			  "\"code\":{\"text\":\"HbA1c\"}}";
static const char imm[] = "{\"resourceType\":\"Immunization\",\"status\":\"completed\","
			  "\"vaccineCode\":{\"text\":\"MMR\"},\"patient\":{\"display\":\"p\"},"
			  "\"occurrenceDateTime\":\"2026-01-01\"}";

static char *hex_addr(char out[64], const uint8_t a[20])
{
	out[0] = '0', out[1] = 'x';
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", a[i]);
	return out;
}

/* A Consent of @p pat with the provisions given as a JSON array text. */
static json_t *consent(const struct phr_identity *pat, const char *status, const char *provisions)
{
	char p[64], text[4096];
	json_error_t e;
	json_t *j;

	snprintf(text, sizeof(text),
		 "{\"resourceType\":\"Consent\",\"status\":\"%s\","
		 "\"scope\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
		 "consentscope\",\"code\":\"patient-privacy\"}]},"
		 "\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"59284-0\"}]}],"
		 "\"patient\":{\"identifier\":{\"system\":\"urn:ietf:rfc:3986\","
		 "\"value\":\"urn:ethereum:%s\"}},"
		 "\"provision\":{\"type\":\"deny\",\"provision\":%s}}",
		 status, hex_addr(p, pat->address), provisions);
	j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad test consent: %s", e.text);
	return j;
}

/* One provision: type, actor, optional action code, class code, period end. */
static void prov(char *out, size_t cap, const char *type, const struct phr_identity *actor,
		 const char *action, const char *cls, const char *end)
{
	char a[64], extra[512] = "";
	size_t n = 0;

	if (action != NULL)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\"action\":[{\"coding\":[{\"system\":\"http://terminology."
				      "hl7.org/CodeSystem/consentaction\",\"code\":\"%s\"}]}]",
				      action);
	if (cls != NULL)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\"class\":[{\"system\":\"urn:phr:record-type\",\"code\":\"%s\"}]",
				      cls);
	if (end != NULL)
		snprintf(extra + n, sizeof(extra) - n, ",\"period\":{\"end\":\"%s\"}", end);
	snprintf(out, cap,
		 "{\"type\":\"%s\",\"actor\":[{\"role\":{\"coding\":[{\"code\":\"IRCP\"}]},"
		 "\"reference\":{\"identifier\":{\"value\":\"urn:ethereum:%s\"}}}],"
		 "\"purpose\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActReason\","
		 "\"code\":\"TREAT\"}]%s}",
		 type, hex_addr(a, actor->address), extra);
}

struct fx {
	struct node_stack s;
	const struct phr_identity *pat, *prov, *clinic, *emerg, *auth, *aud, *op;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "consent"), 0);
	assert_int_equal(phr_dev_setup(f->s.node, NULL, false), PHR_OK);
	f->pat = phr_node_identity_by_name(f->s.node, "patient");
	f->prov = phr_node_identity_by_name(f->s.node, "provider");
	f->clinic = phr_node_identity_by_name(f->s.node, "clinic");
	f->emerg = phr_node_identity_by_name(f->s.node, "emergency");
	f->auth = phr_node_identity_by_name(f->s.node, "authority");
	f->aud = phr_node_identity_by_name(f->s.node, "auditor");
	f->op = phr_node_identity_by_name(f->s.node, "operator");
	assert_true(f->pat && f->prov && f->clinic && f->emerg && f->auth && f->aud && f->op);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	node_stack_close(&f->s);
	free(f);
	return 0;
}

static void expect(struct fx *f, const struct phr_identity *who, const struct phr_u256 *id,
		   bool allowed, const char *rule)
{
	json_t *o = NULL;

	assert_int_equal(phr_compliance_explain(f->s.node, &o, who->address, id), PHR_OK);
	if (json_is_true(json_object_get(o, "allowed")) != allowed ||
	    strcmp(json_string_value(json_object_get(o, "rule")), rule) != 0)
		fail_msg("%s: want %s %s, got %s", who->name, allowed ? "allowed" : "refused", rule,
			 json_dumps(o, JSON_COMPACT));
	/* the explanation agrees with the chain's own decision */
	assert_int_equal(json_is_true(json_object_get(o, "chain")), allowed);
	json_decref(o);
}

static void apply(struct fx *f, json_t *c, size_t applied, size_t overridden)
{
	json_t *out = NULL;

	assert_int_equal(phr_consent_apply(f->s.node, &out, f->pat, c), PHR_OK);
	if (json_array_size(json_object_get(out, "applied")) != applied ||
	    json_array_size(json_object_get(out, "overridden")) != overridden)
		fail_msg("outcome %s", json_dumps(out, JSON_COMPACT));
	json_decref(out);
	json_decref(c);
}

static void test_consent_round_trip(void **state)
{
	struct fx *f = *state;
	struct phr_node *n = f->s.node;
	struct phr_record_receipt lab, vac;
	struct phr_buf out;
	struct phr_record_meta m;
	char p1[1024], p2[1024], all[2100];
	json_t *b = NULL, *issues = NULL, *e;
	size_t i;

	phr_buf_init(&out, 0);
	/* no grant yet: the chain refuses the provider's write */
	assert_int_equal(phr_node_record_submit(n, &lab, f->prov, f->pat->address, 5, NULL,
						(const uint8_t *)obs, sizeof(obs) - 1),
			 PHR_ERR_FORBIDDEN);
	/* permit provider "correct" on everything until 2099: the Write grant */
	prov(p1, sizeof(p1), "permit", f->prov, "correct", NULL, "2099-01-01T00:00:00Z");
	snprintf(all, sizeof(all), "[%s]", p1);
	apply(f, consent(f->pat, "active", all), 1, 0);
	assert_int_equal(phr_node_record_submit(n, &lab, f->prov, f->pat->address, 5, NULL,
						(const uint8_t *)obs, sizeof(obs) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(n, &vac, f->prov, f->pat->address, 1, NULL,
						(const uint8_t *)imm, sizeof(imm) - 1),
			 PHR_OK);
	expect(f, f->prov, &lab.token_id, true, "grant");

	/* clinic: permit everything but deny lab results, in one Consent: the deny wins */
	prov(p1, sizeof(p1), "permit", f->clinic, "access", NULL, NULL);
	prov(p2, sizeof(p2), "deny", f->clinic, NULL, "LabResult", NULL);
	snprintf(all, sizeof(all), "[%s,%s]", p1, p2);
	apply(f, consent(f->pat, "active", all), 0, 1);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &lab.token_id, 1),
			 PHR_ERR_FORBIDDEN);
	expect(f, f->clinic, &lab.token_id, false, "no-grant");
	/* clinic: vaccinations only */
	prov(p1, sizeof(p1), "permit", f->clinic, "access", "Vaccination", NULL);
	snprintf(all, sizeof(all), "[%s]", p1);
	apply(f, consent(f->pat, "active", all), 1, 0);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &vac.token_id, 1), PHR_OK);
	phr_buf_reset(&out);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &lab.token_id, 1),
			 PHR_ERR_FORBIDDEN);
	expect(f, f->clinic, &vac.token_id, true, "grant");
	{
		json_t *o = NULL;
		assert_int_equal(phr_compliance_explain(n, &o, f->clinic->address, &vac.token_id),
				 PHR_OK);
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(o, "grant"), "scopeKind")),
				    "record category");
		json_decref(o);
	}
	expect(f, f->clinic, &lab.token_id, false, "no-grant");

	/* the grants read back as Consent resources that validate and parse back */
	assert_int_equal(phr_consent_from_grants(n, &b, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(json_object_get(b, "entry")), 2);
	if (phr_fhir_validate(&issues, b) != PHR_OK)
		fail_msg("Consent bundle invalid: %s", json_dumps(issues, JSON_INDENT(1)));
	json_decref(issues);
	json_array_foreach(json_object_get(b, "entry"), i, e) {
		struct phr_consent_op ops[PHR_CONSENT_MAX_OPS];
		size_t nops = 0;
		assert_int_equal(phr_consent_parse(ops, &nops, json_object_get(e, "resource"),
						   f->pat->address, 0),
				 PHR_OK);
		assert_int_equal(nops, 1);
		assert_true(ops[0].permit);
		assert_true(memcmp(ops[0].actor, f->prov->address, 20) == 0 ||
			    (memcmp(ops[0].actor, f->clinic->address, 20) == 0 &&
			     ops[0].scope[0] == 1 && ops[0].scope[31] == 1));
	}
	json_decref(b);

	/* a deny of lab results revokes the provider's grant on everything (it overlaps) */
	prov(p1, sizeof(p1), "deny", f->prov, NULL, "LabResult", NULL);
	snprintf(all, sizeof(all), "[%s]", p1);
	apply(f, consent(f->pat, "active", all), 1, 0);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->prov, &lab.token_id, 1),
			 PHR_ERR_FORBIDDEN);
	expect(f, f->prov, &lab.token_id, false, "grant-revoked");
	/* an inactive Consent withdraws what it names */
	prov(p1, sizeof(p1), "permit", f->clinic, "access", "Vaccination", NULL);
	snprintf(all, sizeof(all), "[%s]", p1);
	apply(f, consent(f->pat, "inactive", all), 1, 0);
	expect(f, f->clinic, &vac.token_id, false, "grant-revoked");
	/* somebody else's Consent is refused */
	{
		json_t *c = consent(f->clinic, "active", all), *o = NULL;
		assert_int_equal(phr_consent_apply(n, &o, f->pat, c), PHR_ERR_FORBIDDEN);
		json_decref(c);
	}
	phr_buf_release(&out);
}

/* Every role of the authz matrix (GET /api/v1/records/{id}) for one grant state. */
static void matrix_row(struct fx *f, const struct phr_u256 *id, const char *prov_rule,
		       bool prov_allowed)
{
	const struct phr_identity *others[] = { f->emerg, f->auth, f->aud, f->op };

	expect(f, f->pat, id, true, "patient-owner");
	expect(f, f->prov, id, prov_allowed, prov_rule);
	for (size_t i = 0; i < PHR_ARRAY_LEN(others); i++) {
		unsigned roles = 0;
		assert_int_equal(phr_node_roles(f->s.node, &roles, others[i]->address), PHR_OK);
		expect(f, others[i], id, false,
		       roles & PHR_R_PROVIDER ? "no-grant" : "not-a-verified-provider");
	}
}

static void test_explain_matrix(void **state)
{
	struct fx *f = *state;
	struct phr_node *n = f->s.node;
	struct phr_record_receipt r;
	struct phr_u256 gone;
	uint8_t scope[32];
	uint64_t now, exp;

	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(n, &now), PHR_OK);
	/* {id}: minted by another verified provider (the clinic) */
	assert_int_equal(phr_node_access_grant(n, f->pat, f->clinic->address, PHR_LEVEL_WRITE,
					       scope, now + 400 * 86400),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(n, &r, f->clinic, f->pat->address, 5, NULL,
						(const uint8_t *)obs, sizeof(obs) - 1),
			 PHR_OK);
	matrix_row(f, &r.token_id, "no-grant", false); /* none */
	assert_int_equal(phr_node_access_grant(n, f->pat, f->prov->address, PHR_LEVEL_WRITE, scope,
					       now + 30 * 86400),
			 PHR_OK);
	matrix_row(f, &r.token_id, "grant", true); /* active */
	assert_int_equal(phr_node_advance_time(n, 31 * 86400), PHR_OK);
	matrix_row(f, &r.token_id, "grant-expired", false); /* expired */
	assert_int_equal(phr_node_chain_time(n, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(n, f->pat, f->prov->address, PHR_LEVEL_WRITE, scope,
					       now + 30 * 86400),
			 PHR_OK);
	assert_int_equal(phr_node_access_revoke(n, f->pat, f->prov->address, scope), PHR_OK);
	matrix_row(f, &r.token_id, "grant-revoked", false); /* revoked */
	/* break-glass */
	assert_int_equal(phr_node_emergency_open(n, &exp, f->emerg, f->pat->address, 1,
						 "unconscious in the ER"),
			 PHR_OK);
	expect(f, f->emerg, &r.token_id, true, "break-glass");
	/* no such record */
	gone = r.token_id;
	gone.w[0] += 1000;
	expect(f, f->prov, &gone, false, "no-live-record");
}

static void test_consent_parse_errors(void **state)
{
	struct fx *f = *state;
	struct phr_consent_op ops[PHR_CONSENT_MAX_OPS];
	size_t n = 0;
	static const char *const bad[] = {
		"{}",
		"{\"resourceType\":\"Patient\"}",
		"{\"resourceType\":\"Consent\",\"status\":\"active\",\"provision\":{}}",
		"{\"resourceType\":\"Consent\",\"status\":\"weird\",\"patient\":{\"identifier\":"
		"{\"value\":\"urn:ethereum:0x0000000000000000000000000000000000000001\"}},\"provision\":{}}",
	};
	char p1[1024], all[1100];
	json_t *c;

	for (size_t i = 0; i < PHR_ARRAY_LEN(bad); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		assert_int_not_equal(phr_consent_parse(ops, &n, j, f->pat->address, 0), PHR_OK);
		json_decref(j);
	}
	/* an unknown record type, a bad date */
	prov(p1, sizeof(p1), "permit", f->prov, NULL, "Horoscope", NULL);
	snprintf(all, sizeof(all), "[%s]", p1);
	c = consent(f->pat, "active", all);
	assert_int_equal(phr_consent_parse(ops, &n, c, f->pat->address, 0), PHR_ERR_PARSE);
	json_decref(c);
	prov(p1, sizeof(p1), "permit", f->prov, NULL, NULL, "2026-13-01");
	snprintf(all, sizeof(all), "[%s]", p1);
	c = consent(f->pat, "active", all);
	assert_int_equal(phr_consent_parse(ops, &n, c, f->pat->address, 0), PHR_ERR_PARSE);
	json_decref(c);
	/* a date with an offset: 2030-01-01T02:00:00+02:00 is midnight UTC */
	prov(p1, sizeof(p1), "permit", f->prov, NULL, NULL, "2030-01-01T02:00:00+02:00");
	snprintf(all, sizeof(all), "[%s]", p1);
	c = consent(f->pat, "active", all);
	assert_int_equal(phr_consent_parse(ops, &n, c, f->pat->address, 0), PHR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].expiry, 1893456000);
	assert_int_equal(ops[0].purpose, 1);
	assert_int_equal(ops[0].level, PHR_LEVEL_READ);
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_consent_parse_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consent_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_matrix, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
