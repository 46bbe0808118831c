/*
 * The FHIR index's pool of read connections under concurrency: threads that
 * take connections at the same moment from an empty pool each get their own
 * (a slot another thread is still opening is not handed out twice), those
 * beyond FHIR_POOL_MAX a temporary one, and each connection reads the index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/api/fhir_int.h"

/* more than the pool keeps: the last ones get connections of their own */
#define THREADS (FHIR_POOL_MAX + 8)
#define ROUNDS 40

static struct fhir_pool pool;
static pthread_barrier_t start;
static struct fhir_db *held[THREADS];
static int errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *taker(void *arg)
{
	size_t me = (size_t)(uintptr_t)arg;

	for (int r = 0; r < ROUNDS; r++) {
		struct fhir_row row;
		pthread_barrier_wait(&start);
		struct fhir_db *db = fhir_pool_take(&pool);
		pthread_mutex_lock(&mu);
		held[me] = db;
		for (size_t i = 0; i < THREADS; i++)
			if (db == NULL || (i != me && held[i] == db))
				errors++;
		pthread_mutex_unlock(&mu);
		/* the connection works: a lookup of a resource that is not there */
		if (db != NULL && fhir_db_get(db, &row, "Patient", "none") != PHR_ERR_NOT_FOUND) {
			pthread_mutex_lock(&mu);
			errors++;
			pthread_mutex_unlock(&mu);
		}
		pthread_barrier_wait(&start);
		pthread_mutex_lock(&mu);
		held[me] = NULL;
		pthread_mutex_unlock(&mu);
		fhir_pool_give(&pool, db);
	}
	return NULL;
}

static void test_concurrent_take(void **state)
{
	char dir[] = "/tmp/phr-fhir-pool-XXXXXX";
	char path[256];
	struct fhir_db w;
	pthread_t t[THREADS];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fhir_db_open(&w, dir), PHR_OK); /* the writer makes the schema */
	for (int round = 0; round < 5; round++) {
		fhir_pool_init(&pool, dir);
		pthread_barrier_init(&start, NULL, THREADS);
		for (size_t i = 0; i < THREADS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, taker, (void *)(uintptr_t)i), 0);
		for (size_t i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		fhir_pool_release(&pool);
	}
	assert_int_equal(errors, 0);
	fhir_db_close(&w);
	static const char *const files[] = { "fhir.db", "fhir.db-wal", "fhir.db-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_take),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
