/*
 * The chain indexer on an embedded chain: after a scripted scenario (the dev
 * demo plus requests answered both ways, a revocation, an amendment, reads
 * by several readers) every list answered from the index equals the answer
 * read with eth_getLogs (index off); the index equals a fresh reindex row for
 * row; a reopened node resumes from its cursor (fetches only the new logs);
 * a cursor whose block hash is not the chain's makes the node rebuild.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_test_util.h"
#include "phr/crypto.h"
#include "phr/phr.h"

struct fx {
	struct node_stack s;
	const struct phr_identity *prov, *pat, *clinic, *emerg;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "index"), 0);
	assert_int_equal(phr_dev_setup(f->s.node, NULL, true), PHR_OK);
	f->prov = phr_node_identity_by_name(f->s.node, "provider");
	f->pat = phr_node_identity_by_name(f->s.node, "patient");
	f->clinic = phr_node_identity_by_name(f->s.node, "clinic");
	f->emerg = phr_node_identity_by_name(f->s.node, "emergency");
	assert_non_null(f->prov);
	assert_non_null(f->pat);
	assert_non_null(f->clinic);
	assert_non_null(f->emerg);
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

/* More history on top of the demo: requests approved and denied, a revocation,
 * an amendment, reads by the patient, the provider and the clinic. */
static void scenario(struct fx *f)
{
	struct phr_node *n = f->s.node;
	struct phr_record_receipt r, r2;
	struct phr_u256 req;
	struct phr_buf out;
	struct phr_record_meta m;
	uint8_t scope[32];
	static const char text[] = "{\"resourceType\":\"Observation\",\"status\":\"final\"}";

	phr_buf_init(&out, 0);
	phr_scope_all(scope);
	assert_int_equal(phr_node_record_submit(n, &r, f->prov, f->pat->address, 5, NULL,
						(const uint8_t *)text, sizeof(text) - 1),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(n, &r2, f->prov, f->pat->address, 5, &r.token_id,
						(const uint8_t *)text, sizeof(text) - 2),
			 PHR_OK);
	assert_int_equal(phr_node_access_request(n, &req, f->clinic, f->pat->address, 1, 86400,
						 PHR_LEVEL_READ, scope),
			 PHR_OK);
	assert_int_equal(phr_node_access_answer(n, f->pat, &req, true), PHR_OK);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &r2.token_id, 1), PHR_OK);
	phr_buf_reset(&out);
	assert_int_equal(phr_node_access_revoke(n, f->pat, f->clinic->address, scope), PHR_OK);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->clinic, &r2.token_id, 1),
			 PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_access_request(n, &req, f->clinic, f->pat->address, 2, 3600,
						 PHR_LEVEL_READ, scope),
			 PHR_OK);
	assert_int_equal(phr_node_access_answer(n, f->pat, &req, false), PHR_OK);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->pat, &r2.token_id, 1), PHR_OK);
	phr_buf_reset(&out);
	assert_int_equal(phr_node_record_read(n, &out, &m, f->prov, &r.token_id, 1), PHR_OK);
	phr_buf_release(&out);
}

/* Every list of the patient (and the audit trail of two records), as one JSON array. */
static json_t *all_lists(struct fx *f)
{
	struct phr_node *n = f->s.node;
	struct phr_u256 one = PHR_U256_ZERO;
	json_t *all = json_array(), *j = NULL;

	assert_non_null(all);
	one.w[0] = 1;
	assert_int_equal(phr_node_records_list(n, &j, f->pat->address), PHR_OK);
	json_array_append_new(all, j);
	assert_int_equal(phr_node_grants_list(n, &j, f->pat->address), PHR_OK);
	json_array_append_new(all, j);
	assert_int_equal(phr_node_requests_list(n, &j, f->pat->address), PHR_OK);
	json_array_append_new(all, j);
	assert_int_equal(phr_node_audit_list(n, &j, f->pat->address, NULL), PHR_OK);
	json_array_append_new(all, j);
	assert_int_equal(phr_node_audit_list(n, &j, f->pat->address, &one), PHR_OK);
	json_array_append_new(all, j);
	/* the clinic is no patient: empty lists */
	assert_int_equal(phr_node_records_list(n, &j, f->clinic->address), PHR_OK);
	json_array_append_new(all, j);
	return all;
}

static void assert_json_equal(json_t *a, json_t *b)
{
	if (!json_equal(a, b)) {
		char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);
		fail_msg("lists differ:\n%s\n%s", sa, sb);
	}
}

/* keccak of every row of the index (logs and cursor), in key order. */
static void index_digest(struct fx *f, uint8_t out[32], long *rows)
{
	char path[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct phr_keccak k;

	snprintf(path, sizeof(path), "%s/index.db", f->s.dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT block, log_index, address, ntopics, topic0,"
					    " topic1, topic2, topic3, data, block_hash, tx_hash,"
					    " tx_index FROM logs ORDER BY block, log_index",
					    -1, &st, NULL),
			 SQLITE_OK);
	phr_keccak_init(&k);
	*rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < 12; c++) {
			const void *p = sqlite3_column_blob(st, c);
			int len = sqlite3_column_bytes(st, c);
			uint8_t tag = (uint8_t)sqlite3_column_type(st, c);
			phr_keccak_update(&k, &tag, 1);
			if (p != NULL)
				phr_keccak_update(&k, p, (size_t)len);
		}
		(*rows)++;
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT block, hash FROM meta", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	phr_keccak_update(&k, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	phr_keccak_update(&k, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(db);
	phr_keccak_final(&k, out);
}

static void lists_equal_eth_get_logs(void **state)
{
	struct fx *f = *state;
	struct phr_index_status st;
	json_t *indexed, *direct;

	scenario(f);
	indexed = all_lists(f);
	phr_node_index_status(f->s.node, &st);
	assert_true(st.healthy);
	assert_false(st.empty);
	assert_true(st.logs > 20);
	phr_node_index_enable(f->s.node, false);
	direct = all_lists(f);
	phr_node_index_enable(f->s.node, true);
	assert_int_equal(json_array_size(json_array_get(indexed, 0)), 5); /* 3 demo + 2 */
	assert_true(json_array_size(json_array_get(indexed, 2)) == 2);
	assert_true(json_array_size(json_array_get(indexed, 3)) > 8);
	assert_int_equal(json_array_size(json_array_get(indexed, 5)), 0);
	assert_json_equal(indexed, direct);
	json_decref(indexed);
	json_decref(direct);
}

static void index_equals_reindex(void **state)
{
	struct fx *f = *state;
	struct phr_index_status st, st2;
	uint8_t d1[32], d2[32];
	long rows1, rows2;
	json_t *before, *after;

	before = all_lists(f);
	phr_node_index_status(f->s.node, &st);
	index_digest(f, d1, &rows1);
	assert_int_equal((long)st.logs, rows1);
	assert_int_equal(phr_node_reindex(f->s.node), PHR_OK);
	phr_node_index_status(f->s.node, &st2);
	assert_int_equal(st2.rebuilds, st.rebuilds + 1);
	assert_int_equal(st2.block, st.block);
	assert_memory_equal(st2.hash, st.hash, 32);
	index_digest(f, d2, &rows2);
	assert_int_equal(rows1, rows2);
	assert_memory_equal(d1, d2, 32);
	after = all_lists(f);
	assert_json_equal(before, after);
	json_decref(before);
	json_decref(after);
}

static void reopen(struct fx *f)
{
	struct phr_deployment d;
	char path[1024];

	snprintf(path, sizeof(path), "%s/deployment.json", f->s.dir);
	assert_int_equal(phr_deployment_load(&d, path), PHR_OK);
	phr_node_close(f->s.node);
	f->s.node = NULL;
	assert_int_equal(phr_node_open(&f->s.node, f->s.chain, f->s.store, &d, f->s.dir), PHR_OK);
	/* hosts the identities again; everything on chain is in place */
	assert_int_equal(phr_dev_setup(f->s.node, NULL, false), PHR_OK);
	f->prov = phr_node_identity_by_name(f->s.node, "provider");
	f->pat = phr_node_identity_by_name(f->s.node, "patient");
	f->clinic = phr_node_identity_by_name(f->s.node, "clinic");
	f->emerg = phr_node_identity_by_name(f->s.node, "emergency");
}

static void restart_resumes(void **state)
{
	struct fx *f = *state;
	struct phr_index_status st, st2;
	struct phr_record_receipt r;
	json_t *indexed, *direct;
	static const char text[] = "resumed";

	assert_int_equal(phr_node_index_sync(f->s.node), PHR_OK);
	phr_node_index_status(f->s.node, &st);
	reopen(f);
	phr_node_index_status(f->s.node, &st2);
	assert_false(st2.empty);
	assert_int_equal(st2.block, st.block);
	assert_memory_equal(st2.hash, st.hash, 32);
	assert_int_equal(st2.logs, st.logs);
	assert_int_equal(st2.fetched, 0);
	assert_int_equal(phr_node_record_submit(f->s.node, &r, f->prov, f->pat->address, 1, NULL,
						(const uint8_t *)text, sizeof(text) - 1),
			 PHR_OK);
	indexed = all_lists(f);
	phr_node_index_status(f->s.node, &st2);
	/* only the new logs were read from the chain */
	assert_int_equal(st2.rebuilds, 0);
	assert_true(st2.fetched > 0);
	assert_int_equal(st2.logs, st.logs + st2.fetched);
	assert_true(st2.block > st.block);
	phr_node_index_enable(f->s.node, false);
	direct = all_lists(f);
	phr_node_index_enable(f->s.node, true);
	assert_json_equal(indexed, direct);
	assert_int_equal(json_array_size(json_array_get(indexed, 0)), 6);
	json_decref(indexed);
	json_decref(direct);
}

static void foreign_cursor_rebuilds(void **state)
{
	struct fx *f = *state;
	struct phr_index_status st, st2;
	uint8_t d1[32], d2[32];
	long rows1, rows2;
	char path[1024];
	sqlite3 *db = NULL;

	assert_int_equal(phr_node_index_sync(f->s.node), PHR_OK);
	phr_node_index_status(f->s.node, &st);
	index_digest(f, d1, &rows1);
	phr_node_close(f->s.node);
	f->s.node = NULL;
	/* the cursor now names a block hash this chain does not have */
	snprintf(path, sizeof(path), "%s/index.db", f->s.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE meta SET hash = zeroblob(32);"
				      "DELETE FROM logs WHERE block = (SELECT max(block) FROM logs);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	reopen(f);
	assert_int_equal(phr_node_index_sync(f->s.node), PHR_OK);
	phr_node_index_status(f->s.node, &st2);
	assert_int_equal(st2.rebuilds, 1);
	assert_int_equal(st2.logs, st.logs);
	assert_int_equal(st2.fetched, st.logs);
	index_digest(f, d2, &rows2);
	assert_int_equal(rows1, rows2);
	assert_memory_equal(d1, d2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lists_equal_eth_get_logs),
		cmocka_unit_test(index_equals_reindex),
		cmocka_unit_test(restart_resumes),
		cmocka_unit_test(foreign_cursor_rebuilds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
