/*
 * Durability of acknowledged writes across kill -9: a `phr node --dev`
 * process serves concurrent submitRecord and getRecord requests (4 writers,
 * 4 readers, the same provider) and is killed with SIGKILL while requests are
 * in flight. Restarted on the same data directory, the node must return every
 * record whose submission was acknowledged (201) byte for byte, list it, and
 * its audit trail must hold a View entry for every read that was acknowledged
 * (200) and still fold to the on-chain head. A FHIR searcher runs alongside
 * (its pages read together, phr_node_records_read): every entry of every
 * answered search has its View on chain after the restart too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "node_test_util.h"

#define WRITERS 4
#define READERS 4
#define SEARCHERS 1
#define MAX_ACKS 4096

static struct node_proc np;
static char prov_tok[PHR_API_TOKEN_LEN], pat_tok[PHR_API_TOKEN_LEN];
static char pat[64], prov[64];
static atomic_bool stop_flag;

struct ack {
	char id[32];
	char text[64];
};

static struct ack acks[MAX_ACKS];
static atomic_size_t n_acks, n_reads, n_found; /* n_found: entries of answered searches */

static int setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return node_proc_open(&np, "kill");
}

static int teardown(void **state)
{
	(void)state;
	node_proc_close(&np);
	curl_global_cleanup();
	return 0;
}

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	char body[256], u[256], text[64];
	struct http_res r;

	snprintf(u, sizeof(u), "%s/api/v1/records", np.url);
	for (int i = 0; !atomic_load(&stop_flag); i++) {
		snprintf(text, sizeof(text), "kill test record %d.%d", w, i);
		snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"%s\"}", pat, text);
		if (http_do(&r, "POST", u, prov_tok, "application/json", body, strlen(body), NULL) != 0)
			break; /* the node is gone */
		if (r.status == 201 && r.json != NULL) {
			size_t k = atomic_fetch_add(&n_acks, 1);
			if (k < MAX_ACKS) {
				snprintf(acks[k].id, sizeof(acks[k].id), "%s",
					 json_string_value(json_object_get(r.json, "id")));
				snprintf(acks[k].text, sizeof(acks[k].text), "%s", text);
			}
		}
		http_res_release(&r);
	}
	return NULL;
}

static void *reader(void *arg)
{
	char u[256];
	struct http_res r;

	(void)arg;
	snprintf(u, sizeof(u), "%s/api/v1/records/1", np.url);
	while (!atomic_load(&stop_flag)) {
		if (http_do(&r, "GET", u, prov_tok, NULL, NULL, 0, NULL) != 0)
			break;
		if (r.status == 200)
			atomic_fetch_add(&n_reads, 1);
		http_res_release(&r);
	}
	return NULL;
}

/* FHIR searches by the provider of the Observations made before the load (3 per page). */
static void *searcher(void *arg)
{
	char u[256];
	struct http_res r;

	(void)arg;
	snprintf(u, sizeof(u), "%s/fhir/Observation?code=urn:killsearch%%7Cs&_count=3", np.url);
	while (!atomic_load(&stop_flag)) {
		if (http_do(&r, "GET", u, prov_tok, NULL, NULL, 0, NULL) != 0)
			break;
		if (r.status == 200 && r.json != NULL)
			atomic_fetch_add(&n_found, json_array_size(json_object_get(r.json, "entry")));
		http_res_release(&r);
	}
	return NULL;
}

/* View entries by the provider in @p items: of record @p record, or of any (NULL). */
static size_t provider_views_of(json_t *items, const char *record)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(items, i, e)
		if (strcmp(json_string_value(json_object_get(e, "action")), "View") == 0 &&
		    strcasecmp(json_string_value(json_object_get(e, "accessor")), prov) == 0 &&
		    (record == NULL || strcmp(json_string_value(json_object_get(e, "recordId")), record) == 0))
			n++;
	return n;
}

static size_t provider_views(json_t *items)
{
	return provider_views_of(items, "1");
}

static long get_json(const char *path, const char *tok, struct http_res *r)
{
	char u[512];

	snprintf(u, sizeof(u), "%s%s", np.url, path);
	assert_int_equal(http_do(r, "GET", u, tok, NULL, NULL, 0, NULL), 0);
	return r->status;
}

static void acknowledged_writes_survive_kill(void **state)
{
	pthread_t th[WRITERS + READERS + SEARCHERS];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct http_res r;
	char path[256];
	size_t views_before, all_before, acked;
	int ws = 0;

	(void)state;
	assert_int_equal(node_test_token(prov_tok, sizeof(prov_tok), prov, np.node_dir, "provider"), 0);
	assert_int_equal(node_test_token(pat_tok, sizeof(pat_tok), pat, np.node_dir, "patient"), 0);
	/* the demo seed's reads of record 1 by the provider, before the load */
	snprintf(path, sizeof(path), "/api/v1/records/1/audit");
	assert_int_equal(get_json(path, pat_tok, &r), 200);
	views_before = provider_views(json_object_get(r.json, "items"));
	http_res_release(&r);
	/* 4 Observations for the searcher (pages of 3: both pages read) */
	for (int i = 0; i < 4; i++) {
		char u[256], hdr[128], body[256];
		snprintf(u, sizeof(u), "%s/fhir/Observation", np.url);
		snprintf(hdr, sizeof(hdr), "X-Phr-Patient: %s", pat);
		snprintf(body, sizeof(body),
			 "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
			 "[{\"system\":\"urn:killsearch\",\"code\":\"s\"}]},\"valueInteger\":%d}", i);
		assert_int_equal(http_do(&r, "POST", u, prov_tok, "application/fhir+json", body, strlen(body), hdr),
				 0);
		assert_int_equal(r.status, 201);
		http_res_release(&r);
	}
	snprintf(path, sizeof(path), "/api/v1/patients/%s/audit", pat);
	assert_int_equal(get_json(path, pat_tok, &r), 200);
	all_before = provider_views_of(json_object_get(r.json, "items"), NULL);
	http_res_release(&r);
	for (int i = 0; i < WRITERS + READERS + SEARCHERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL,
						i < WRITERS ? writer : i < WRITERS + READERS ? reader : searcher,
						(void *)(intptr_t)i),
				 0);
	/* some of each acknowledged (a loaded machine may take seconds), then kill -9
	 * with requests in flight */
	for (int i = 0; i < 1200 && (atomic_load(&n_acks) < 3 || atomic_load(&n_reads) < 3 ||
				     atomic_load(&n_found) < 6);
	     i++)
		nanosleep(&ts, NULL);
	assert_int_equal(kill(np.pid, SIGKILL), 0);
	assert_int_equal(waitpid(np.pid, &ws, 0), np.pid);
	np.pid = 0;
	atomic_store(&stop_flag, true);
	for (int i = 0; i < WRITERS + READERS + SEARCHERS; i++)
		pthread_join(th[i], NULL);
	acked = atomic_load(&n_acks);
	print_message("%zu submissions, %zu reads and %zu search entries acknowledged before kill -9\n",
		      acked, atomic_load(&n_reads), atomic_load(&n_found));
	assert_true(acked > 0 && acked <= MAX_ACKS);
	assert_true(atomic_load(&n_reads) > 0);
	assert_true(atomic_load(&n_found) > 0);

	node_proc_start(&np, 2);
	assert_true(np.pid > 0);
	/* every entry of every answered search and every answered read has its View (the
	 * provider reads nothing else from here on) */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/audit", pat);
	assert_int_equal(get_json(path, pat_tok, &r), 200);
	assert_true(provider_views_of(json_object_get(r.json, "items"), NULL) >=
		    all_before + atomic_load(&n_reads) + atomic_load(&n_found));
	http_res_release(&r);
	for (size_t k = 0; k < acked; k++) {
		snprintf(path, sizeof(path), "/api/v1/records/%s/content", acks[k].id);
		assert_int_equal(get_json(path, pat_tok, &r), 200);
		assert_int_equal(r.len, strlen(acks[k].text));
		assert_memory_equal(r.body, acks[k].text, r.len);
		http_res_release(&r);
	}
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", pat);
	assert_int_equal(get_json(path, pat_tok, &r), 200);
	assert_true(json_array_size(json_object_get(r.json, "items")) >= acked + 3);
	http_res_release(&r);
	/* every acknowledged read is on chain; the whole trail folds (else 409/5xx) */
	assert_int_equal(get_json("/api/v1/records/1/audit", pat_tok, &r), 200);
	assert_true(provider_views(json_object_get(r.json, "items")) >=
		    views_before + atomic_load(&n_reads));
	http_res_release(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%s/audit", pat);
	assert_int_equal(get_json(path, pat_tok, &r), 200);
	http_res_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acknowledged_writes_survive_kill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
