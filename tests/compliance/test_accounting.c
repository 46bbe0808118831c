/*
 * Compliance on an embedded chain, one scripted scenario: the provider
 * writes two records, the clinic (approved request, Treatment) and the
 * provider (Payment) and the clinic again (Research) read them, the patient
 * reads her own. The §164.528 accounting holds exactly those three
 * disclosures with every field; the organisation report filters by actor,
 * purpose and period; CSV and BALP AuditEvents (validated) carry the same
 * rows; `audit verify` passes, then detects a row deleted from the node's
 * index and a row modified in it; the anomaly rule fires on the clinic and
 * notifies the patient and the officer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_test_util.h"
#include "phr/compliance.h"
#include "phr/contracts.h"
#include "phr/fhir_validate.h"
#include "phr/notify.h"
#include "phr/phr.h"

struct fx {
	struct node_stack s;
	const struct phr_identity *prov, *pat, *clinic, *auditor;
	struct phr_u256 r1, r2;
	uint64_t t_start, t_mid;
};

static char *addr_str(const uint8_t a[20])
{
	static char s[4][64];
	static int k;
	char *o = s[k++ % 4];

	o[0] = '0', o[1] = 'x';
	for (int i = 0; i < 20; i++)
		snprintf(o + 2 + 2 * i, 3, "%02x", a[i]);
	return o;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct phr_node *n;
	struct phr_record_receipt r;
	struct phr_u256 req;
	struct phr_record_meta m;
	struct phr_buf out;
	uint8_t scope[32];
	uint64_t now;
	static const char lab[] = "{\"resourceType\":\"Observation\",\"status\":\"final\","
				  "\"code\":{\"text\":\"HbA1c\"}}";
	static const char vac[] = "{\"resourceType\":\"Immunization\",\"status\":\"completed\"}";

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "compl"), 0);
	n = f->s.node;
	assert_int_equal(phr_dev_setup(n, NULL, false), PHR_OK);
	f->prov = phr_node_identity_by_name(n, "provider");
	f->pat = phr_node_identity_by_name(n, "patient");
	f->clinic = phr_node_identity_by_name(n, "clinic");
	f->auditor = phr_node_identity_by_name(n, "auditor");
	assert_non_null(f->prov);
	assert_non_null(f->pat);
	assert_non_null(f->clinic);
	assert_non_null(f->auditor);
	phr_scope_all(scope);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_node_chain_time(n, &now), PHR_OK);
	f->t_start = now;
	assert_int_equal(phr_node_access_grant(n, f->pat, f->prov->address, PHR_LEVEL_WRITE, scope,
					       now + 30 * 86400),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(n, &r, f->prov, f->pat->address, 5, NULL,
						(const uint8_t *)lab, sizeof(lab) - 1),
			 PHR_OK);
	f->r1 = r.token_id;
	assert_int_equal(phr_node_record_submit(n, &r, f->prov, f->pat->address, 1, NULL,
						(const uint8_t *)vac, sizeof(vac) - 1),
			 PHR_OK);
	f->r2 = r.token_id;
	/* two days: the disclosures below come one day later (a one-day grant would
	 * end exactly then) */
	assert_int_equal(phr_node_access_request(n, &req, f->clinic, f->pat->address, 1, 2 * 86400,
						 PHR_LEVEL_READ, scope),
			 PHR_OK);
	assert_int_equal(phr_node_access_answer(n, f->pat, &req, true), PHR_OK);
	/* disclosure 1: the clinic reads the lab result for treatment */
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &f->r1, 1), PHR_OK);
	phr_buf_reset(&out);
	/* a day later: disclosure 2, the provider for payment; 3, the clinic for research */
	assert_int_equal(phr_node_advance_time(n, 86400), PHR_OK);
	assert_int_equal(phr_node_chain_time(n, &f->t_mid), PHR_OK);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->prov, &f->r2, 2), PHR_OK);
	phr_buf_reset(&out);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &f->r2, 5), PHR_OK);
	phr_buf_reset(&out);
	/* the patient's own read is no disclosure */
	assert_int_equal(phr_node_record_read(n, &out, &m, f->pat, &f->r1, 6), PHR_OK);
	phr_buf_release(&out);
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

static const char *sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("field %s missing", k);
	return s;
}

static void check_row(const json_t *row, const struct phr_identity *who, const struct phr_u256 *rec,
		      const char *purpose, const char *type, const struct phr_identity *pat)
{
	char dec[PHR_U256_DEC_LEN];

	phr_u256_to_dec(dec, rec);
	assert_string_equal(sget(row, "recordId"), dec);
	assert_int_equal(strcasecmp(sget(row, "recipient"), addr_str(who->address)), 0);
	assert_int_equal(strcasecmp(sget(row, "patient"), addr_str(pat->address)), 0);
	assert_string_equal(sget(row, "purpose"), purpose);
	assert_string_equal(sget(row, "recordType"), type);
	assert_non_null(strstr(sget(row, "description"), type));
	assert_int_equal(strlen(sget(row, "date")), 20); /* 2026-11-25T06:53:30Z */
	assert_string_equal(sget(row, "action"), "View");
	assert_int_equal(strlen(sget(row, "txHash")), 66);
}

static void test_accounting_exact(void **state)
{
	struct fx *f = *state;
	struct phr_compliance_query q = { .patient = f->pat->address, .purpose = -1,
					  .disclosures_only = true };
	json_t *rows = NULL;

	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	if (json_array_size(rows) != 3) {
		char *s = json_dumps(rows, JSON_INDENT(1));
		fail_msg("want 3 disclosures, got %s", s);
	}
	check_row(json_array_get(rows, 0), f->clinic, &f->r1, "Treatment", "LabResult", f->pat);
	check_row(json_array_get(rows, 1), f->prov, &f->r2, "Payment", "Vaccination", f->pat);
	check_row(json_array_get(rows, 2), f->clinic, &f->r2, "Research", "Vaccination", f->pat);
	assert_true(json_is_true(json_object_get(json_array_get(rows, 0), "tpo")));
	assert_true(json_is_false(json_object_get(json_array_get(rows, 2), "tpo")));
	json_decref(rows);
	/* the period: only what came after the day passed */
	q.from = f->t_mid;
	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	assert_int_equal(json_array_size(rows), 2);
	json_decref(rows);
	q.from = 0;
	q.to = f->t_mid - 1;
	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	q.purpose = 99;
	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_ERR_INVALID);
}

static void test_org_report_filters(void **state)
{
	struct fx *f = *state;
	struct phr_compliance_query q = { .purpose = -1 };
	json_t *rows = NULL, *all = NULL;
	size_t i;
	json_t *row;

	/* everything, every patient: creates, shares, views */
	assert_int_equal(phr_compliance_report(f->s.node, &all, &q), PHR_OK);
	assert_true(json_array_size(all) >= 6);
	q.actor = f->clinic->address;
	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	json_array_foreach(rows, i, row)
		assert_int_equal(strcasecmp(sget(row, "recipient"), addr_str(f->clinic->address)), 0);
	assert_true(json_array_size(rows) >= 2);
	json_decref(rows);
	q.purpose = 5;
	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	assert_int_equal(json_array_size(rows), 1);
	check_row(json_array_get(rows, 0), f->clinic, &f->r2, "Research", "Vaccination", f->pat);
	json_decref(rows);
	/* the provider's creates */
	q.actor = f->prov->address;
	q.purpose = -1;
	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	{
		size_t creates = 0;
		json_array_foreach(rows, i, row)
			creates += strcmp(sget(row, "action"), "Create") == 0;
		assert_int_equal(creates, 2);
	}
	json_decref(rows);
	json_decref(all);
}

static void test_csv_and_balp(void **state)
{
	struct fx *f = *state;
	struct phr_compliance_query q = { .patient = f->pat->address, .purpose = -1,
					  .disclosures_only = true };
	json_t *rows = NULL, *bundle = NULL, *issues = NULL, *e;
	struct phr_buf csv;
	size_t lines = 0, i;
	char *s;

	assert_int_equal(phr_compliance_report(f->s.node, &rows, &q), PHR_OK);
	phr_buf_init(&csv, 0);
	assert_int_equal(phr_compliance_rows_csv(&csv, rows), PHR_OK);
	assert_int_equal(phr_buf_append_byte(&csv, 0), PHR_OK);
	s = (char *)csv.data;
	assert_true(strncmp(s, "date,patient,recipient,recordId,recordType,description,action,"
			       "purpose,tpo,seq,txHash\r\n", 80) == 0);
	for (char *p = s; (p = strstr(p, "\r\n")) != NULL; p += 2)
		lines++;
	assert_int_equal(lines, 4);
	assert_non_null(strstr(s, ",Research,false,"));
	assert_non_null(strstr(s, ",Treatment,true,"));
	phr_buf_release(&csv);

	assert_int_equal(phr_compliance_rows_balp(&bundle, rows, "phr test node"), PHR_OK);
	if (phr_fhir_validate(&issues, bundle) != PHR_OK) {
		char *d = json_dumps(issues, JSON_INDENT(1));
		fail_msg("BALP bundle invalid: %s", d);
	}
	json_decref(issues);
	assert_int_equal(json_array_size(json_object_get(bundle, "entry")), 3);
	json_array_foreach(json_object_get(bundle, "entry"), i, e) {
		json_t *ev = json_object_get(e, "resource");
		assert_string_equal(sget(ev, "action"), "R");
		assert_non_null(strstr(json_string_value(json_array_get(
					       json_object_get(json_object_get(ev, "meta"), "profile"),
					       0)),
				       "IHE.BasicAudit.Read"));
		assert_non_null(json_object_get(ev, "purposeOfEvent"));
	}
	json_decref(bundle);
	{
		json_t *notrows = json_object();
		assert_int_equal(phr_compliance_rows_balp(&bundle, notrows, "x"), PHR_ERR_INVALID);
		json_decref(notrows);
	}
	json_decref(rows);
}

/* Runs SQL on the node's index (a second connection: the node keeps its own). */
static void index_sql(struct fx *f, const char *sql, const uint8_t *blob, int blob_len)
{
	char path[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(path, sizeof(path), "%s/index.db", f->s.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, phr_contracts_audit_trail_audit_logged_event_topic, 32,
			  SQLITE_STATIC);
	if (blob != NULL)
		sqlite3_bind_blob(st, 2, blob, blob_len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static json_t *verify_patient(struct fx *f, bool *ok)
{
	json_t *rep = NULL;

	assert_int_equal(phr_compliance_audit_verify(f->s.node, &rep, f->pat->address), PHR_OK);
	*ok = json_is_true(json_object_get(rep, "ok"));
	return rep;
}

static void test_audit_verify(void **state)
{
	struct fx *f = *state;
	json_t *rep = NULL, *p;
	bool ok;
	uint8_t bad[32];

	/* untouched: every patient's chain folds and the index equals the chain */
	assert_int_equal(phr_compliance_audit_verify(f->s.node, &rep, NULL), PHR_OK);
	if (!json_is_true(json_object_get(rep, "ok")))
		fail_msg("verify failed: %s", json_dumps(rep, JSON_INDENT(1)));
	assert_true(json_integer_value(json_object_get(rep, "checked")) >= 1);
	json_decref(rep);
	rep = verify_patient(f, &ok);
	assert_true(ok);
	p = json_array_get(json_object_get(rep, "patients"), 0);
	assert_true(json_integer_value(json_object_get(p, "entries")) >= 7);
	assert_int_equal(json_integer_value(json_object_get(p, "entries")),
			 json_integer_value(json_object_get(p, "indexRows")));
	json_decref(rep);

	/* a modified row: the third audit entry's data (its time word) changed */
	memset(bad, 0x11, sizeof(bad));
	index_sql(f,
		  "UPDATE logs SET data = ?2 || substr(data, 33) WHERE rowid = (SELECT rowid FROM"
		  " logs WHERE topic0 = ?1 ORDER BY block, log_index LIMIT 1 OFFSET 2)",
		  bad, 32);
	rep = verify_patient(f, &ok);
	assert_false(ok);
	p = json_array_get(json_object_get(rep, "patients"), 0);
	assert_true(json_is_true(json_object_get(p, "chainOk")));
	assert_int_equal(json_array_size(json_object_get(p, "modified")), 1);
	assert_int_equal(json_array_size(json_object_get(p, "missing")), 0);
	json_decref(rep);
	/* the node's own audit list refuses it too */
	assert_int_equal(phr_node_audit_list(f->s.node, &rep, f->pat->address, NULL),
			 PHR_ERR_CORRUPT);

	/* a deleted row: the fifth entry */
	index_sql(f,
		  "DELETE FROM logs WHERE rowid = (SELECT rowid FROM logs WHERE topic0 = ?1"
		  " ORDER BY block, log_index LIMIT 1 OFFSET 4)",
		  NULL, 0);
	rep = verify_patient(f, &ok);
	assert_false(ok);
	p = json_array_get(json_object_get(rep, "patients"), 0);
	assert_int_equal(json_array_size(json_object_get(p, "missing")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "missing"), 0)), 4);
	assert_int_equal(json_array_size(json_object_get(p, "modified")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "indexRows")) + 1,
			 json_integer_value(json_object_get(p, "entries")));
	json_decref(rep);

	/* a reindex repairs the node's copy from the chain */
	assert_int_equal(phr_node_reindex(f->s.node), PHR_OK);
	rep = verify_patient(f, &ok);
	assert_true(ok);
	json_decref(rep);
}

static void test_anomaly(void **state)
{
	struct fx *f = *state;
	struct phr_compliance_anomaly_rule r;
	json_t *found = NULL, *notes = NULL, *n;
	size_t i, hits = 0;

	phr_compliance_anomaly_defaults(&r);
	assert_int_equal(r.min_records, 20);
	/* under the default rule two reads are nothing */
	assert_int_equal(phr_compliance_anomaly_scan(f->s.node, &found, &r, f->auditor->address),
			 PHR_OK);
	assert_int_equal(json_array_size(found), 0);
	json_decref(found);
	/* a one-hour window: the clinic and the provider read one record each */
	r.min_records = 1;
	r.factor = 1;
	r.window = 3600;
	assert_int_equal(phr_compliance_anomaly_scan(f->s.node, &found, &r, f->auditor->address),
			 PHR_OK);
	/* one read each in the last hour is not more than usual (at least one a window) */
	assert_int_equal(json_array_size(found), 0);
	json_decref(found);
	/* two days, no history: the clinic read two distinct records, the provider one */
	r.min_records = 2;
	r.window = 2 * 86400;
	r.baseline = 0;
	assert_int_equal(phr_compliance_anomaly_scan(f->s.node, &found, &r, f->auditor->address),
			 PHR_OK);
	assert_int_equal(json_array_size(found), 1);
	assert_int_equal(strcasecmp(sget(json_array_get(found, 0), "actor"),
				    addr_str(f->clinic->address)),
			 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(found, 0), "records")), 2);
	assert_true(json_is_true(json_object_get(json_array_get(found, 0), "notified")));
	json_decref(found);
	/* the same scan again within the window: listed, not notified twice */
	assert_int_equal(phr_compliance_anomaly_scan(f->s.node, &found, &r, f->auditor->address),
			 PHR_OK);
	assert_int_equal(json_array_size(found), 1);
	assert_true(json_is_false(json_object_get(json_array_get(found, 0), "notified")));
	json_decref(found);
	/* both the patient and the officer were notified, without the patient list */
	assert_int_equal(phr_notify_list(f->s.node, &notes, f->pat->address, 0), PHR_OK);
	json_array_foreach(notes, i, n)
		if (strcmp(sget(n, "kind"), "anomaly") == 0) {
			hits++;
			assert_null(json_object_get(json_object_get(n, "payload"), "patients"));
		}
	assert_int_equal(hits, 1);
	json_decref(notes);
	hits = 0;
	assert_int_equal(phr_notify_list(f->s.node, &notes, f->auditor->address, 0), PHR_OK);
	json_array_foreach(notes, i, n)
		hits += strcmp(sget(n, "kind"), "anomaly") == 0;
	assert_int_equal(hits, 1);
	json_decref(notes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounting_exact),
		cmocka_unit_test(test_org_report_filters),
		cmocka_unit_test(test_csv_and_balp),
		cmocka_unit_test(test_anomaly),
		cmocka_unit_test(test_audit_verify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
