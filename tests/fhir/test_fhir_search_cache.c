/*
 * The FHIR index's kept search statements (fhir_index.c cached_prepare):
 * more distinct query shapes than a connection keeps (so the least recently
 * used are finalized and prepared again), each asked several times with
 * other values (a kept statement must not answer with the values of its
 * last use), every answer checked against the matches computed from the
 * data; totals and rows of pages at each offset; a kept statement sees a write made after its last use (it holds no
 * snapshot); history and the compartment through kept statements too.
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

#define N_OBS 120
#define N_CODES 7
#define N_PATIENTS 9

static char dir[] = "/tmp/phr-fhir-search-cache-XXXXXX";
static struct fhir_db writer;
static int64_t clock_ms = 1700000000000;

static void put_obs(int i)
{
	char id[32], code[16], subj[32], date[16];
	struct fhir_row row;
	json_t *res;

	snprintf(id, sizeof(id), "o%d", i);
	snprintf(code, sizeof(code), "c%d", i % N_CODES);
	snprintf(subj, sizeof(subj), "Patient/p%d", i % N_PATIENTS);
	snprintf(date, sizeof(date), "2024-01-%02d", 1 + i % 28);
	res = json_pack("{s:s,s:s,s:s,s:{s:[{s:s,s:s}]},s:{s:s},s:s}", "resourceType", "Observation", "id", id,
			"status", "final", "code", "coding", "system", "http://loinc.org", "code", code, "subject",
			"reference", subj, "effectiveDateTime", date);
	assert_non_null(res);
	memset(&row, 0, sizeof(row));
	snprintf(row.type, sizeof(row.type), "Observation");
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.pid, sizeof(row.pid), "p%d", i % N_PATIENTS);
	row.vid = 1;
	row.updated_ms = clock_ms++;
	row.token = phr_u256_from_u64((uint64_t)i + 1);
	assert_int_equal(fhir_db_begin(&writer), PHR_OK);
	assert_int_equal(fhir_db_put(&writer, &row, res, "POST"), PHR_OK);
	assert_int_equal(fhir_db_commit(&writer), PHR_OK);
	json_decref(res);
}

static int num_of(const char *s)
{
	return (int)strtol(s, NULL, 10);
}

/* Whether observation @p i matches codes (bit set), patients (bit set), day >= @p from. */
static bool matches(int i, unsigned codes, unsigned patients, int from)
{
	return (codes & (1u << (i % N_CODES))) != 0 && (patients & (1u << (i % N_PATIENTS))) != 0 &&
	       1 + i % 28 >= from;
}

/* "c1,c3" (prefix "" or "Patient/"; bare: "p1,p3") from a bit set. */
static void list_of(char *out, size_t cap, const char *prefix, char letter, unsigned set, int max)
{
	size_t len = 0;

	out[0] = '\0';
	for (int k = 0; k < max; k++)
		if (set & (1u << k))
			len += (size_t)snprintf(out + len, cap - len, "%s%s%c%d", len ? "," : "", prefix, letter, k);
}

/* One search: code in @p codes, patient in @p patients (typed or bare ids), date ge day @p from (0: none). */
static void check_search(struct fhir_db *db, unsigned codes, unsigned patients, bool typed, int from,
			 size_t count, int n_obs)
{
	struct phr_fhir_req q;
	struct fhir_hits h;
	char v[512], detail[128];
	size_t want = 0;

	phr_fhir_req_init(&q);
	list_of(v, sizeof(v), "", 'c', codes, N_CODES);
	assert_int_equal(phr_fhir_req_add_param(&q, "code", v), PHR_OK);
	if (patients != (1u << N_PATIENTS) - 1) {
		list_of(v, sizeof(v), typed ? "Patient/" : "", 'p', patients, N_PATIENTS);
		assert_int_equal(phr_fhir_req_add_param(&q, "patient", v), PHR_OK);
	}
	if (from > 0) {
		snprintf(v, sizeof(v), "ge2024-01-%02d", from);
		assert_int_equal(phr_fhir_req_add_param(&q, "date", v), PHR_OK);
	}
	for (int i = 0; i < n_obs; i++)
		want += matches(i, codes, patients, from);
	assert_int_equal(fhir_db_search(db, &h, detail, sizeof(detail), "Observation", &q, count, 0, NULL), PHR_OK);
	assert_int_equal(h.total, want);
	assert_int_equal(h.n, want < count ? want : count);
	for (size_t k = 0; k < h.n; k++) {
		int i = num_of(h.rows[k].id + 1);
		assert_true(matches(i, codes, patients, from));
	}
	fhir_hits_release(&h);
	phr_fhir_req_release(&q);
}

/*
 * Shapes: 1-4 code alternatives x 0-3 patient alternatives (typed or bare)
 * x with/without a date: 56 distinct SQL texts, more than a connection
 * keeps; three passes, each shape asked with two sets of values in a row.
 */
static void test_many_shapes(void **state)
{
	struct fhir_pool pool;
	struct fhir_db *db;

	(void)state;
	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	for (int pass = 0; pass < 3; pass++)
		for (int nc = 1; nc <= 4; nc++)
			for (int np = 0; np <= 3; np++)
				for (int typed = 0; typed < (np ? 2 : 1); typed++)
					for (int dated = 0; dated < 2; dated++)
						for (int alt = 0; alt < 2; alt++) {
							unsigned codes = 0, pats = 0;
							for (int k = 0; k < nc; k++)
								codes |= 1u << ((k * 2 + alt + pass) % N_CODES);
							for (int k = 0; k < np; k++)
								pats |= 1u << ((k * 3 + alt + pass) % N_PATIENTS);
							if (np == 0)
								pats = (1u << N_PATIENTS) - 1;
							check_search(db, codes, pats, typed, dated ? 5 + alt * 10 : 0,
								     alt ? 3 : 50, N_OBS);
						}
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);
}

/* A kept statement holds no snapshot: a write after its last use is seen by its next use. */
static void test_sees_later_writes(void **state)
{
	struct fhir_pool pool;
	struct fhir_db *db;
	unsigned all = (1u << N_PATIENTS) - 1;

	(void)state;
	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	check_search(db, 1u << (N_OBS % N_CODES), all, false, 0, 1000, N_OBS);
	check_search(db, 1u << (N_OBS % N_CODES), 1u << (N_OBS % N_PATIENTS), false, 0, 1000, N_OBS);
	put_obs(N_OBS); /* one more match of both */
	check_search(db, 1u << (N_OBS % N_CODES), all, false, 0, 1000, N_OBS + 1);
	check_search(db, 1u << (N_OBS % N_CODES), 1u << (N_OBS % N_PATIENTS), false, 0, 1000, N_OBS + 1);
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);
}

/* History and the compartment through kept statements, asked twice with other values. */
static void test_history_compartment(void **state)
{
	struct fhir_pool pool;
	struct fhir_db *db;

	(void)state;
	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	for (int r = 0; r < 3; r++) {
		for (int p = 0; p < 2; p++) {
			struct fhir_hits h;
			char pid[16];
			size_t want = 0;
			snprintf(pid, sizeof(pid), "p%d", p);
			for (int i = 0; i < N_OBS; i++)
				want += i % N_PATIENTS == p;
			assert_int_equal(fhir_db_compartment(db, &h, pid), PHR_OK);
			assert_int_equal(h.n, want);
			for (size_t k = 0; k < h.n; k++)
				assert_string_equal(h.rows[k].pid, pid);
			fhir_hits_release(&h);
		}
		for (int i = 0; i < 2; i++) {
			struct fhir_row *rows = NULL;
			size_t n = 0, total = 0;
			char id[16];
			snprintf(id, sizeof(id), "o%d", i + r);
			assert_int_equal(fhir_db_history(db, &rows, &n, &total, "Observation", id, 0, 10, 0, NULL),
					 PHR_OK);
			assert_int_equal(total, 1);
			assert_int_equal(n, 1);
			assert_string_equal(rows[0].id, id);
			phr_free(rows);
		}
	}
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);
}

/*
 * Totals and page sizes: short last pages, full pages with more or no more
 * matches, offsets inside and past the end, _summary=count (no page); a bad
 * _sort is an error only when there is a page to sort.
 */
static void test_paging_totals(void **state)
{
	struct fhir_pool pool;
	struct fhir_db *db;
	struct phr_fhir_req q;
	struct fhir_hits h;
	char detail[128];
	size_t want = 0;

	(void)state;
	for (int i = 0; i < N_OBS; i++)
		want += i % N_CODES == 2;
	fhir_pool_init(&pool, dir);
	db = fhir_pool_take(&pool);
	assert_non_null(db);
	phr_fhir_req_init(&q);
	assert_int_equal(phr_fhir_req_add_param(&q, "code", "c2"), PHR_OK);
	{
		const size_t counts[] = { 1, 3, want - 1, want, want + 1, 1000 };
		const size_t offsets[] = { 0, 1, want - 1, want, want + 5 };
		for (size_t c = 0; c < PHR_ARRAY_LEN(counts); c++)
			for (size_t o = 0; o < PHR_ARRAY_LEN(offsets); o++) {
				size_t left = offsets[o] < want ? want - offsets[o] : 0;
				assert_int_equal(fhir_db_search(db, &h, detail, sizeof(detail), "Observation", &q,
								counts[c], offsets[o], NULL),
						 PHR_OK);
				assert_int_equal(h.total, want);
				assert_int_equal(h.n, left < counts[c] ? left : counts[c]);
				fhir_hits_release(&h);
			}
	}
	/* _summary=count: no rows */
	assert_int_equal(fhir_db_search(db, &h, detail, sizeof(detail), "Observation", &q, 0, 0, NULL), PHR_OK);
	assert_int_equal(h.total, want);
	assert_int_equal(h.n, 0);
	fhir_hits_release(&h);
	assert_int_equal(phr_fhir_req_add_param(&q, "_sort", "-nosuchparam"), PHR_OK);
	assert_int_equal(fhir_db_search(db, &h, detail, sizeof(detail), "Observation", &q, 10, 0, NULL),
			 PHR_ERR_INVALID);
	/* past the end, or no match: nothing to sort, no error */
	assert_int_equal(fhir_db_search(db, &h, detail, sizeof(detail), "Observation", &q, 10, want, NULL), PHR_OK);
	assert_int_equal(h.total, want);
	assert_int_equal(h.n, 0);
	fhir_hits_release(&h);
	phr_fhir_req_release(&q);
	phr_fhir_req_init(&q);
	assert_int_equal(phr_fhir_req_add_param(&q, "code", "nosuchcode"), PHR_OK);
	assert_int_equal(phr_fhir_req_add_param(&q, "_sort", "-nosuchparam"), PHR_OK);
	assert_int_equal(fhir_db_search(db, &h, detail, sizeof(detail), "Observation", &q, 10, 0, NULL), PHR_OK);
	assert_int_equal(h.total, 0);
	fhir_hits_release(&h);
	phr_fhir_req_release(&q);
	fhir_pool_give(&pool, db);
	fhir_pool_release(&pool);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL || fhir_db_open(&writer, dir) != PHR_OK)
		return -1;
	for (int i = 0; i < N_OBS; i++)
		put_obs(i);
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
		cmocka_unit_test(test_many_shapes),
		cmocka_unit_test(test_history_compartment),
		cmocka_unit_test(test_paging_totals),
		cmocka_unit_test(test_sees_later_writes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
