/*
 * The FHIR index alone (src/api/fhir_index.c, DIR/fhir.db): the CPU time
 * of its writes and searches without the node around it (no chain, store,
 * HTTP). bench/fhirindex.sh runs two builds of it side by side.
 *
 * usage: bench_fhir_index DIR [N] [CREATES] [GROUP] [SEARCHES]
 *   N resources imported in transactions of 100 (1 Patient per 10
 *   Observations, the shape of bench/fhir_bench.mjs), then CREATES
 *   Observations written GROUP per transaction (a create's group commit),
 *   then SEARCHES of each kind. CPU time is the process's (every thread:
 *   the checkpoint thread's too), per resource or per search.
 *   BENCH_ORDERED_IDS=1: created ids grow (what a time-ordered id would save).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../src/api/fhir_int.h"

static const char *const CODES[] = { "8867-4", "29463-7", "8480-6", "8462-4", "2339-0" };

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long arg_num(int argc, char **argv, int i, unsigned long def)
{
	return argc > i ? strtoul(argv[i], NULL, 10) : def;
}

static void row_init(struct fhir_row *row, const char *type, const char *id, unsigned long k, const char *pid)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->type, sizeof(row->type), "%s", type);
	snprintf(row->id, sizeof(row->id), "%s", id);
	row->vid = 1;
	row->updated_ms = 1700000000000LL + (long long)k;
	row->token = phr_u256_from_u64(1000 + k);
	memset(row->patient, 0x42, sizeof(row->patient));
	row->patient[0] = (uint8_t)(k / 11);
	snprintf(row->pid, sizeof(row->pid), "%s", pid);
}

/* Observation k of patient @p pid (bench/fhir_bench.mjs obs()) */
static json_t *obs(unsigned long k, const char *id, const char *pid)
{
	char text[768];

	snprintf(text, sizeof(text),
		 "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"meta\":{\"versionId\":\"1\","
		 "\"lastUpdated\":\"2024-02-01T10:00:00.000Z\"},\"status\":\"final\",\"code\":{\"coding\":"
		 "[{\"system\":\"http://loinc.org\",\"code\":\"%s\"}]},\"subject\":{\"reference\":\"Patient/%s\"},"
		 "\"effectiveDateTime\":\"2024-01-%02lu\",\"valueQuantity\":{\"value\":%lu,\"unit\":\"kg\","
		 "\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
		 id, CODES[k % 5], pid, 1 + k % 28, 50 + k % 100);
	return json_loads(text, 0, NULL);
}

static json_t *patient(const char *id, unsigned long k)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"meta\":{\"versionId\":\"1\","
		 "\"lastUpdated\":\"2024-02-01T10:00:00.000Z\"},\"identifier\":[{\"system\":\"urn:phr:address\","
		 "\"value\":\"0x%040lx\"}],\"name\":[{\"family\":\"Bench%lu\",\"given\":[\"P\"]}],"
		 "\"gender\":\"female\",\"birthDate\":\"1980-01-01\"}",
		 id, k, k % 1000);
	return json_loads(text, 0, NULL);
}

/* Resource k of the import (every 11th a Patient, the next 10 its Observations); @return 0 on success. */
static int put_import(struct fhir_db *w, unsigned long k)
{
	struct fhir_row row;
	char id[64], pid[64];
	json_t *res;
	int rv;

	snprintf(pid, sizeof(pid), "bp%lu", k / 11);
	if (k % 11 == 0) {
		row_init(&row, "Patient", pid, k, pid);
		res = patient(pid, k / 11);
	} else {
		snprintf(id, sizeof(id), "bo%lu", k);
		row_init(&row, "Observation", id, k, pid);
		res = obs(k, id, pid);
	}
	if (res == NULL)
		return -1;
	rv = fhir_db_put(w, &row, res, "PUT");
	json_decref(res);
	return rv;
}

/* Create c (after @p n imported): an Observation of an imported patient with a fresh id. */
static int put_create(struct fhir_db *w, unsigned long n, unsigned long c)
{
	struct fhir_row row;
	char id[64], pid[64];
	json_t *res;
	int rv;

	snprintf(pid, sizeof(pid), "bp%lu", c % (n / 11 + 1));
	if (getenv("BENCH_ORDERED_IDS") != NULL) /* what if ids grew with time (a time prefix) */
		snprintf(id, sizeof(id), "%012lx%020lx", 0x18c0000000UL + c, c * 2654435761UL % 0xffffffffUL);
	else /* 32 random-looking hex digits, as fhir_server.c new_id */
		snprintf(id, sizeof(id), "%016lx%016lx", c * 0x9e3779b97f4a7c15UL, (c + 1) * 0xc2b2ae3d27d4eb4fUL);
	row_init(&row, "Observation", id, n + c, pid);
	if ((res = obs(c, id, pid)) == NULL)
		return -1;
	rv = fhir_db_put(w, &row, res, "POST");
	json_decref(res);
	return rv;
}

static int write_phase(struct fhir_db *w, const char *what, unsigned long n, unsigned long count,
		       unsigned long group, int (*put)(struct fhir_db *, unsigned long, unsigned long))
{
	double c0 = cpu_now(), t0 = wall_now();

	for (unsigned long i = 0; i < count; i += group) {
		if (fhir_db_begin(w) != PHR_OK)
			return -1;
		for (unsigned long j = i; j < i + group && j < count; j++)
			if (put(w, n, j) != PHR_OK) {
				fprintf(stderr, "%s %lu: put failed\n", what, j);
				fhir_db_rollback(w);
				return -1;
			}
		if (fhir_db_commit(w) != PHR_OK)
			return -1;
	}
	printf("%-14s %8lu resources  group %4lu  %8.1f us CPU/resource  %8.1f us wall/resource\n", what, count,
	       group, (cpu_now() - c0) * 1e6 / (double)count, (wall_now() - t0) * 1e6 / (double)count);
	return 0;
}

static int import_put(struct fhir_db *w, unsigned long n, unsigned long k)
{
	(void)n;
	return put_import(w, k);
}

static int search_phase(struct fhir_pool *pool, const char *what, unsigned long n, unsigned long count,
			size_t page)
{
	double c0 = cpu_now();
	size_t hits = 0;

	for (unsigned long i = 0; i < count; i++) {
		struct phr_fhir_req q;
		struct fhir_hits h;
		struct fhir_db *r = fhir_pool_take(pool);
		char query[256], detail[128];
		int rv;

		if (r == NULL)
			return -1;
		phr_fhir_req_init(&q);
		if (strcmp(what, "search") == 0)
			snprintf(query, sizeof(query), "patient=bp%lu&code=http://loinc.org|%s&_count=10",
				 (i * 7919) % (n / 11 + 1), CODES[i % 5]);
		else if (strcmp(what, "search-count") == 0)
			snprintf(query, sizeof(query), "code=%s&date=ge2024-01-%02lu&_summary=count", CODES[i % 5],
				 10 + i % 18);
		else
			snprintf(query, sizeof(query), "subject=Patient/bp%lu&_sort=-date&_count=10",
				 (i * 31) % (n / 11 + 1));
		rv = phr_fhir_req_add_query(&q, query);
		if (rv == PHR_OK)
			rv = fhir_db_search(r, &h, detail, sizeof(detail), "Observation", &q, page, 0, NULL);
		phr_fhir_req_release(&q);
		fhir_pool_give(pool, r);
		if (rv != PHR_OK) {
			fprintf(stderr, "%s: %d %s\n", query, rv, detail);
			return -1;
		}
		hits += h.total;
		fhir_hits_release(&h);
	}
	printf("%-14s %8lu searches  %10zu matches  %8.1f us CPU/search\n", what, count, hits,
	       (cpu_now() - c0) * 1e6 / (double)count);
	return 0;
}

int main(int argc, char **argv)
{
	struct fhir_db w;
	struct fhir_pool pool;
	unsigned long n, creates, group, searches;
	int rv = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [N] [CREATES] [GROUP] [SEARCHES]\n", argv[0]);
		return 2;
	}
	n = arg_num(argc, argv, 2, 10000);
	creates = arg_num(argc, argv, 3, 5000);
	group = arg_num(argc, argv, 4, 1);
	searches = arg_num(argc, argv, 5, 2000);
	if (group == 0)
		group = 1;
	if (fhir_db_open(&w, argv[1]) != PHR_OK) {
		fprintf(stderr, "cannot open %s/fhir.db\n", argv[1]);
		return 1;
	}
	if (write_phase(&w, "import", n, n, 100, import_put) != 0 ||
	    write_phase(&w, "create", n, creates, group, put_create) != 0)
		rv = 1;
	fhir_pool_init(&pool, argv[1]);
	if (rv == 0 && (search_phase(&pool, "search", n, searches, 10) != 0 ||
			search_phase(&pool, "search-count", n, searches, 0) != 0 ||
			search_phase(&pool, "search-sort", n, searches, 10) != 0))
		rv = 1;
	fhir_pool_release(&pool);
	fhir_db_close(&w);
	return rv;
}
