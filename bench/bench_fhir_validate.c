/*
 * FHIR validation throughput: loads every official R4 example (or the JSON
 * files of a directory) into memory, then validates all of them ROUNDS times
 * with phr_fhir_validate() (issues collected, as the server does) and prints
 *   all <resources> <MB of JSON> <seconds> <resources/s>
 *   server <resources> ... (only the 18 resource types the FHIR server stores,
 *                          10 * ROUNDS passes: they are few and small)
 * Usage: bench_fhir_validate DIR [ROUNDS]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <phr/fhir_validate.h>
#include <phr/json.h>

static const char *const server_types[] = {
	"Patient",	    "Practitioner",	 "Organization",	"Immunization",	       "Observation",
	"Condition",	    "Procedure",	 "AllergyIntolerance", "MedicationStatement", "MedicationRequest",
	"DiagnosticReport", "DocumentReference", "ImagingStudy",	"Encounter",	       "CarePlan",
	"Consent",	    "AuditEvent",	 "Provenance",
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_server(const json_t *r)
{
	const char *t = json_string_value(json_object_get(r, "resourceType"));
	for (size_t i = 0; t && i < sizeof(server_types) / sizeof(server_types[0]); i++)
		if (strcmp(t, server_types[i]) == 0)
			return true;
	return false;
}

static void run(const char *label, json_t **res, const size_t *bytes, size_t n, bool server_only, int rounds)
{
	size_t count = 0, total = 0, invalid = 0;
	double t0 = now();
	for (int k = 0; k < rounds; k++)
		for (size_t i = 0; i < n; i++) {
			if (server_only && !is_server(res[i]))
				continue;
			json_t *issues = NULL;
			int rc = phr_fhir_validate(&issues, res[i]);
			if (rc == PHR_ERR_NOMEM) {
				fprintf(stderr, "out of memory\n");
				exit(1);
			}
			invalid += rc != PHR_OK;
			json_decref(issues);
			count++;
			total += bytes[i];
		}
	double s = now() - t0;
	printf("%s %zu %.1f %.3f %.0f invalid=%zu\n", label, count, (double)total / 1e6, s, (double)count / s,
	       invalid);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [ROUNDS]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	size_t n = 0, cap = 8192;
	json_t **res = calloc(cap, sizeof(*res));
	size_t *bytes = calloc(cap, sizeof(*bytes));
	if (!res || !bytes)
		return 1;
	struct dirent *de;
	char path[4096], err[256];
	while ((de = readdir(d)) && n < cap) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || strcmp(de->d_name, "package.json") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if (phr_json_load_file(&res[n], err, sizeof(err), path, (size_t)64 << 20) != PHR_OK) {
			fprintf(stderr, "%s\n", err);
			continue;
		}
		char *s = json_dumps(res[n], JSON_COMPACT);
		bytes[n++] = s ? strlen(s) : 0;
		free(s);
	}
	closedir(d);
	run("all", res, bytes, n, false, rounds);
	run("server", res, bytes, n, true, rounds * 10);
	for (size_t i = 0; i < n; i++)
		json_decref(res[i]);
	free(res);
	free(bytes);
	return 0;
}
