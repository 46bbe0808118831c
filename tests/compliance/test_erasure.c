/*
 * Erasure as crypto-shredding across two nodes on one embedded chain: node A
 * (where the record was written) and node B (its own store and database,
 * holding the record's blocks and capsules from the patient's backup). The
 * patient asks for the erasure on chain; each node honours it (capsules and
 * blocks destroyed) and confirms with its own address; the patient burns the
 * token. Afterwards neither node can decrypt it, its blocks and capsules are
 * gone from both stores, the token is burnt and the audit trail shows Erase.
 * A second record under legal hold cannot be erased and stays readable
 * everywhere until the hold is released.
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
#include "phr/compliance.h"
#include "phr/crypto.h"
#include "phr/phr.h"
#include "phr/store.h"

struct two {
	struct node_stack s;  /* node A */
	struct phr_store *st_b;
	struct phr_node *b;   /* node B */
	const struct phr_identity *pat, *prov, *op, *pat_b, *clinic_b;
	struct phr_record_receipt r1, r2;
};

static void readable(struct phr_node *n, const struct phr_identity *who, const struct phr_u256 *id,
		     bool want)
{
	struct phr_buf out;
	struct phr_record_meta m;
	int rv;

	phr_buf_init(&out, 0);
	rv = phr_node_record_read(n, &out, &m, who, id, 6);
	if (want && rv != PHR_OK)
		fail_msg("record should open: %s", phr_err_name(rv));
	if (!want && rv == PHR_OK)
		fail_msg("record still opens");
	phr_buf_release(&out);
}

static bool has_block(struct phr_store *st, const char *cid_text)
{
	struct phr_cid cid;

	assert_int_equal(phr_cid_parse(&cid, cid_text), PHR_OK);
	return phr_store_has(st, &cid);
}

static int setup(void **state)
{
	struct two *t = calloc(1, sizeof(*t));
	static const char a[] = "{\"resourceType\":\"Observation\",\"status\":\"final\","
				"\"code\":{\"text\":\"HIV test\"}}";
	static const char b[] = "{\"resourceType\":\"Observation\",\"status\":\"final\","
				"\"code\":{\"text\":\"HbA1c\"}}";
	struct phr_buf car;
	uint8_t scope[32];
	uint64_t now;
	char p[1024];

	assert_non_null(t);
	assert_int_equal(node_stack_open(&t->s, "erase"), 0);
	assert_int_equal(phr_dev_setup(t->s.node, NULL, false), PHR_OK);
	t->pat = phr_node_identity_by_name(t->s.node, "patient");
	t->prov = phr_node_identity_by_name(t->s.node, "provider");
	t->op = phr_node_identity_by_name(t->s.node, "operator");
	assert_non_null(t->pat);
	assert_non_null(t->prov);
	assert_non_null(t->op);
	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(t->s.node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(t->s.node, t->pat, t->prov->address, PHR_LEVEL_WRITE,
					       scope, now + 86400),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(t->s.node, &t->r1, t->prov, t->pat->address, 5,
						NULL, (const uint8_t *)a, sizeof(a) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(t->s.node, &t->r2, t->prov, t->pat->address, 5,
						NULL, (const uint8_t *)b, sizeof(b) - 1),
			 PHR_OK);

	/* node B: own store and database on the same chain, holding the patient's backup */
	snprintf(p, sizeof(p), "%s/b/store", t->s.dir);
	assert_int_equal(phr_mkdir_p(p, 0700), PHR_OK);
	assert_int_equal(phr_store_open(&t->st_b, p), PHR_OK);
	snprintf(p, sizeof(p), "%s/b", t->s.dir);
	assert_int_equal(phr_node_open(&t->b, t->s.chain, t->st_b, phr_node_deployment(t->s.node), p),
			 PHR_OK);
	phr_buf_init(&car, 0);
	assert_int_equal(phr_compliance_export_car(t->s.node, &car, NULL, t->pat), PHR_OK);
	snprintf(p, sizeof(p), "%s/backup.car", t->s.dir);
	assert_int_equal(phr_file_write_atomic(p, car.data, car.len, 0600), PHR_OK);
	phr_buf_release(&car);
	{
		struct phr_backup_report br;
		memset(&br, 0, sizeof(br));
		assert_int_equal(phr_node_backup_restore(t->b, &br, p), PHR_OK);
		assert_int_equal(br.restored, 2);
	}
	assert_int_equal(phr_dev_setup(t->b, NULL, false), PHR_OK);
	t->pat_b = phr_node_identity_by_name(t->b, "patient");
	t->clinic_b = phr_node_identity_by_name(t->b, "clinic");
	assert_non_null(t->pat_b);
	assert_non_null(t->clinic_b);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct two *t = *state;

	phr_node_close(t->b);
	phr_store_close(t->st_b);
	node_stack_close(&t->s);
	free(t);
	return 0;
}

static void test_erasure_two_nodes(void **state)
{
	struct two *t = *state;
	struct phr_erasure_report ra, rb;
	uint8_t reason[32];
	char cid[PHR_CID_STR_MAX];
	json_t *st = NULL, *audit = NULL, *row;
	size_t i, erase_rows = 0;
	static const char why[] = "litigation hold, case 2026-17";

	/* both nodes hold both records and open them */
	assert_true(has_block(t->s.store, t->r1.cid));
	assert_true(has_block(t->st_b, t->r1.cid));
	readable(t->s.node, t->pat, &t->r1.token_id, true);
	readable(t->b, t->pat_b, &t->r1.token_id, true);

	/* a legal hold on r2 blocks its erasure, with the reason's hash on chain */
	phr_keccak256(reason, (const uint8_t *)why, sizeof(why) - 1);
	assert_int_equal(phr_erasure_hold(t->s.node, t->op, &t->r2.token_id, reason, true), PHR_OK);
	assert_int_not_equal(phr_erasure_request(t->s.node, t->pat, &t->r2.token_id), PHR_OK);
	assert_int_equal(phr_erasure_status(t->s.node, &st, &t->r2.token_id), PHR_OK);
	assert_true(json_is_true(json_object_get(st, "held")));
	assert_true(json_is_false(json_object_get(st, "requested")));
	json_decref(st);
	/* nobody but the owner asks; the patient asks for r1 */
	assert_int_not_equal(phr_erasure_request(t->s.node, t->prov, &t->r1.token_id), PHR_OK);
	assert_int_equal(phr_erasure_request(t->s.node, t->pat, &t->r1.token_id), PHR_OK);

	/* each node honours it and confirms with its own address */
	assert_int_equal(phr_erasure_honour(t->s.node, &ra, t->op), PHR_OK);
	assert_int_equal(ra.requests, 1);
	assert_int_equal(ra.honoured, 1);
	assert_true(ra.capsules >= 2); /* the patient's and the provider's */
	assert_int_equal(ra.unpinned, 1);
	assert_int_equal(phr_erasure_honour(t->b, &rb, t->clinic_b), PHR_OK);
	assert_int_equal(rb.honoured, 1);
	assert_true(rb.capsules >= 1);
	/* idempotent */
	assert_int_equal(phr_erasure_honour(t->b, &rb, t->clinic_b), PHR_OK);
	assert_int_equal(rb.honoured, 0);
	assert_int_equal(rb.done, 1);
	assert_int_equal(phr_erasure_status(t->s.node, &st, &t->r1.token_id), PHR_OK);
	assert_int_equal(json_integer_value(json_object_get(st, "confirmations")), 2);
	json_decref(st);

	/* the owner burns the token */
	assert_int_equal(phr_erasure_finish(t->s.node, t->pat, &t->r1.token_id), PHR_OK);

	/* r1: gone everywhere */
	{
		struct phr_record_meta m;
		assert_int_equal(phr_node_record_meta(t->s.node, &m, &t->r1.token_id),
				 PHR_ERR_NOT_FOUND);
	}
	assert_false(has_block(t->s.store, t->r1.cid));
	assert_false(has_block(t->st_b, t->r1.cid));
	assert_int_equal(phr_node_capsule_lookup(t->s.node, cid, &t->r1.token_id, t->pat->address),
			 PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_node_capsule_lookup(t->b, cid, &t->r1.token_id, t->pat->address),
			 PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_node_capsule_lookup(t->s.node, cid, &t->r1.token_id, t->prov->address),
			 PHR_ERR_NOT_FOUND);
	readable(t->s.node, t->pat, &t->r1.token_id, false);
	readable(t->b, t->pat_b, &t->r1.token_id, false);
	readable(t->s.node, t->prov, &t->r1.token_id, false);
	/* the audit trail shows the erasure (token id and owner only) */
	assert_int_equal(phr_node_audit_list(t->s.node, &audit, t->pat->address, NULL), PHR_OK);
	json_array_foreach(audit, i, row) {
		char dec[PHR_U256_DEC_LEN];
		phr_u256_to_dec(dec, &t->r1.token_id);
		if (strcmp(json_string_value(json_object_get(row, "action")), "Erase") == 0) {
			erase_rows++;
			assert_string_equal(json_string_value(json_object_get(row, "recordId")), dec);
		}
	}
	assert_int_equal(erase_rows, 1);
	json_decref(audit);

	/* r2, under hold: still on both nodes and readable */
	assert_true(has_block(t->s.store, t->r2.cid));
	assert_true(has_block(t->st_b, t->r2.cid));
	readable(t->s.node, t->pat, &t->r2.token_id, true);
	readable(t->b, t->pat_b, &t->r2.token_id, true);

	/* released: the request goes through and B honours it */
	assert_int_equal(phr_erasure_hold(t->s.node, t->op, &t->r2.token_id, reason, false),
			 PHR_OK);
	assert_int_equal(phr_erasure_request(t->s.node, t->pat, &t->r2.token_id), PHR_OK);
	assert_int_equal(phr_erasure_honour(t->b, &rb, t->clinic_b), PHR_OK);
	assert_int_equal(rb.honoured, 1);
	assert_false(has_block(t->st_b, t->r2.cid));
	assert_true(has_block(t->s.store, t->r2.cid)); /* A has not run its pass yet */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erasure_two_nodes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
