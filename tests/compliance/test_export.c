/*
 * GDPR export of the demo patient: the Bundle validates (phr_fhir_validate)
 * and holds every live record, the NDJSON has one resource a line, the CAR
 * verifies and decrypts with the patient's key and restores into a fresh node
 * on the same chain that then decrypts every record to the same bytes, and
 * the access log equals the chain's audit trail entry for entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_test_util.h"
#include "phr/backup.h"
#include "phr/chain.h"
#include "phr/compliance.h"
#include "phr/fhir_validate.h"
#include "phr/phr.h"
#include "phr/store.h"

static json_t *load(const char *dir, const char *name)
{
	char p[1024];
	json_error_t e;
	json_t *j;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	j = json_load_file(p, 0, &e);
	if (j == NULL)
		fail_msg("%s: %s", p, e.text);
	return j;
}

/* A lab result, its amendment, a clinical note and a non-FHIR file (raw bytes). */
static void seed(struct node_stack *s, const struct phr_identity *pat)
{
	static const char lab[] = "{\"resourceType\":\"Observation\",\"status\":\"final\","
				  "\"code\":{\"text\":\"HbA1c\"},\"valueQuantity\":{\"value\":6.1,"
				  "\"unit\":\"%\"}}";
	static const char note[] = "{\"resourceType\":\"Condition\",\"code\":{\"text\":"
				   "\"Type 2 diabetes\"},\"subject\":{\"display\":\"patient\"}}";
	static const uint8_t raw[] = { 0x00, 0xff, 0x10, 'n', 'o', 't', ' ', 'j', 's', 'o', 'n' };
	const struct phr_identity *prov = phr_node_identity_by_name(s->node, "provider");
	struct phr_record_receipt r, r2;
	uint8_t scope[32];
	uint64_t now;

	assert_non_null(prov);
	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(s->node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(s->node, pat, prov->address, PHR_LEVEL_WRITE, scope,
					       now + 86400),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s->node, &r, prov, pat->address, 5, NULL,
						(const uint8_t *)lab, sizeof(lab) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s->node, &r2, prov, pat->address, 5, &r.token_id,
						(const uint8_t *)lab, sizeof(lab) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s->node, &r, prov, pat->address, 8, NULL,
						(const uint8_t *)note, sizeof(note) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(s->node, &r, prov, pat->address, 0, NULL, raw,
						sizeof(raw)),
			 PHR_OK);
}

static void test_export(void **state)
{
	struct node_stack s;
	struct phr_compliance_export_report rep;
	struct phr_backup_report br;
	const struct phr_identity *pat;
	char dir[900], p[1024];
	json_t *bundle, *issues = NULL, *log, *audit = NULL, *records = NULL, *e, *manifest;
	struct phr_buf nd;
	size_t i, lines = 0, live = 0;

	(void)state;
	assert_int_equal(node_stack_open(&s, "export"), 0);
	assert_int_equal(phr_dev_setup(s.node, NULL, false), PHR_OK);
	pat = phr_node_identity_by_name(s.node, "patient");
	assert_non_null(pat);
	seed(&s, pat);
	snprintf(dir, sizeof(dir), "%s/export", s.dir);
	assert_int_equal(phr_compliance_export(s.node, &rep, pat, dir), PHR_OK);
	assert_int_equal(phr_node_records_list(s.node, &records, pat->address), PHR_OK);
	json_array_foreach(records, i, e) {
		struct phr_record_meta m;
		struct phr_u256 id;
		assert_int_equal(phr_u256_parse(&id, json_string_value(json_object_get(e, "id"))), 0);
		live += phr_node_record_meta(s.node, &m, &id) == PHR_OK;
	}
	assert_int_equal(live, 4);
	assert_int_equal(rep.records, live);
	assert_int_equal(rep.unreadable, 0);

	/* the Bundle */
	bundle = load(dir, "bundle.json");
	if (phr_fhir_validate(&issues, bundle) != PHR_OK)
		fail_msg("bundle invalid: %s", json_dumps(issues, JSON_INDENT(1)));
	json_decref(issues);
	assert_string_equal(json_string_value(json_object_get(bundle, "type")), "collection");
	assert_int_equal(json_array_size(json_object_get(bundle, "entry")), live);
	{
		size_t bins = 0;
		json_array_foreach(json_object_get(bundle, "entry"), i, e) {
			json_t *res = json_object_get(e, "resource");
			if (strcmp(json_string_value(json_object_get(res, "resourceType")), "Binary"))
				continue;
			bins++;
			/* 00 ff 10 "not json" in base64 */
			assert_string_equal(json_string_value(json_object_get(res, "data")),
					    "AP8Qbm90IGpzb24=");
			assert_string_equal(json_string_value(json_object_get(res, "contentType")),
					    "application/octet-stream");
		}
		assert_int_equal(bins, 1);
	}
	/* NDJSON: the same resources, one a line */
	phr_buf_init(&nd, 0);
	snprintf(p, sizeof(p), "%s/bundle.ndjson", dir);
	assert_int_equal(phr_file_read(&nd, p, 1 << 24), PHR_OK);
	for (size_t k = 0; k < nd.len; k++)
		lines += nd.data[k] == '\n';
	assert_int_equal(lines, live);
	phr_buf_release(&nd);

	/* the CAR verifies and every record decrypts with the patient's key */
	snprintf(p, sizeof(p), "%s/records.car", dir);
	memset(&br, 0, sizeof(br));
	assert_int_equal(phr_backup_verify_file(&br, p, pat->address, pat->box_pk, pat->box_sk),
			 PHR_OK);
	assert_int_equal(br.opened, live);

	/* the access log is the chain's audit trail, entry for entry (read after the
	 * export: its own reads are in both) */
	log = load(dir, "access-log.json");
	assert_int_equal(phr_node_audit_list(s.node, &audit, pat->address, NULL), PHR_OK);
	assert_int_equal(json_array_size(log), json_array_size(audit));
	assert_int_equal(json_array_size(log), rep.log_entries);
	json_array_foreach(audit, i, e) {
		json_t *l = json_array_get(log, i);
		assert_int_equal(json_integer_value(json_object_get(l, "seq")),
				 json_integer_value(json_object_get(e, "seq")));
		assert_int_equal(json_integer_value(json_object_get(l, "time")),
				 json_integer_value(json_object_get(e, "time")));
		assert_string_equal(json_string_value(json_object_get(l, "recipient")),
				    json_string_value(json_object_get(e, "accessor")));
		assert_string_equal(json_string_value(json_object_get(l, "recordId")),
				    json_string_value(json_object_get(e, "recordId")));
		assert_string_equal(json_string_value(json_object_get(l, "action")),
				    json_string_value(json_object_get(e, "action")));
		assert_int_equal(json_integer_value(json_object_get(l, "purposeCode")),
				 json_integer_value(json_object_get(e, "purpose")));
	}
	/* the export's own reads are there, as PatientRequest Views by the patient */
	{
		size_t own = 0;
		json_array_foreach(log, i, e)
			own += strcmp(json_string_value(json_object_get(e, "purpose")),
				      "PatientRequest") == 0;
		assert_true(own >= live);
	}
	manifest = load(dir, "manifest.json");
	assert_int_equal(json_integer_value(json_object_get(manifest, "records")), live);
	assert_non_null(json_object_get(json_object_get(manifest, "files"), "records.car"));
	assert_non_null(json_object_get(json_object_get(manifest, "files"), "access-log.csv"));
	json_decref(manifest);

	/* a fresh node on the same chain imports the CAR and decrypts every record */
	{
		struct phr_store *st2 = NULL;
		struct phr_node *n2 = NULL;
		const struct phr_identity *pat2;
		char d2[1024];
		snprintf(d2, sizeof(d2), "%s/fresh/store", s.dir);
		assert_int_equal(phr_mkdir_p(d2, 0700), PHR_OK);
		assert_int_equal(phr_store_open(&st2, d2), PHR_OK);
		snprintf(d2, sizeof(d2), "%s/fresh", s.dir);
		assert_int_equal(phr_node_open(&n2, s.chain, st2, phr_node_deployment(s.node), d2),
				 PHR_OK);
		memset(&br, 0, sizeof(br));
		assert_int_equal(phr_node_backup_restore(n2, &br, p), PHR_OK);
		assert_int_equal(br.restored, live);
		assert_int_equal(phr_dev_setup(n2, NULL, false), PHR_OK);
		pat2 = phr_node_identity_by_name(n2, "patient");
		assert_non_null(pat2);
		json_array_foreach(json_object_get(bundle, "entry"), i, e) {
			const char *url = json_string_value(json_object_get(e, "fullUrl"));
			struct phr_buf a, b;
			struct phr_record_meta m;
			struct phr_u256 id;
			assert_non_null(url);
			assert_int_equal(phr_u256_parse(&id, url + strlen("urn:phr:record:")), 0);
			phr_buf_init(&a, 0);
			phr_buf_init(&b, 0);
			assert_int_equal(phr_node_record_read(n2, &a, &m, pat2, &id, 6), PHR_OK);
			assert_int_equal(phr_node_record_read(s.node, &b, &m, pat, &id, 6), PHR_OK);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.data, b.data, a.len);
			phr_buf_release(&a);
			phr_buf_release(&b);
		}
		phr_node_close(n2);
		phr_store_close(st2);
	}
	json_decref(log);
	json_decref(audit);
	json_decref(records);
	json_decref(bundle);
	node_stack_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
