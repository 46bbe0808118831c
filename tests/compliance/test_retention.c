/*
 * Retention on an embedded chain: lab results are kept 30 days, grants 60.
 * After 31 days the job's pass erases one lab result (burnt, blocks gone),
 * keeps the other under legal hold and leaves the vaccination (no retention);
 * after 61 days the provider's grant given on day 0 is revoked, the clinic's
 * given on day 31 stays. The pass is reported in the actions, the job status
 * and the Prometheus counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/node_test_util.h"
#include "phr/compliance.h"
#include "phr/crypto.h"
#include "phr/phr.h"
#include "phr/store.h"

static void test_policy_parse(void **state)
{
	static const char *const bad[] = { "[]", "{\"x\":1}", "{\"records\":{\"Horoscope\":1}}",
					   "{\"records\":{\"default\":-1}}", "{\"grants\":\"1d\"}",
					   "{\"records\":[]}" };
	struct phr_retention_policy p;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < PHR_ARRAY_LEN(bad); i++) {
		j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		assert_int_equal(phr_retention_policy_from_json(&p, j), PHR_ERR_PARSE);
		json_decref(j);
	}
	j = json_loads("{\"records\":{\"default\":100,\"LabResult\":7,\"6\":0},\"grants\":9}", 0,
		       NULL);
	assert_int_equal(phr_retention_policy_from_json(&p, j), PHR_OK);
	assert_int_equal(p.record_ttl[5], 7);
	assert_int_equal(p.record_ttl[6], 0);
	assert_int_equal(p.record_ttl[1], 100);
	assert_int_equal(p.grant_ttl, 9);
	json_decref(j);
}

static bool live(struct phr_node *n, const struct phr_u256 *id)
{
	struct phr_record_meta m;

	return phr_node_record_meta(n, &m, id) == PHR_OK;
}

static void test_retention(void **state)
{
	struct node_stack s;
	struct phr_compliance_job_config cfg;
	struct phr_record_receipt r1, r2, r3;
	struct phr_retention_report rep;
	const struct phr_identity *pat, *prov, *clinic, *op;
	static const char obs[] = "{\"resourceType\":\"Observation\",\"status\":\"final\"}";
	uint8_t scope[32], reason[32];
	uint64_t now;
	json_t *pol, *actions = NULL, *st, *grants = NULL, *g;
	struct phr_buf met;
	struct phr_cid cid;
	size_t i;

	(void)state;
	assert_int_equal(node_stack_open(&s, "retention"), 0);
	assert_int_equal(phr_dev_setup(s.node, NULL, false), PHR_OK);
	pat = phr_node_identity_by_name(s.node, "patient");
	prov = phr_node_identity_by_name(s.node, "provider");
	clinic = phr_node_identity_by_name(s.node, "clinic");
	op = phr_node_identity_by_name(s.node, "operator");
	assert_true(pat && prov && clinic && op);
	memset(&cfg, 0, sizeof(cfg));
	pol = json_loads("{\"records\":{\"LabResult\":2592000},\"grants\":5184000}", 0, NULL);
	assert_int_equal(phr_retention_policy_from_json(&cfg.retention, pol), PHR_OK);
	json_decref(pol);
	cfg.retention_on = true;
	cfg.interval = 3600;
	cfg.signer = op;
	phr_compliance_anomaly_defaults(&cfg.anomaly);

	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(s.node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(s.node, pat, prov->address, PHR_LEVEL_WRITE, scope,
					       now + 90 * 86400),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s.node, &r1, prov, pat->address, 5, NULL,
						(const uint8_t *)obs, sizeof(obs) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s.node, &r2, prov, pat->address, 1, NULL,
						(const uint8_t *)obs, sizeof(obs) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s.node, &r3, prov, pat->address, 5, NULL,
						(const uint8_t *)obs, sizeof(obs) - 2),
			 PHR_OK);
	phr_keccak256(reason, (const uint8_t *)"audit 17", 8);
	assert_int_equal(phr_erasure_hold(s.node, op, &r3.token_id, reason, true), PHR_OK);

	/* day 0: nothing is due */
	assert_int_equal(phr_retention_run(s.node, &rep, NULL, &cfg.retention, op), PHR_OK);
	assert_int_equal(rep.records_due + rep.grants_due, 0);

	/* day 31: the job's pass erases r1, keeps r3 (hold) and r2 (no retention) */
	assert_int_equal(phr_node_advance_time(s.node, 31 * 86400), PHR_OK);
	assert_int_equal(phr_node_chain_time(s.node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(s.node, pat, clinic->address, PHR_LEVEL_READ, scope,
					       now + 90 * 86400),
			 PHR_OK);
	assert_int_equal(phr_compliance_job_pass(s.node, &cfg), PHR_OK);
	assert_false(live(s.node, &r1.token_id));
	assert_true(live(s.node, &r2.token_id));
	assert_true(live(s.node, &r3.token_id));
	assert_int_equal(phr_cid_parse(&cid, r1.cid), PHR_OK);
	assert_false(phr_store_has(s.store, &cid));
	st = phr_compliance_job_status();
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "retention"),
							    "recordsErased")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "retention"),
							    "recordsHeld")),
			 1);
	json_decref(st);
	phr_buf_init(&met, 0);
	assert_int_equal(phr_compliance_metrics(&met), PHR_OK);
	assert_int_equal(phr_buf_append_byte(&met, 0), PHR_OK);
	assert_non_null(strstr((char *)met.data, "\nphr_retention_records_erased_total 1\n"));
	assert_non_null(strstr((char *)met.data, "\nphr_retention_records_held 1\n"));
	assert_non_null(strstr((char *)met.data, "\nphr_erasure_honoured_total 1\n"));
	phr_buf_release(&met);

	/* day 61: the provider's grant (day 0) is past 60 days, the clinic's (day 31) is not */
	assert_int_equal(phr_node_advance_time(s.node, 30 * 86400), PHR_OK);
	assert_int_equal(phr_retention_run(s.node, &rep, &actions, &cfg.retention, op), PHR_OK);
	assert_int_equal(rep.records_due, 1);
	assert_int_equal(rep.records_held, 1);
	assert_int_equal(rep.grants_due, 1);
	assert_int_equal(rep.grants_revoked, 1);
	assert_int_equal(json_array_size(actions), 2);
	json_decref(actions);
	assert_int_equal(phr_node_grants_list(s.node, &grants, pat->address), PHR_OK);
	json_array_foreach(grants, i, g) {
		const char *who = json_string_value(json_object_get(g, "provider"));
		uint8_t a[20];
		assert_int_equal(phr_hex_decode_exact(a, 20, who + 2), PHR_OK);
		if (memcmp(a, prov->address, 20) == 0)
			assert_string_equal(json_string_value(json_object_get(g, "state")), "revoked");
		else
			assert_string_equal(json_string_value(json_object_get(g, "state")), "active");
	}
	json_decref(grants);
	node_stack_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test(test_retention),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
