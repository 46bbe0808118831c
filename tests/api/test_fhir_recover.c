/*
 * Recovery of the FHIR index (src/api/fhir_recover.c, docs/fhir.md
 * "Recovery"), in one process: a write whose index step fails after its
 * records were minted (test hook) leaves them minted, not indexed; the next
 * request's recovery scan indexes them, so a read, a search and a retry of
 * the same Bundle (PUT Type/id) see one current version each, no
 * duplicates; an update whose index step failed is adopted before its
 * retry (which would otherwise supersede a token already superseded); a
 * second record minted as the same version is reported, never indexed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_recover_fx.h"
#include "phr/crypto.h"

static long fhir(struct http_res *r, const char *method, const char *path, const char *json)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s/fhir%s", fx.base, path);
	assert_int_equal(http_do(r, method, url, t_provider, json ? "application/fhir+json" : NULL, json,
				 json ? strlen(json) : 0, hdr_pat),
			 0);
	return r->status;
}

/* The versionId of Type/id (0: not found). */
static unsigned long version_of(const char *path)
{
	struct http_res r;
	unsigned long v = 0;

	if (fhir(&r, "GET", path, NULL) == 200)
		v = strtoul(json_string_value(json_object_get(json_object_get(r.json, "meta"), "versionId")), NULL, 10);
	else
		assert_int_equal(r.status, 404);
	http_res_release(&r);
	return v;
}

static size_t total_of(const char *query)
{
	struct http_res r;
	size_t n;

	assert_int_equal(fhir(&r, "GET", query, NULL), 200);
	n = (size_t)json_integer_value(json_object_get(r.json, "total"));
	http_res_release(&r);
	return n;
}

static const char BUNDLE[] =
	"{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	"{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"rec-a\",\"status\":\"final\",\"code\":{\"coding\":"
	"[{\"system\":\"urn:rec\",\"code\":\"bundle\"}]},\"valueInteger\":1},"
	"\"request\":{\"method\":\"PUT\",\"url\":\"Observation/rec-a\"}},"
	"{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"rec-b\",\"status\":\"final\",\"code\":{\"coding\":"
	"[{\"system\":\"urn:rec\",\"code\":\"bundle\"}]},\"valueInteger\":2},"
	"\"request\":{\"method\":\"PUT\",\"url\":\"Observation/rec-b\"}}]}";

/* Rows of the index for Type/id (read on a connection of the test's own). */
static int index_rows(const char *type, const char *id)
{
	struct fhir_db db;
	struct fhir_row row;
	int rv;

	assert_int_equal(fhir_db_open(&db, fx.s.dir), PHR_OK);
	rv = fhir_db_get(&db, &row, type, id);
	fhir_db_close(&db);
	assert_true(rv == PHR_OK || rv == PHR_ERR_NOT_FOUND);
	return rv == PHR_OK ? 1 : 0;
}

/* A Bundle whose index step fails after the mint: recovered before the next request, then retried. */
static void test_bundle_recovered(void **state)
{
	struct http_res r;

	(void)state;
	fhir_test_hook_set(FHIR_HOOK_FAIL_INDEX);
	assert_true(fhir(&r, "POST", "", BUNDLE) >= 500);
	http_res_release(&r);
	fhir_test_hook_set(FHIR_HOOK_NONE);
	assert_int_equal(index_rows("Observation", "rec-a"), 0); /* minted, not indexed */
	assert_int_equal(index_rows("Observation", "rec-b"), 0);
	/* both records were minted; the first request after the failure indexes them */
	assert_int_equal(version_of("/Observation/rec-a"), 1);
	assert_int_equal(version_of("/Observation/rec-b"), 1);
	assert_int_equal(total_of("/Observation?code=urn:rec|bundle"), 2);
	/* the retry: one current version of each id, no duplicate resources */
	assert_int_equal(fhir(&r, "POST", "", BUNDLE), 200);
	http_res_release(&r);
	assert_int_equal(version_of("/Observation/rec-a"), 2);
	assert_int_equal(version_of("/Observation/rec-b"), 2);
	assert_int_equal(total_of("/Observation?code=urn:rec|bundle"), 2);
	assert_int_equal(total_of("/Observation/rec-a/_history"), 2);
}

static const char OBS_U[] = "{\"resourceType\":\"Observation\",\"id\":\"rec-u\",\"status\":\"final\",\"code\":"
			    "{\"coding\":[{\"system\":\"urn:rec\",\"code\":\"update\"}]},\"valueInteger\":%d}";

/* An update minted (superseding version 1), not indexed: adopted, so its retry is version 3. */
static void test_update_recovered(void **state)
{
	struct http_res r;
	char body[400];

	(void)state;
	snprintf(body, sizeof(body), OBS_U, 1);
	assert_int_equal(fhir(&r, "PUT", "/Observation/rec-u", body), 201);
	http_res_release(&r);
	snprintf(body, sizeof(body), OBS_U, 2);
	fhir_test_hook_set(FHIR_HOOK_FAIL_INDEX);
	assert_true(fhir(&r, "PUT", "/Observation/rec-u", body) >= 500);
	http_res_release(&r);
	fhir_test_hook_set(FHIR_HOOK_NONE);
	/* without the recovery this retry would supersede version 1's token a second time (409) */
	assert_int_equal(fhir(&r, "PUT", "/Observation/rec-u", body), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "meta"), "versionId")), "3");
	http_res_release(&r);
	assert_int_equal(total_of("/Observation/rec-u/_history"), 3);
	assert_int_equal(total_of("/Observation?code=urn:rec|update"), 1);
}

/* A second record minted as version 1 of an indexed id: reported as an orphan, the index unchanged. */
static void test_duplicate_reported(void **state)
{
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	static const char dup[] = "{\"resourceType\":\"Observation\",\"id\":\"rec-d\",\"meta\":{\"versionId\":\"1\","
				  "\"lastUpdated\":\"2026-01-02T03:04:05.678Z\"},\"status\":\"final\",\"code\":"
				  "{\"coding\":[{\"system\":\"urn:rec\",\"code\":\"dup\"}]},\"valueInteger\":9}";
	static const char junk[] = "not a resource";
	struct phr_record_receipt rc, rj;
	struct fhir_recover_report rep;
	struct fhir_db db;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct http_res r;
	char tok[PHR_U256_DEC_LEN], sql[256];
	sqlite3_stmt *st;
	int found = 0;

	(void)state;
	assert_int_equal(fhir(&r, "PUT", "/Observation/rec-d",
			      "{\"resourceType\":\"Observation\",\"id\":\"rec-d\",\"status\":\"final\",\"code\":"
			      "{\"coding\":[{\"system\":\"urn:rec\",\"code\":\"dup\"}]},\"valueInteger\":1}"),
			 201);
	http_res_release(&r);
	/* minted by the provider outside the server: the same id and version, and a record that is no resource */
	assert_int_equal(phr_node_record_submit(fx.node, &rc, prov, pat->address, 5, NULL, (const uint8_t *)dup,
						strlen(dup)),
			 PHR_OK);
	assert_int_equal(phr_node_record_submit(fx.node, &rj, prov, pat->address, 5, NULL, (const uint8_t *)junk,
						strlen(junk)),
			 PHR_OK);
	assert_int_equal(fhir_db_open(&db, fx.s.dir), PHR_OK);
	/* a scan while writes may be in flight: records no failed write released are too
	 * recent to take (their own write may be about to index them) */
	assert_int_equal(fhir_recover_scan(&db, &lock, fx.node, prov, 0, NULL, &rep), PHR_OK);
	assert_int_equal(rep.indexed + rep.orphaned, 0);
	assert_true(rep.young >= 2);
	/* a scan as at a start (every record old enough) */
	assert_int_equal(fhir_recover_scan(&db, &lock, fx.node, prov, UINT64_MAX, NULL, &rep), PHR_OK);
	/* the duplicate, the non-resource and the dev seed's records of the provider (not FHIR resources) */
	assert_int_equal(rep.indexed, 0);
	assert_true(rep.orphaned >= 2);
	assert_int_equal(rep.young, 0);
	assert_int_equal(rep.unreadable, 0);
	phr_u256_to_dec(tok, &rc.token_id);
	snprintf(sql, sizeof(sql), "SELECT type, id, vid, reason FROM fhir_orphan WHERE token = '%s'", tok);
	assert_int_equal(sqlite3_prepare_v2(db.db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		found++;
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "Observation");
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "rec-d");
		assert_int_equal(sqlite3_column_int64(st, 2), 1);
		assert_non_null(strstr((const char *)sqlite3_column_text(st, 3), "not the next version"));
	}
	sqlite3_finalize(st);
	assert_int_equal(found, 1);
	phr_u256_to_dec(tok, &rj.token_id);
	snprintf(sql, sizeof(sql), "SELECT reason FROM fhir_orphan WHERE token = '%s' AND type IS NULL", tok);
	assert_int_equal(sqlite3_prepare_v2(db.db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 0), "not a JSON resource"));
	sqlite3_finalize(st);
	/* seen once: a second scan finds nothing new */
	assert_int_equal(fhir_recover_scan(&db, &lock, fx.node, prov, UINT64_MAX, NULL, &rep), PHR_OK);
	assert_int_equal(rep.indexed + rep.orphaned, 0);
	fhir_db_close(&db);
	assert_int_equal(version_of("/Observation/rec-d"), 1);
	assert_int_equal(total_of("/Observation?code=urn:rec|dup"), 1);
	assert_int_equal(total_of("/Observation/rec-d/_history"), 1);
	{ /* the index still answers the version it had (valueInteger 1) */
		struct http_res g;
		assert_int_equal(fhir(&g, "GET", "/Observation/rec-d", NULL), 200);
		assert_int_equal(json_integer_value(json_object_get(g.json, "valueInteger")), 1);
		http_res_release(&g);
	}
}

static const char *held_id; /* the Type/id a write "in flight" holds in test_held_left */

static bool held(void *ctx, const char *type, const char *id)
{
	(void)ctx;
	return held_id != NULL && strcmp(type, "Observation") == 0 && strcmp(id, held_id) == 0;
}

/*
 * A record of a Type/id that a write in flight holds (its retry may be about
 * to index the same version) is left to a later scan, and the cursor stays
 * before it; once nothing holds it, it is indexed.
 */
static void test_held_left(void **state)
{
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	static const char res[] = "{\"resourceType\":\"Observation\",\"id\":\"rec-h\",\"meta\":{\"versionId\":\"1\","
				  "\"lastUpdated\":\"2026-01-02T03:04:05.678Z\"},\"status\":\"final\",\"code\":"
				  "{\"coding\":[{\"system\":\"urn:rec\",\"code\":\"held\"}]},\"valueInteger\":4}";
	struct phr_record_receipt rc;
	struct fhir_recover_report rep;
	struct fhir_recover r;
	struct fhir_db db;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	(void)state;
	/* minted as version 1 of a new id, never indexed (as a retried write's first attempt) */
	assert_int_equal(phr_node_record_submit(fx.node, &rc, prov, pat->address, 5, NULL, (const uint8_t *)res,
						strlen(res)),
			 PHR_OK);
	fhir_recover_init(&r);
	r.reserved = held;
	assert_int_equal(fhir_db_open(&db, fx.s.dir), PHR_OK);
	held_id = "rec-h";
	assert_int_equal(fhir_recover_scan(&db, &lock, fx.node, prov, UINT64_MAX, &r, &rep), PHR_OK);
	assert_int_equal(rep.held, 1);
	assert_int_equal(rep.indexed, 0);
	assert_int_equal(version_of("/Observation/rec-h"), 0);
	/* the write ended (its retry failed before indexing anything): the next scan takes it */
	held_id = NULL;
	assert_int_equal(fhir_recover_scan(&db, &lock, fx.node, prov, UINT64_MAX, &r, &rep), PHR_OK);
	assert_int_equal(rep.held, 0);
	assert_int_equal(rep.indexed, 1);
	fhir_db_close(&db);
	fhir_recover_release(&r);
	assert_int_equal(version_of("/Observation/rec-h"), 1);
	assert_int_equal(total_of("/Observation?code=urn:rec|held"), 1);
}

/*
 * A failed Bundle of 60 records: more RecordMinted logs than the chain answers in
 * one query (PHR_CHAIN_LOGS_MAX, set in main), so the scan's range is split until
 * the chain answers (phr_chain_get_logs); every record is indexed.
 */
static void test_many_recovered(void **state)
{
	struct http_res r;
	char *b = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&b, &len);

	(void)state;
	assert_non_null(f);
	fputs("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[", f);
	for (int i = 0; i < 60; i++)
		fprintf(f,
			"%s{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":"
			"{\"coding\":[{\"system\":\"urn:rec\",\"code\":\"many\"}]},\"valueInteger\":%d},"
			"\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}",
			i ? "," : "", i);
	fputs("]}", f);
	assert_int_equal(fclose(f), 0);
	fhir_test_hook_set(FHIR_HOOK_FAIL_INDEX);
	assert_true(fhir(&r, "POST", "", b) >= 500);
	http_res_release(&r);
	fhir_test_hook_set(FHIR_HOOK_NONE);
	free(b);
	/* the first request after the failure runs the scan */
	assert_int_equal(total_of("/Observation?code=urn:rec|many"), 60);
}

int main(void)
{
	/* the chain answers at most 50 logs per eth_getLogs query (as the embedded
	 * chain's 10,000 at a million records, or a provider's limit): a scan of more
	 * minted records has its windows of 2,000 blocks split (test_many_recovered) */
	setenv("PHR_CHAIN_LOGS_MAX", "50", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_recovered),
		cmocka_unit_test(test_update_recovered),
		cmocka_unit_test(test_duplicate_reported),
		cmocka_unit_test(test_held_left),
		cmocka_unit_test(test_many_recovered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
