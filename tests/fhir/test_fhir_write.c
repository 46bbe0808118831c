/*
 * The FHIR index's write side: checkpoints run off the commits. A writer
 * connection runs no automatic checkpoint (SQLite's would, inside the
 * commit that crossed 1,000 pages of log); the file's checkpoint thread
 * does, once the log holds 1,000 pages (fhir_index.c CKPT_PAGES), and the
 * log starts over. Every committed row reads back before and after the
 * writer is closed and the file reopened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../src/api/fhir_int.h"
#include "fhir_test_dir.h"

#define CKPT_PAGES 1000 /* fhir_index.c */
#define PAGE 4096

static off_t size_of(const char *dir, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/* Frames the log has held (its size never shrinks while the file is open). */
static long wal_frames(const char *dir)
{
	off_t s = size_of(dir, "fhir.db-wal");

	return s > 32 ? (long)((s - 32) / (PAGE + 24)) : 0;
}

static void put_one(struct fhir_db *w, unsigned i)
{
	struct fhir_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.type, sizeof(row.type), "Observation");
	snprintf(row.id, sizeof(row.id), "obs-%u-%08x", i, i * 2654435761u);
	row.vid = 1;
	row.updated_ms = 1700000000000 + i;
	row.token = phr_u256_from_u64(1000 + i);
	memset(row.patient, 0x42, sizeof(row.patient));
	snprintf(row.pid, sizeof(row.pid), "p%u", i % 97);
	assert_int_equal(fhir_db_begin(w), PHR_OK);
	assert_int_equal(fhir_db_put(w, &row, NULL, "POST"), PHR_OK);
	assert_int_equal(fhir_db_commit(w), PHR_OK);
}

/* Rows @p from .. @p to - 1 (every one of up to 50 spread over them) read back, tokens and times as put. */
static void check_rows(const char *dir, unsigned from, unsigned to)
{
	struct fhir_db r;

	assert_int_equal(fhir_db_open_reader(&r, dir), PHR_OK);
	for (unsigned i = from; i < to; i += (to - from) / 50 + 1) {
		struct fhir_row row;
		struct phr_u256 tok = phr_u256_from_u64(1000 + i);
		char id[PHR_FHIR_ID_MAX];
		snprintf(id, sizeof(id), "obs-%u-%08x", i, i * 2654435761u);
		assert_int_equal(fhir_db_get(&r, &row, "Observation", id), PHR_OK);
		assert_true(phr_u256_eq(&row.token, &tok));
		assert_int_equal(row.updated_ms, 1700000000000 + i);
	}
	fhir_db_close(&r);
}

static void test_checkpoint_off_commit(void **state)
{
	char dir[] = "/tmp/phr-fhir-write-XXXXXX";
	struct fhir_db w;
	off_t db0;
	unsigned n = 0;
	long frames;
	bool grew = false;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fhir_db_open(&w, dir), PHR_OK);
	db0 = size_of(dir, "fhir.db");
	/* the writer's own automatic checkpoint is off */
	{
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(w.db, "PRAGMA wal_autocheckpoint", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
	}
	/* below CKPT_PAGES nothing is copied into the file */
	while (wal_frames(dir) < CKPT_PAGES - 100 && n < 20000)
		put_one(&w, n++);
	assert_true(wal_frames(dir) >= CKPT_PAGES - 100);
	assert_int_equal(size_of(dir, "fhir.db"), db0);
	check_rows(dir, 0, n);
	/* past it the thread checkpoints (the writer itself only at 8 times that) */
	while (wal_frames(dir) < CKPT_PAGES + 50 && n < 20000)
		put_one(&w, n++);
	assert_true(wal_frames(dir) >= CKPT_PAGES + 50);
	for (int t = 0; t < 500 && !grew; t++) { /* up to 5 s */
		grew = size_of(dir, "fhir.db") > db0;
		if (!grew)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	assert_true(grew);
	/* the copy complete (the file's size settled), the log starts over: 100 more
	 * commits (~600 pages) reuse its first pages, its file does not grow */
	for (off_t was = -1; was != size_of(dir, "fhir.db");) {
		was = size_of(dir, "fhir.db");
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	frames = wal_frames(dir);
	for (unsigned k = 0; k < 100; k++)
		put_one(&w, n++);
	assert_int_equal(wal_frames(dir), frames);
	check_rows(dir, 0, n);
	fhir_db_close(&w);
	assert_int_equal(fhir_db_open(&w, dir), PHR_OK);
	check_rows(dir, 0, n);
	fhir_db_close(&w);
	(void)fhir_test_dir_remove(dir);
}

/* Two writer connections of one file share one checkpoint thread; closing them in any order is clean. */
static void test_two_writers(void **state)
{
	char dir[] = "/tmp/phr-fhir-write-XXXXXX";
	struct fhir_db a, b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fhir_db_open(&a, dir), PHR_OK);
	assert_int_equal(fhir_db_open(&b, dir), PHR_OK);
	put_one(&a, 1);
	put_one(&b, 2);
	fhir_db_close(&a);
	put_one(&b, 3);
	assert_int_equal(fhir_db_open(&a, dir), PHR_OK);
	put_one(&a, 4);
	fhir_db_close(&b);
	fhir_db_close(&a);
	check_rows(dir, 1, 5);
	(void)fhir_test_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkpoint_off_commit),
		cmocka_unit_test(test_two_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
