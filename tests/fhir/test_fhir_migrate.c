/*
 * A fhir.db of the first shape (idx and tdx rowid tables with idx_key,
 * idx_row, idx_refid, tdx_key, tdx_res: the DDL fhir_index.c wrote up to
 * commit 967678a, copied below) opens as the clustered one: its keys and
 * pairs are moved once, row for row, and every search answers as on a file
 * written by the current code with the same resources (totals and pages,
 * the tdx count path and the per-resource one, _sort, bare-id references,
 * :missing, :not, references of _include); later writes of moved
 * resources replace their moved keys; a second open moves nothing; two
 * writers opening such a file at once both open it, the move done once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/api/fhir_int.h"
#include "fhir_test_dir.h"

/* the schema of the first shape, as fhir_index.c (SCHEMA, TDX_SCHEMA) made it */
static const char OLD_SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE res(type TEXT NOT NULL, id TEXT NOT NULL, vid INTEGER NOT NULL,"
	" updated INTEGER NOT NULL, token TEXT NOT NULL, patient BLOB, pid TEXT NOT NULL,"
	" deleted INTEGER NOT NULL, PRIMARY KEY(type, id));"
	"CREATE TABLE hist(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,"
	" vid INTEGER NOT NULL, updated INTEGER NOT NULL, token TEXT NOT NULL, patient BLOB,"
	" pid TEXT NOT NULL, deleted INTEGER NOT NULL, method TEXT NOT NULL, UNIQUE(type, id, vid));"
	"CREATE TABLE idx(type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,"
	" sys TEXT, val TEXT, num REAL, lo INTEGER, hi INTEGER);"
	"CREATE INDEX idx_key ON idx(type, param, val, sys, id);"
	"CREATE INDEX idx_row ON idx(type, id, param, val, sys, lo, hi, num);"
	"CREATE INDEX idx_refid ON idx(type, param, substr(val, instr(val, '/') + 1))"
	" WHERE instr(val, '/') > 0;"
	"CREATE INDEX res_pid ON res(pid);"
	"CREATE INDEX res_upd ON res(type, updated);"
	"CREATE TABLE tdx(type TEXT NOT NULL, id TEXT NOT NULL, tparam TEXT NOT NULL, sys TEXT, val TEXT,"
	" dparam TEXT NOT NULL, lo INTEGER, hi INTEGER, seq INTEGER NOT NULL, patient BLOB, token TEXT);"
	"CREATE INDEX tdx_key ON tdx(type, tparam, val, dparam, hi, lo, sys, seq, patient, token, id);"
	"CREATE INDEX tdx_res ON tdx(type, id);";

#define N_PAT 12
#define N_OBS 240

static char dir_new[] = "/tmp/phr-fhir-migrate-new-XXXXXX";
static char dir_old[] = "/tmp/phr-fhir-migrate-old-XXXXXX";
static uint32_t rng = 777;
static int64_t clock_ms = 1700000000000;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

static void put(struct fhir_db *w, const char *type, const char *id, uint64_t vid, const char *pid, json_t *res)
{
	struct fhir_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.type, sizeof(row.type), "%s", type);
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.pid, sizeof(row.pid), "%s", pid);
	row.vid = vid;
	row.deleted = res == NULL;
	row.updated_ms = clock_ms++;
	row.token = phr_u256_from_u64((uint64_t)clock_ms);
	row.patient[0] = (uint8_t)pid[1];
	assert_int_equal(fhir_db_begin(w), PHR_OK);
	assert_int_equal(fhir_db_put(w, &row, res, res == NULL ? "DELETE" : "PUT"), PHR_OK);
	assert_int_equal(fhir_db_commit(w), PHR_OK);
	json_decref(res);
}

static json_t *patient(int i)
{
	char id[16], fam[16];

	snprintf(id, sizeof(id), "p%d", i);
	snprintf(fam, sizeof(fam), "Fam%d", i % 4);
	return json_pack("{s:s,s:s,s:[{s:s,s:[s]}],s:s,s:s}", "resourceType", "Patient", "id", id, "name", "family",
			 fam, "given", "Ann", "gender", i % 2 ? "female" : "male", "birthDate",
			 i % 3 ? "1980-02-03" : "1975");
}

/* Observation o@p i, version @p vid: random code, date (or none), value, subject. */
static json_t *observation(int i, int vid)
{
	char id[16], code[16], date[16], subj[24];
	json_t *o;

	snprintf(id, sizeof(id), "o%d", i);
	snprintf(code, sizeof(code), "c%u", rnd(6) + (vid > 1 ? 6 : 0));
	snprintf(date, sizeof(date), "2024-0%u-%02u", 1 + rnd(3), 1 + rnd(28));
	snprintf(subj, sizeof(subj), "Patient/p%u", rnd(N_PAT));
	o = json_pack("{s:s,s:s,s:s,s:{s:[{s:s,s:s}]},s:{s:s},s:{s:i,s:s,s:s,s:s}}", "resourceType", "Observation",
		      "id", id, "status", rnd(5) ? "final" : "amended", "code", "coding", "system",
		      "http://loinc.org", "code", code, "subject", "reference", subj, "valueQuantity", "value",
		      (int)rnd(200), "unit", "kg", "system", "http://unitsofmeasure.org", "code", "kg");
	assert_non_null(o);
	if (rnd(6) != 0)
		assert_int_equal(json_object_set_new(o, "effectiveDateTime", json_string(date)), 0);
	return o;
}

/* The same resources (the same random sequence) into @p w. */
static void fill(struct fhir_db *w)
{
	rng = 777;
	clock_ms = 1700000000000;
	for (int i = 0; i < N_PAT; i++) {
		char id[16];
		snprintf(id, sizeof(id), "p%d", i);
		put(w, "Patient", id, 1, id, patient(i));
	}
	for (int i = 0; i < N_OBS; i++) {
		char id[16], pid[16];
		snprintf(id, sizeof(id), "o%d", i);
		snprintf(pid, sizeof(pid), "p%d", i % N_PAT);
		put(w, "Observation", id, 1, pid, observation(i, 1));
	}
	for (int i = 0; i < N_OBS; i += 7) { /* updates and deletes */
		char id[16], pid[16];
		snprintf(id, sizeof(id), "o%d", i);
		snprintf(pid, sizeof(pid), "p%d", i % N_PAT);
		put(w, "Observation", id, 2, pid, i % 3 ? observation(i, 2) : NULL);
	}
}

static sqlite3 *open_raw(const char *dir)
{
	char path[256];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/fhir.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static long long count_sql(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * The file of the first shape in dir_old with the rows of dir_new (written
 * by the current code): what a node of the earlier code left.
 */
static void make_old(void)
{
	char sql[512];
	sqlite3 *db = open_raw(dir_old);

	assert_int_equal(sqlite3_exec(db, OLD_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "ATTACH '%s/fhir.db' AS n", dir_new);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	/* the keys in a shuffled order: the old rowids do not follow (type, id, param) */
	assert_int_equal(sqlite3_exec(db,
				      "BEGIN;"
				      "INSERT INTO res SELECT * FROM n.res;"
				      "INSERT INTO hist SELECT * FROM n.hist;"
				      "INSERT INTO idx SELECT type, id, param, sys, val, num, lo, hi FROM n.idx"
				      " ORDER BY substr(id, 2) * 7 % 13, param DESC;"
				      "INSERT INTO tdx SELECT type, id, tparam, sys, val, dparam, lo, hi, seq, patient,"
				      " token FROM n.tdx ORDER BY seq DESC;"
				      "COMMIT; DETACH n;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_true(count_sql(db, "SELECT count(*) FROM idx") > 5 * N_OBS);
	assert_true(count_sql(db, "SELECT count(*) FROM tdx") > N_OBS / 2); /* code x date of the dated ones */
	sqlite3_close(db);
}

/* Rows of @p what (a SELECT of text) in both files, in order, are the same, and there are some. */
static void same_rows(const char *what)
{
	sqlite3 *a = open_raw(dir_new), *b = open_raw(dir_old);
	sqlite3_stmt *x = NULL, *y = NULL;
	int sx, sy, n = 0;

	assert_int_equal(sqlite3_prepare_v2(a, what, -1, &x, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(b, what, -1, &y, NULL), SQLITE_OK);
	while ((sx = sqlite3_step(x)) == SQLITE_ROW) {
		assert_int_equal((sy = sqlite3_step(y)), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(x, 0), sqlite3_column_text(y, 0));
		n++;
	}
	assert_int_equal(sx, SQLITE_DONE);
	assert_int_equal(sqlite3_step(y), SQLITE_DONE);
	assert_true(n > 0);
	sqlite3_finalize(x);
	sqlite3_finalize(y);
	sqlite3_close(a);
	sqlite3_close(b);
}

#define KEY_ROWS                                                                                       \
	"SELECT type||' '||id||' '||param||' '||ifnull(sys,'-')||' '||ifnull(val,'-')||' '||ifnull(num,'-')" \
	"||' '||ifnull(lo,'-')||' '||ifnull(hi,'-') AS r FROM idx ORDER BY r"
#define PAIR_ROWS                                                                                        \
	"SELECT type||' '||id||' '||tparam||' '||ifnull(sys,'-')||' '||ifnull(val,'-')||' '||dparam||' '||" \
	"ifnull(lo,'-')||' '||ifnull(hi,'-')||' '||seq||' '||hex(patient)||' '||token AS r FROM tdx ORDER BY r"

static void shape_is_clustered(void)
{
	sqlite3 *db = open_raw(dir_old);

	assert_int_equal(count_sql(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('idx',"
				       " 'tdx') AND sql LIKE '%WITHOUT ROWID'"),
			 2);
	assert_int_equal(count_sql(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('idx_row', 'tdx_res',"
				       " 'idx_new', 'tdx_new')"),
			 0);
	assert_int_equal(count_sql(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND name IN"
				       " ('idx_key', 'idx_refid', 'tdx_key')"),
			 3);
	sqlite3_close(db);
}

/* One search on both files: the same total and the same ids in order. */
static void same_search(struct fhir_db *a, struct fhir_db *b, const char *type, const char *query, size_t count,
			size_t *total)
{
	struct phr_fhir_req q;
	struct fhir_hits x, y;
	char detail[128];

	phr_fhir_req_init(&q);
	assert_int_equal(phr_fhir_req_add_query(&q, query), PHR_OK);
	assert_int_equal(fhir_db_search(a, &x, detail, sizeof(detail), type, &q, count, 0, NULL), PHR_OK);
	assert_int_equal(fhir_db_search(b, &y, detail, sizeof(detail), type, &q, count, 0, NULL), PHR_OK);
	phr_fhir_req_release(&q);
	if (x.total != y.total)
		fail_msg("%s?%s: %zu, moved file %zu", type, query, x.total, y.total);
	assert_int_equal(x.n, y.n);
	for (size_t i = 0; i < x.n; i++) {
		assert_string_equal(x.rows[i].id, y.rows[i].id);
		assert_int_equal(x.rows[i].vid, y.rows[i].vid);
	}
	*total += x.total;
	fhir_hits_release(&x);
	fhir_hits_release(&y);
}

static void compare_searches(void)
{
	static const char *const fixed[] = {
		"code=c3", "code=http://loinc.org|c7", "code=c1,c9&date=ge2024-02-01", "code=c2&date=lt2024-03",
		"patient=p3", "subject=Patient/p5", "patient=p4&code=c0", "date:missing=true",
		"status:not=final", "value-quantity=gt100", "_sort=-date&code=c4", "_sort=date,-_id",
		"_id=o14,o15", "code=c8&_sort=value-quantity",
	};
	struct fhir_db a, b;
	size_t total = 0;

	assert_int_equal(fhir_db_open_reader(&a, dir_new), PHR_OK);
	assert_int_equal(fhir_db_open_reader(&b, dir_old), PHR_OK);
	for (size_t i = 0; i < PHR_ARRAY_LEN(fixed); i++)
		same_search(&a, &b, "Observation", fixed[i], 50, &total);
	for (int i = 0; i < 60; i++) { /* the tdx count path, pages of the per-resource path */
		char q[128];
		snprintf(q, sizeof(q), "code=c%u&date=%s2024-0%u-%02u", rnd(12), rnd(2) ? "ge" : "le", 1 + rnd(3),
			 1 + rnd(28));
		same_search(&a, &b, "Observation", q, rnd(2) ? 0 : 10, &total);
	}
	same_search(&a, &b, "Patient", "family=Fam1", 50, &total);
	same_search(&a, &b, "Patient", "gender=female&birthdate=ge1979", 50, &total);
	assert_true(total > 100);
	for (int i = 0; i < 20; i++) { /* references of _include */
		json_t *x = NULL, *y = NULL;
		char id[16];
		snprintf(id, sizeof(id), "o%d", i);
		assert_int_equal(fhir_db_refs_of(&a, &x, "Observation", id, "subject"), PHR_OK);
		assert_int_equal(fhir_db_refs_of(&b, &y, "Observation", id, "subject"), PHR_OK);
		assert_true(json_equal(x, y));
		json_decref(x);
		json_decref(y);
	}
	fhir_db_close(&a);
	fhir_db_close(&b);
}

static void test_old_file_moved(void **state)
{
	struct fhir_db w;

	(void)state;
	assert_non_null(mkdtemp(dir_new));
	assert_non_null(mkdtemp(dir_old));
	assert_int_equal(fhir_db_open(&w, dir_new), PHR_OK);
	fill(&w);
	fhir_db_close(&w);
	make_old();

	/* the open moves the keys and pairs, row for row */
	assert_int_equal(fhir_db_open(&w, dir_old), PHR_OK);
	fhir_db_close(&w);
	shape_is_clustered();
	same_rows(KEY_ROWS);
	same_rows(PAIR_ROWS);
	compare_searches();

	/* a second open finds the shape made: nothing moves (same rows, same k) */
	{
		sqlite3 *db = open_raw(dir_old);
		long long sum = count_sql(db, "SELECT sum(k) FROM idx");
		sqlite3_close(db);
		assert_int_equal(fhir_db_open(&w, dir_old), PHR_OK);
		fhir_db_close(&w);
		db = open_raw(dir_old);
		assert_int_equal(count_sql(db, "SELECT sum(k) FROM idx"), sum);
		sqlite3_close(db);
	}

	/* later writes of moved resources replace their keys in both files alike */
	{
		struct fhir_db v;
		uint32_t seed = rng;
		assert_int_equal(fhir_db_open(&w, dir_new), PHR_OK);
		assert_int_equal(fhir_db_open(&v, dir_old), PHR_OK);
		for (int i = 1; i < N_OBS; i += 5) {
			char id[16], pid[16];
			snprintf(id, sizeof(id), "o%d", i);
			snprintf(pid, sizeof(pid), "p%d", i % N_PAT);
			int64_t t = clock_ms;
			rng = seed + (uint32_t)i;
			put(&w, "Observation", id, 3, pid, i % 4 ? observation(i, 3) : NULL);
			rng = seed + (uint32_t)i;
			clock_ms = t; /* the same time and record token in both */
			put(&v, "Observation", id, 3, pid, i % 4 ? observation(i, 3) : NULL);
		}
		fhir_db_close(&w);
		fhir_db_close(&v);
	}
	same_rows(KEY_ROWS);
	same_rows(PAIR_ROWS);
	compare_searches();
}

/* A file of the first shape without tdx (older still): the keys move, the pairs are filled from them. */
static void test_old_file_without_pairs(void **state)
{
	struct fhir_db w;
	sqlite3 *db;

	(void)state;
	db = open_raw(dir_old);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE tdx; DROP TABLE idx;" /* back to the first shape */
				      "CREATE TABLE idx(type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,"
				      " sys TEXT, val TEXT, num REAL, lo INTEGER, hi INTEGER);"
				      "CREATE INDEX idx_row ON idx(type, id, param, val, sys, lo, hi, num);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	db = open_raw(dir_old);
	{
		char sql[256];
		snprintf(sql, sizeof(sql), "ATTACH '%s/fhir.db' AS n", dir_new);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "INSERT INTO idx SELECT type, id, param, sys, val, num, lo, hi"
					      " FROM n.idx; DETACH n;",
					      NULL, NULL, NULL),
				 SQLITE_OK);
	}
	sqlite3_close(db);
	assert_int_equal(fhir_db_open(&w, dir_old), PHR_OK);
	fhir_db_close(&w);
	shape_is_clustered();
	same_rows(KEY_ROWS);
	same_rows(PAIR_ROWS);
	compare_searches();
}

/* Back to the first shape: the rows of dir_new in the old DDL (make_old on an emptied dir_old). */
static void reset_old(void)
{
	static const char *const files[] = { "fhir.db", "fhir.db-wal", "fhir.db-shm" };

	for (size_t i = 0; i < PHR_ARRAY_LEN(files); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir_old, files[i]);
		unlink(path);
	}
	make_old();
}

static void *open_writer(void *arg)
{
	struct fhir_db *w = arg;

	return (void *)(intptr_t)fhir_db_open(w, dir_old);
}

/* Two writers opening a file of the first shape at once: both open it; the keys moved once, row for row. */
static void test_two_writers_move_once(void **state)
{
	struct fhir_db w[2];
	pthread_t t[2];

	(void)state;
	reset_old();
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_writer, &w[i]), 0);
	for (int i = 0; i < 2; i++) {
		void *rv = NULL;
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_int_equal((int)(intptr_t)rv, PHR_OK);
	}
	fhir_db_close(&w[0]);
	fhir_db_close(&w[1]);
	shape_is_clustered();
	same_rows(KEY_ROWS);
	same_rows(PAIR_ROWS);
	compare_searches();
}

static int teardown(void **state)
{
	(void)state;
	(void)fhir_test_dir_remove(dir_new);
	(void)fhir_test_dir_remove(dir_old);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_file_moved),
		cmocka_unit_test(test_old_file_without_pairs),
		cmocka_unit_test(test_two_writers_move_once),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
