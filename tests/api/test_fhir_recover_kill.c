/*
 * Recovery of the FHIR index across kill -9 (docs/fhir.md "Recovery"): a
 * `phr node --dev` started with PHR_FHIR_TEST_FAIL=kill dies (SIGKILL) right
 * after a transaction Bundle's records are minted, before their index rows
 * are written. Restarted on the same data directory without the hook, the
 * server's start scan indexes them: the first request reads each resource
 * at version 1 and a search finds them once; the Bundle retried (PUT
 * Type/id) leaves one current version of each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "../node/node_test_util.h"

static struct node_proc np;
static char prov_tok[PHR_API_TOKEN_LEN], hdr_pat[128];

static const char BUNDLE[] =
	"{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	"{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"kill-a\",\"status\":\"final\",\"code\":{\"coding\":"
	"[{\"system\":\"urn:rec\",\"code\":\"kill\"}]},\"valueInteger\":1},"
	"\"request\":{\"method\":\"PUT\",\"url\":\"Observation/kill-a\"}},"
	"{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"kill-b\",\"status\":\"final\",\"code\":{\"coding\":"
	"[{\"system\":\"urn:rec\",\"code\":\"kill\"}]},\"valueInteger\":2},"
	"\"request\":{\"method\":\"PUT\",\"url\":\"Observation/kill-b\"}}]}";

static int setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* the hook is read by the node from its environment (inherited) */
	setenv("PHR_FHIR_TEST_FAIL", "kill", 1);
	return node_proc_open(&np, "fhirrecoverkill");
}

static int teardown(void **state)
{
	(void)state;
	node_proc_close(&np);
	curl_global_cleanup();
	return 0;
}

static long fhir(struct http_res *r, const char *method, const char *path, const char *json)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s/fhir%s", np.url, path);
	if (http_do(r, method, url, prov_tok, json ? "application/fhir+json" : NULL, json, json ? strlen(json) : 0,
		    hdr_pat) != 0)
		return -1;
	return r->status;
}

static const char *version_of(struct http_res *r)
{
	return json_string_value(json_object_get(json_object_get(r->json, "meta"), "versionId"));
}

static void test_kill_between_mint_and_index(void **state)
{
	char pat[64];
	struct http_res r;
	int ws;

	(void)state;
	assert_true(np.pid > 0);
	assert_int_equal(node_test_token(prov_tok, sizeof(prov_tok), NULL, np.node_dir, "provider"), 0);
	{
		char tok[PHR_API_TOKEN_LEN];
		assert_int_equal(node_test_token(tok, sizeof(tok), pat, np.node_dir, "patient"), 0);
	}
	snprintf(hdr_pat, sizeof(hdr_pat), "X-Phr-Patient: %s", pat);
	/* the node dies after the mint: no answer */
	if (fhir(&r, "POST", "", BUNDLE) >= 0) {
		fprintf(stderr, "answered %ld\n", r.status);
		http_res_release(&r);
		fail();
	}
	assert_int_equal(waitpid(np.pid, &ws, 0), np.pid);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	np.pid = 0;

	unsetenv("PHR_FHIR_TEST_FAIL");
	assert_true(node_proc_start(&np, 2) > 0);
	/* the start scan ran before the first request was served */
	assert_int_equal(fhir(&r, "GET", "/Observation/kill-a", NULL), 200);
	assert_string_equal(version_of(&r), "1");
	assert_int_equal(json_integer_value(json_object_get(r.json, "valueInteger")), 1);
	http_res_release(&r);
	assert_int_equal(fhir(&r, "GET", "/Observation/kill-b", NULL), 200);
	assert_string_equal(version_of(&r), "1");
	http_res_release(&r);
	assert_int_equal(fhir(&r, "GET", "/Observation?code=urn:rec|kill", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 2);
	http_res_release(&r);
	/* the retry: one current version of each */
	assert_int_equal(fhir(&r, "POST", "", BUNDLE), 200);
	http_res_release(&r);
	assert_int_equal(fhir(&r, "GET", "/Observation/kill-a", NULL), 200);
	assert_string_equal(version_of(&r), "2");
	http_res_release(&r);
	assert_int_equal(fhir(&r, "GET", "/Observation?code=urn:rec|kill", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 2);
	http_res_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_between_mint_and_index),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
