/*
 * Fuzz target: FHIR searches run on a small index (src/api/fhir_index.c: the
 * parameter probes, the driving parameter, the SQL built from the query).
 * The input is a URL relative to the FHIR base ("Observation?code=a&patient=p1");
 * a type search is run on an index of a few Patients and Observations made
 * once per process (a temporary directory, removed at exit). Checks that a
 * search answers an error code or a page no longer than asked and than its
 * total.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../src/api/fhir_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fhir_db db;
static char dir[64];
static int ready; /* 0 not yet, 1 ready, -1 failed */

static void cleanup(void)
{
	char p[128];

	fhir_db_close(&db);
	for (const char *const *s = (const char *const[]){ "fhir.db", "fhir.db-wal", "fhir.db-shm", NULL }; *s;
	     s++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *s);
		unlink(p);
	}
	rmdir(dir);
}

static int put(const char *type, const char *id, const char *pid, const char *json)
{
	struct fhir_row row;
	json_t *res = json_loads(json, 0, NULL);
	int rv;

	if (res == NULL)
		return -1;
	memset(&row, 0, sizeof(row));
	snprintf(row.type, sizeof(row.type), "%s", type);
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.pid, sizeof(row.pid), "%s", pid);
	row.vid = 1;
	row.updated_ms = 1700000000000 + (int64_t)strlen(json);
	row.token.w[0] = (uint64_t)strlen(json);
	rv = fhir_db_put(&db, &row, res, "PUT");
	json_decref(res);
	return rv;
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/phr-fuzz-fhir-XXXXXX");
	if (mkdtemp(dir) == NULL || fhir_db_open(&db, dir) != PHR_OK)
		return -1;
	atexit(cleanup);
	if (put("Patient", "p1", "p1",
		"{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Chalmers\"}],"
		"\"birthDate\":\"1974-12-25\",\"gender\":\"male\"}") != PHR_OK ||
	    put("Patient", "p2", "p2", "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"name\":[{\"family\":\"Li\"}]}") !=
		    PHR_OK)
		return -1;
	for (int i = 0; i < 12; i++) {
		char id[16], json[512];
		snprintf(id, sizeof(id), "o%d", i);
		snprintf(json, sizeof(json),
			 "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"%s\",\"code\":{\"coding\":"
			 "[{\"system\":\"http://loinc.org\",\"code\":\"%s\"}]},\"subject\":{\"reference\":\"Patient/p%d\"},"
			 "\"effectiveDateTime\":\"2024-01-%02d\",\"valueQuantity\":{\"value\":%d,\"system\":"
			 "\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
			 id, i % 3 ? "final" : "amended", i % 2 ? "8867-4" : "29463-7", 1 + i % 2, 1 + i, 50 + i);
		if (put("Observation", id, i % 2 ? "p2" : "p1", json) != PHR_OK)
			return -1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_fhir_req r;
	struct fhir_hits h;
	char detail[256];
	char *u;

	if (ready == 0)
		ready = setup() == 0 ? 1 : -1;
	if (ready < 0 || size > 4096 || memchr(data, 0, size) != NULL)
		return 0;
	if ((u = malloc(size + 1)) == NULL)
		return 0;
	memcpy(u, data, size);
	u[size] = '\0';
	phr_fhir_req_init(&r);
	if (phr_fhir_req_parse(&r, u) == PHR_OK && r.target == PHR_FHIR_T_TYPE &&
	    fhir_db_search(&db, &h, detail, sizeof(detail), r.type, &r, 5, 1, NULL) == PHR_OK) {
		if (h.n > 5 || h.n > h.total || (h.n > 0 && h.rows == NULL))
			abort();
		fhir_hits_release(&h);
	}
	phr_fhir_req_release(&r);
	free(u);
	return 0;
}
