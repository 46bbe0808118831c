/*
 * Searches of one token and one date parameter (fhir_index.c tdx pairs):
 * on randomized Observations (codes of two systems and none, two codings
 * on some, dates of every precision, periods, none), each search by the
 * pair path is compared with the same search through the per-resource
 * path (a third parameter every resource matches, status=final, takes the
 * old plan): totals, and the rows of pages at several offsets; with and
 * without an access filter. Again after updates and deletes, and after the
 * pairs are dropped from the file (a data directory written before them):
 * the reopen fills them back, the same rows as written one by one (a
 * resource whose hist row is missing counted once all the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/api/fhir_int.h"
#include "fhir_test_dir.h"

#define N_OBS 400
#define N_CODES 12
#define N_QUERIES 300

static char dir[] = "/tmp/phr-fhir-count-XXXXXX";
static struct fhir_db writer;
static int64_t clock_ms = 1700000000000;
static uint32_t rng = 12345;
static const char *const systems[] = { "http://loinc.org", "http://snomed.info/sct" };

static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

/* A random date of random precision: year, month, day, dateTime (Z, with fractions, other offsets). */
static void rand_date(char *out, size_t cap)
{
	unsigned m = 1 + rnd(3), d = 1 + rnd(28), h = rnd(24), mi = rnd(60), s = rnd(60);

	switch (rnd(6)) {
	case 0:
		snprintf(out, cap, "2024");
		break;
	case 1:
		snprintf(out, cap, "2024-%02u", m);
		break;
	case 2:
		snprintf(out, cap, "2024-%02u-%02u", m, d);
		break;
	case 3:
		snprintf(out, cap, "2024-%02u-%02uT%02u:%02u:%02uZ", m, d, h, mi, s);
		break;
	case 4:
		snprintf(out, cap, "2024-%02u-%02uT%02u:%02u:%02u.123+02:00", m, d, h, mi, s);
		break;
	default:
		snprintf(out, cap, "2024-%02u-%02uT%02u:%02u", m, d, h, mi);
		snprintf(out + strlen(out), cap - strlen(out), ":00-05:00");
		break;
	}
}

static json_t *coding(void)
{
	char code[16];
	unsigned s = rnd(3);

	snprintf(code, sizeof(code), "c%u", rnd(N_CODES));
	if (s == 2)
		return json_pack("{s:s}", "code", code);
	return json_pack("{s:s,s:s}", "system", systems[s], "code", code);
}

/* Writes Observation o@p i (a new version, random content), or deletes it. */
static void put_obs(int i, int vid, bool del)
{
	char id[32];
	struct fhir_row row;
	json_t *res = NULL;

	snprintf(id, sizeof(id), "o%d", i);
	if (!del) {
		json_t *codings = json_array();
		char d1[48], d2[48];
		unsigned dk = rnd(8);
		assert_int_equal(json_array_append_new(codings, coding()), 0);
		if (rnd(4) == 0)
			assert_int_equal(json_array_append_new(codings, coding()), 0);
		if (i % 37 == 0) /* more token keys than the writer keeps for its pairs */
			for (int k = 0; k < 70; k++)
				assert_int_equal(json_array_append_new(codings, coding()), 0);
		res = json_pack("{s:s,s:s,s:{s:s},s:s,s:{s:o},s:{s:s}}", "resourceType", "Observation", "id", id,
				"meta", "lastUpdated", "2024-05-01T00:00:00Z", "status", "final", "code", "coding",
				codings, "subject", "reference", "Patient/p1");
		assert_non_null(res);
		rand_date(d1, sizeof(d1));
		if (dk < 5) {
			assert_int_equal(json_object_set_new(res, "effectiveDateTime", json_string(d1)), 0);
		} else if (dk < 7) { /* a period: start <= end when both are in the same month, else open */
			rand_date(d2, sizeof(d2));
			json_t *per = strcmp(d1, d2) <= 0 ? json_pack("{s:s,s:s}", "start", d1, "end", d2)
							  : json_pack("{s:s}", "start", d2);
			assert_int_equal(json_object_set_new(res, "effectivePeriod", per), 0);
		} /* else no date */
	}
	memset(&row, 0, sizeof(row));
	snprintf(row.type, sizeof(row.type), "Observation");
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.pid, sizeof(row.pid), "p%d", i % 5);
	row.patient[0] = (uint8_t)(i % 5);
	row.vid = (uint64_t)vid;
	row.deleted = del;
	row.updated_ms = clock_ms++;
	row.token = phr_u256_from_u64((uint64_t)i + 1);
	assert_int_equal(fhir_db_begin(&writer), PHR_OK);
	assert_int_equal(fhir_db_put(&writer, &row, res, del ? "DELETE" : "PUT"), PHR_OK);
	assert_int_equal(fhir_db_commit(&writer), PHR_OK);
	json_decref(res);
}

/* Access filter: the records of patients 0, 2 and 4 only. */
static int even_patients(void *ctx, bool *ok, const uint8_t patient[20], const struct phr_u256 *token)
{
	(void)ctx;
	(void)token;
	*ok = patient[0] % 2 == 0;
	return PHR_OK;
}

/* A random token value: code, system|code, |code, system| or two alternatives. */
static void rand_token(char *out, size_t cap)
{
	unsigned c = rnd(N_CODES), s = rnd(2);

	switch (rnd(6)) {
	case 0:
	case 1:
		snprintf(out, cap, "c%u", c);
		break;
	case 2:
		snprintf(out, cap, "%s|c%u", systems[s], c);
		break;
	case 3:
		snprintf(out, cap, "|c%u", c);
		break;
	case 4:
		snprintf(out, cap, "%s|", systems[s]);
		break;
	default:
		snprintf(out, cap, "c%u,%s|c%u", c, systems[s], rnd(N_CODES));
		break;
	}
}

static void search(struct fhir_db *db, struct fhir_hits *h, const char *code, const char *date, bool old,
		   size_t count, size_t offset, const struct fhir_access *acc)
{
	struct phr_fhir_req q;
	char detail[128];

	phr_fhir_req_init(&q);
	assert_int_equal(phr_fhir_req_add_param(&q, "code", code), PHR_OK);
	assert_int_equal(phr_fhir_req_add_param(&q, "date", date), PHR_OK);
	if (old)
		assert_int_equal(phr_fhir_req_add_param(&q, "status", "final"), PHR_OK);
	assert_int_equal(fhir_db_search(db, h, detail, sizeof(detail), "Observation", &q, count, offset, acc),
			 PHR_OK);
	phr_fhir_req_release(&q);
}

/* Pair path == old path on @p n random searches; returns the sum of the totals seen. */
static size_t compare(struct fhir_db *db, int n)
{
	static const char *const pre[] = { "", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap" };
	struct fhir_access acc = { even_patients, NULL };
	size_t sum = 0;

	for (int k = 0; k < n; k++) {
		char code[96], date[64], d[48];
		const struct fhir_access *a = rnd(3) == 0 ? &acc : NULL;
		struct fhir_hits x, y;
		rand_token(code, sizeof(code));
		rand_date(d, sizeof(d));
		snprintf(date, sizeof(date), "%s%s", pre[rnd(PHR_ARRAY_LEN(pre))], d);
		search(db, &x, code, date, false, 0, 0, a);
		search(db, &y, code, date, true, 0, 0, a);
		if (x.total != y.total)
			fail_msg("code=%s date=%s%s: %zu, old path %zu", code, date, a ? " (filter)" : "", x.total,
				 y.total);
		sum += x.total;
		fhir_hits_release(&x);
		fhir_hits_release(&y);
		if (k % 4 == 0) { /* pages */
			size_t count = 1 + rnd(9), total = y.total;
			for (size_t off = 0; off <= total + 1; off += count + rnd(3)) {
				search(db, &x, code, date, false, count, off, a);
				search(db, &y, code, date, true, count, off, a);
				assert_int_equal(x.total, y.total);
				assert_int_equal(x.n, y.n);
				for (size_t j = 0; j < x.n; j++)
					assert_string_equal(x.rows[j].id, y.rows[j].id);
				fhir_hits_release(&x);
				fhir_hits_release(&y);
			}
		}
	}
	return sum;
}

static int64_t count_sql(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_random(void **state)
{
	struct fhir_pool pool;
	struct fhir_db *db;
	size_t sum;

	(void)state;
	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	sum = compare(db, N_QUERIES);
	assert_true(sum > 0); /* the data and queries do match */
	{ /* parameters tdx does not pair (_lastUpdated, _id) take the per-resource plan */
		struct phr_fhir_req q;
		struct fhir_hits x, y;
		char detail[128];
		phr_fhir_req_init(&q);
		assert_int_equal(phr_fhir_req_add_param(&q, "code", "c3"), PHR_OK);
		assert_int_equal(fhir_db_search(db, &x, detail, sizeof(detail), "Observation", &q, 0, 0, NULL),
				 PHR_OK);
		assert_int_equal(phr_fhir_req_add_param(&q, "_lastUpdated", "ge2023"), PHR_OK);
		assert_int_equal(fhir_db_search(db, &y, detail, sizeof(detail), "Observation", &q, 0, 0, NULL),
				 PHR_OK);
		assert_true(x.total > 0);
		assert_int_equal(y.total, x.total);
		fhir_hits_release(&x);
		fhir_hits_release(&y);
		phr_fhir_req_release(&q);
		phr_fhir_req_init(&q);
		assert_int_equal(phr_fhir_req_add_param(&q, "_id", "o3"), PHR_OK);
		assert_int_equal(phr_fhir_req_add_param(&q, "date", "ge2000"), PHR_OK);
		assert_int_equal(fhir_db_search(db, &y, detail, sizeof(detail), "Observation", &q, 0, 0, NULL),
				 PHR_OK);
		assert_int_equal(y.total, count_sql(writer.db, "SELECT count(*) FROM idx WHERE id='o3' AND "
								"param='date'") > 0 ? 1 : 0);
		fhir_hits_release(&y);
		phr_fhir_req_release(&q);
		assert_int_equal(count_sql(writer.db, "SELECT count(*) FROM tdx WHERE substr(tparam, 1, 1)='_' "
						      "OR substr(dparam, 1, 1)='_'"),
				 0);
		/* of the token parameters only code is paired: status (every resource's "final") is not */
		assert_int_equal(count_sql(writer.db, "SELECT count(*) FROM tdx WHERE tparam<>'code'"), 0);
		assert_true(count_sql(writer.db, "SELECT count(*) FROM tdx") > 0);
	}
	/* new versions of a quarter, a tenth deleted */
	for (int i = 0; i < N_OBS; i += 4)
		put_obs(i, 2, false);
	for (int i = 1; i < N_OBS; i += 10)
		put_obs(i, 2, true);
	assert_int_equal(count_sql(writer.db, "SELECT count(*) FROM tdx WHERE id IN (SELECT id FROM res "
					      "WHERE deleted=1)"),
			 0);
	sum = compare(db, N_QUERIES);
	assert_true(sum > 0);
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);
}

/* The pair path is the one taken (without pairs it finds nothing); a reopen fills them back. */
static void test_backfill(void **state)
{
	struct fhir_pool pool;
	struct fhir_db *db;
	struct fhir_hits x;
	char *before = NULL;
	int64_t n;
	sqlite3_stmt *st;
	const char *all = "SELECT group_concat(r, ';') FROM (SELECT type||' '||id||' '||tparam||' '||"
			  "ifnull(sys,'-')||' '||ifnull(val,'-')||' '||dparam||' '||lo||' '||hi AS r FROM tdx "
			  "ORDER BY r)";

	(void)state;
	n = count_sql(writer.db, "SELECT count(*) FROM tdx");
	assert_true(n > N_OBS / 2);
	assert_int_equal(sqlite3_prepare_v2(writer.db, all, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	before = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_non_null(before);

	assert_int_equal(sqlite3_exec(writer.db, "DELETE FROM tdx", NULL, NULL, NULL), SQLITE_OK);
	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	search(db, &x, "c1,c2,c3,c4,c5,c6", "ge2024", false, 0, 0, NULL);
	assert_int_equal(x.total, 0);
	fhir_hits_release(&x);
	search(db, &x, "c1,c2,c3,c4,c5,c6", "ge2024", true, 0, 0, NULL);
	assert_true(x.total > 0);
	fhir_hits_release(&x);
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);

	/* a file of before the pairs (a table of another shape by that name); two resources without
	 * their hist row (counted once each all the same) */
	assert_int_equal(sqlite3_exec(writer.db,
				      "DROP TABLE tdx; CREATE TABLE tdx(type, id); "
				      "DELETE FROM hist WHERE type='Observation' AND id IN ('o0', 'o5')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	fhir_db_close(&writer);
	assert_int_equal(fhir_db_open(&writer, dir), PHR_OK);
	assert_int_equal(count_sql(writer.db, "SELECT count(*) FROM tdx"), n);
	assert_int_equal(sqlite3_prepare_v2(writer.db, all, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), before);
	sqlite3_finalize(st);
	free(before);
	/* a second open leaves them */
	fhir_db_close(&writer);
	assert_int_equal(fhir_db_open(&writer, dir), PHR_OK);
	assert_int_equal(count_sql(writer.db, "SELECT count(*) FROM tdx"), n);

	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	assert_true(compare(db, N_QUERIES / 3) > 0);
	assert_int_equal(count_sql(writer.db, "SELECT count(DISTINCT seq) FROM tdx WHERE seq<0"), 2);
	/* writes after the reopen keep them */
	for (int i = 2; i < N_OBS; i += 7)
		put_obs(i, 3, false);
	assert_true(compare(db, N_QUERIES / 3) > 0);
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL || fhir_db_open(&writer, dir) != PHR_OK)
		return -1;
	for (int i = 0; i < N_OBS; i++)
		put_obs(i, 1, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fhir_db_close(&writer);
	return fhir_test_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_backfill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
