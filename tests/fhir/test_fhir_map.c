/*
 * The readers of fhir.db share one mapping of the file (fhir_index.c, VFS
 * "phr-fhir-map"): however many pooled readers have read it, the process
 * maps the file once (/proc/self/maps), and not at all once they are
 * closed; pages the file grows into after the mapping was made are read
 * (rows written and checkpointed later are found, by lookups and searches);
 * a new file at the same path (another inode) gets a mapping of its own
 * and its readers see its rows, not the old file's. Without the shared
 * mapping each reader maps the file itself (8 mappings, not 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/api/fhir_int.h"
#include "fhir_test_dir.h"

#define READERS 8

/* Mappings of @p dir/fhir.db in this process. */
static int mappings(const char *dir)
{
	char path[512], line[1024];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/fhir.db", dir);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		const char *at = strstr(line, path);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		/* the file, not its -wal or -shm; " (deleted)" once removed */
		if (at != NULL && (strcmp(at + strlen(path), "") == 0 || strcmp(at + strlen(path), " (deleted)") == 0))
			n++;
	}
	fclose(f);
	return n;
}

/* Observations o<from>..o<to - 1> of patient p<i % 7>, one transaction, then a checkpoint into the file. */
static void write_obs(struct fhir_db *w, int from, int to, const char *code)
{
	assert_int_equal(fhir_db_begin(w), PHR_OK);
	for (int i = from; i < to; i++) {
		struct fhir_row row;
		char ref[32];
		json_t *res;

		memset(&row, 0, sizeof(row));
		snprintf(row.type, sizeof(row.type), "Observation");
		snprintf(row.id, sizeof(row.id), "o%d", i);
		snprintf(row.pid, sizeof(row.pid), "p%d", i % 7);
		snprintf(ref, sizeof(ref), "Patient/p%d", i % 7);
		row.vid = 1;
		row.updated_ms = 1700000000000LL + i;
		row.token = phr_u256_from_u64((uint64_t)i + 1);
		row.patient[0] = (uint8_t)(i % 7);
		res = json_pack("{s:s,s:s,s:s,s:{s:[{s:s,s:s}]},s:{s:s},s:s}", "resourceType", "Observation", "id",
				row.id, "status", "final", "code", "coding", "system", "http://loinc.org", "code",
				code, "subject", "reference", ref, "effectiveDateTime", "2024-02-03");
		assert_non_null(res);
		assert_int_equal(fhir_db_put(w, &row, res, "PUT"), PHR_OK);
		json_decref(res);
	}
	assert_int_equal(fhir_db_commit(w), PHR_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_OK);
}

/* The total of Observation?code=@p code (and @p date when not NULL) on @p r. */
static size_t total(struct fhir_db *r, const char *code, const char *date)
{
	struct phr_fhir_req q;
	struct fhir_hits h;
	char detail[128];
	size_t n;

	phr_fhir_req_init(&q);
	assert_int_equal(phr_fhir_req_add_param(&q, "code", code), PHR_OK);
	if (date != NULL)
		assert_int_equal(phr_fhir_req_add_param(&q, "date", date), PHR_OK);
	assert_int_equal(fhir_db_search(r, &h, detail, sizeof(detail), "Observation", &q, 5, 0, NULL), PHR_OK);
	n = h.total;
	assert_true(h.n == (n < 5 ? n : 5));
	fhir_hits_release(&h);
	phr_fhir_req_release(&q);
	return n;
}

static void test_one_mapping(void **state)
{
	char dir[] = "/tmp/phr-fhir-map-XXXXXX";
	struct fhir_db w;
	struct fhir_pool pool;
	struct fhir_db *r[READERS];
	struct fhir_row row;
	off_t before;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fhir_db_open(&w, dir), PHR_OK);
	write_obs(&w, 0, 200, "a");
	fhir_pool_init(&pool, dir);
	for (int i = 0; i < READERS; i++) {
		r[i] = fhir_pool_take(&pool);
		assert_non_null(r[i]);
		assert_int_equal(total(r[i], "a", NULL), 200);
		assert_int_equal(total(r[i], "a", "ge2024-02"), 200); /* the tdx pairs */
	}
	assert_int_equal(mappings(dir), 1);

	/* the file grows past what it held when mapped: the new pages are read too */
	{
		char path[512];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/fhir.db", dir);
		assert_int_equal(stat(path, &sb), 0);
		before = sb.st_size;
		write_obs(&w, 200, 3000, "b");
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_size > 4 * before);
	}
	for (int i = 0; i < READERS; i++) {
		assert_int_equal(total(r[i], "b", NULL), 2800);
		assert_int_equal(total(r[i], "b", "ge2024-02"), 2800);
		assert_int_equal(fhir_db_get(r[i], &row, "Observation", "o2999"), PHR_OK);
		assert_string_equal(row.pid, "p3");
	}
	assert_int_equal(mappings(dir), 1);
	for (int i = 0; i < READERS; i++)
		fhir_pool_give(&pool, r[i]);
	fhir_pool_release(&pool);
	assert_int_equal(mappings(dir), 0);

	/* a new file at the same path: a mapping of its own, its rows only */
	fhir_pool_init(&pool, dir);
	r[0] = fhir_pool_take(&pool);
	assert_non_null(r[0]);
	assert_int_equal(total(r[0], "b", NULL), 2800);
	fhir_db_close(&w);
	assert_int_equal(fhir_test_dir_remove(dir), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(fhir_db_open(&w, dir), PHR_OK);
	write_obs(&w, 0, 50, "c");
	r[1] = fhir_pool_take(&pool);
	assert_non_null(r[1]);
	assert_int_equal(total(r[1], "c", NULL), 50);
	assert_int_equal(total(r[1], "b", NULL), 0);
	assert_int_equal(mappings(dir), 2); /* the old file's, still read by r[0], and the new one's */
	fhir_pool_give(&pool, r[0]);
	fhir_pool_give(&pool, r[1]);
	fhir_pool_release(&pool);
	assert_int_equal(mappings(dir), 0);
	fhir_db_close(&w);
	assert_int_equal(fhir_test_dir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
