/*
 * Durability of acknowledged FHIR writes across kill -9: a `phr node --dev`
 * process takes concurrent transaction Bundles, plain creates and updates of
 * one shared resource (which mint outside the FHIR server's lock and write
 * their index rows after) and is killed with SIGKILL while requests are in
 * flight. Restarted on the same data directory, every resource whose write
 * was acknowledged must read back with what was written, be found by a
 * search, and the shared resource must be at least at the last acknowledged
 * version.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "../node/node_test_util.h"

#define BUNDLERS 2
#define CREATORS 2
#define TX_ENTRIES 5
#define MAX_ACKS 4096

static struct node_proc np;
static char prov_tok[PHR_API_TOKEN_LEN], hdr_pat[128];
static char pat[64], prov[64];
static atomic_bool stop_flag;

/* An acknowledged resource: Observation/id with code urn:kill|code. */
struct ack {
	char id[48];
	char code[48];
};

static struct ack acks[MAX_ACKS];
static atomic_size_t n_acks, n_bundles;
static atomic_ulong shared_vid; /* the highest acknowledged version of Observation/k-shared */

static int setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return node_proc_open(&np, "fhirkill");
}

static int teardown(void **state)
{
	(void)state;
	node_proc_close(&np);
	curl_global_cleanup();
	return 0;
}

static void ack_add(const char *id, const char *code)
{
	size_t k = atomic_fetch_add(&n_acks, 1);

	if (k < MAX_ACKS) {
		snprintf(acks[k].id, sizeof(acks[k].id), "%s", id);
		snprintf(acks[k].code, sizeof(acks[k].code), "%s", code);
	}
}

#define OBS_FMT                                                                                      \
	"{\"resourceType\":\"Observation\",%s\"status\":\"final\",\"code\":{\"coding\":[{\"system\":" \
	"\"urn:kill\",\"code\":\"%s\"}]}}"

/* Transaction Bundles of TX_ENTRIES new Observations each (PUT with ids of its own). */
static void *bundler(void *arg)
{
	int w = (int)(intptr_t)arg;
	char u[256], body[8192];
	struct http_res r;

	snprintf(u, sizeof(u), "%s/fhir", np.url);
	for (int i = 0; !atomic_load(&stop_flag); i++) {
		size_t len = (size_t)snprintf(body, sizeof(body),
					      "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
		for (int j = 0; j < TX_ENTRIES; j++) {
			char idf[80];
			snprintf(idf, sizeof(idf), "\"id\":\"k-%d-%d-%d\",", w, i, j);
			len += (size_t)snprintf(body + len, sizeof(body) - len,
						"%s{\"resource\":" OBS_FMT
						",\"request\":{\"method\":\"PUT\",\"url\":\"Observation/k-%d-%d-%d\"}}",
						j ? "," : "", idf, "tx", w, i, j);
		}
		len += (size_t)snprintf(body + len, sizeof(body) - len, "]}");
		if (http_do(&r, "POST", u, prov_tok, "application/fhir+json", body, len, hdr_pat) != 0)
			break; /* the node is gone */
		if (r.status == 200) {
			atomic_fetch_add(&n_bundles, 1);
			for (int j = 0; j < TX_ENTRIES; j++) {
				char id[48];
				snprintf(id, sizeof(id), "k-%d-%d-%d", w, i, j);
				ack_add(id, "tx");
			}
		}
		http_res_release(&r);
	}
	return NULL;
}

/* Plain creates (server ids) with a code of their own. */
static void *creator(void *arg)
{
	int w = (int)(intptr_t)arg;
	char u[256], body[512], code[48];
	struct http_res r;

	snprintf(u, sizeof(u), "%s/fhir/Observation", np.url);
	for (int i = 0; !atomic_load(&stop_flag); i++) {
		snprintf(code, sizeof(code), "c-%d-%d", w, i);
		snprintf(body, sizeof(body), OBS_FMT, "", code);
		if (http_do(&r, "POST", u, prov_tok, "application/fhir+json", body, strlen(body), hdr_pat) != 0)
			break;
		if (r.status == 201 && r.json != NULL)
			ack_add(json_string_value(json_object_get(r.json, "id")), code);
		http_res_release(&r);
	}
	return NULL;
}

/* Updates of Observation/k-shared; records the highest version acknowledged. */
static void *updater(void *arg)
{
	char u[256], body[512];
	struct http_res r;

	(void)arg;
	snprintf(u, sizeof(u), "%s/fhir/Observation/k-shared", np.url);
	snprintf(body, sizeof(body), OBS_FMT, "\"id\":\"k-shared\",", "shared");
	while (!atomic_load(&stop_flag)) {
		if (http_do(&r, "PUT", u, prov_tok, "application/fhir+json", body, strlen(body), hdr_pat) != 0)
			break;
		if ((r.status == 200 || r.status == 201) && r.json != NULL) {
			const char *v = json_string_value(json_object_get(json_object_get(r.json, "meta"), "versionId"));
			unsigned long vid = v ? strtoul(v, NULL, 10) : 0, cur = atomic_load(&shared_vid);
			while (vid > cur && !atomic_compare_exchange_weak(&shared_vid, &cur, vid))
				;
		}
		http_res_release(&r);
	}
	return NULL;
}

static long get_json(const char *path, struct http_res *r)
{
	char u[512];

	snprintf(u, sizeof(u), "%s/fhir%s", np.url, path);
	assert_int_equal(http_do(r, "GET", u, prov_tok, NULL, NULL, 0, NULL), 0);
	return r->status;
}

static void acknowledged_fhir_writes_survive_kill(void **state)
{
	enum { T = BUNDLERS + CREATORS + 1 };
	pthread_t th[T];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct http_res r;
	char path[256];
	size_t acked, tx_acked = 0;
	int ws = 0;

	(void)state;
	assert_int_equal(node_test_token(prov_tok, sizeof(prov_tok), prov, np.node_dir, "provider"), 0);
	{
		char pat_tok[PHR_API_TOKEN_LEN];
		assert_int_equal(node_test_token(pat_tok, sizeof(pat_tok), pat, np.node_dir, "patient"), 0);
	}
	snprintf(hdr_pat, sizeof(hdr_pat), "X-Phr-Patient: %s", pat);
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_create(&th[i], NULL,
						i < BUNDLERS ? bundler : i < BUNDLERS + CREATORS ? creator : updater,
						(void *)(intptr_t)i),
				 0);
	/* some of each kind acknowledged (a loaded machine may take seconds), then
	 * kill -9 with requests in flight */
	for (int i = 0; i < 1200 && (atomic_load(&n_bundles) < 2 || atomic_load(&n_acks) < 3 * TX_ENTRIES ||
				     atomic_load(&shared_vid) < 2);
	     i++)
		nanosleep(&ts, NULL);
	assert_int_equal(kill(np.pid, SIGKILL), 0);
	assert_int_equal(waitpid(np.pid, &ws, 0), np.pid);
	np.pid = 0;
	atomic_store(&stop_flag, true);
	for (int i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	acked = atomic_load(&n_acks);
	print_message("%zu resources (%zu Bundles) and version %lu of the shared one acknowledged before kill -9\n",
		      acked, atomic_load(&n_bundles), atomic_load(&shared_vid));
	assert_true(acked > 0 && acked <= MAX_ACKS);
	assert_true(atomic_load(&n_bundles) > 0);

	node_proc_start(&np, 2);
	assert_true(np.pid > 0);
	for (size_t k = 0; k < acked; k++) {
		json_t *c;
		snprintf(path, sizeof(path), "/Observation/%s", acks[k].id);
		assert_int_equal(get_json(path, &r), 200);
		c = json_array_get(json_object_get(json_object_get(r.json, "code"), "coding"), 0);
		assert_string_equal(json_string_value(json_object_get(c, "code")), acks[k].code);
		http_res_release(&r);
		tx_acked += strcmp(acks[k].code, "tx") == 0;
	}
	/* the index holds them: a search finds at least every acknowledged Bundle entry */
	assert_int_equal(get_json("/Observation?code=urn:kill|tx&_summary=count", &r), 200);
	assert_true((size_t)json_integer_value(json_object_get(r.json, "total")) >= tx_acked);
	http_res_release(&r);
	assert_int_equal(get_json("/Observation/k-shared", &r), 200);
	assert_true(strtoul(json_string_value(json_object_get(json_object_get(r.json, "meta"), "versionId")),
			    NULL, 10) >= atomic_load(&shared_vid));
	http_res_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acknowledged_fhir_writes_survive_kill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
