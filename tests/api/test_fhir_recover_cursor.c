/*
 * The recovery cursor moves at the first scan after a start (src/api/fhir_recover.c):
 * writes sample the chain head, so a failure's scan already knows a head old enough
 * (the margin, shortened here to 600 ms with PHR_FHIR_RECOVER_MARGIN_MS) and moves the
 * identity's cursor past what it read. Before, only scans took samples: the first scan
 * after a start had none, left the cursor where the identity first wrote, and the scans
 * due 35 s and 150 s later read every record minted since (283,203 at 300,000 imported
 * resources, 28 % of the node's CPU during a search benchmark).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fhir_recover_fx.h"
#include "phr/crypto.h"

static long create(int value)
{
	char url[512], body[256];
	struct http_res r;
	long status;

	snprintf(url, sizeof(url), "%s/fhir/Observation", fx.base);
	snprintf(body, sizeof(body),
		 "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
		 "[{\"system\":\"urn:cursor\",\"code\":\"c\"}]},\"valueInteger\":%d}",
		 value);
	assert_int_equal(http_do(&r, "POST", url, t_provider, "application/fhir+json", body, strlen(body), hdr_pat),
			 0);
	status = r.status;
	http_res_release(&r);
	return status;
}

/* The cursor of the provider (the block its records are known indexed up to), or -1. */
static long long cursor(void)
{
	char path[600];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long block = -1;
	const uint8_t *addr = phr_node_identity_by_name(fx.node, "provider")->address;

	snprintf(path, sizeof(path), "%s/fhir.db", fx.s.dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT block FROM fhir_recover WHERE addr = ?", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, addr, 20, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		block = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return block;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_first_scan_moves_cursor(void **state)
{
	struct http_res r;
	char url[512];
	long long c0, c1;
	uint64_t head = 0;

	(void)state;
	/* writes over more than the margin: each one mints a block, some sample the head */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(create(i), 201);
		sleep_ms(150);
	}
	c0 = cursor();
	assert_true(c0 >= 0); /* made at the first write, at the head of that moment */
	assert_int_equal(phr_chain_block_number(phr_node_chain(fx.node), &head), PHR_OK);
	assert_true((long long)head > c0 + 4);
	/* a write whose index step fails after its mint: a scan is due at once */
	fhir_test_hook_set(FHIR_HOOK_FAIL_INDEX);
	assert_true(create(100) >= 500);
	fhir_test_hook_set(FHIR_HOOK_NONE);
	/* the next request runs it before it is routed */
	snprintf(url, sizeof(url), "%s/fhir/Observation?code=urn:cursor|c&_summary=count", fx.base);
	assert_int_equal(http_do(&r, "GET", url, t_provider, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 9); /* the failed one recovered */
	http_res_release(&r);
	c1 = cursor();
	fprintf(stderr, "cursor %lld -> %lld (head before the failure %llu)\n", c0, c1, (unsigned long long)head);
	assert_true(c1 > c0);
	assert_true(c1 <= (long long)head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_scan_moves_cursor),
	};
	setenv("PHR_FHIR_RECOVER_MARGIN_MS", "600", 1);
	return cmocka_run_group_tests(tests, setup, teardown);
}
