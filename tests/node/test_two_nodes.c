/*
 * Two node processes, one chain. Mode "embedded": node A runs the embedded
 * chain and serves /rpc, node B uses it with --chain-rpc. Mode "anvil": both
 * nodes use an anvil process. Each node hosts the demo identities (--dev);
 * the provider acts on A, the patient on B, so records minted on one node are
 * read on the other through key capsules and ciphertext fetched from the
 * peer's capsule index and trustless gateway. Checks byte-identical
 * plaintext, grants, revocation and expiry enforced on the other node, the
 * audit trail, denials, and that no plaintext reaches the data directories
 * or the logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "node_test_util.h"

static const char *mode = "embedded";
static char *dir;
static pid_t pids[3];

static char url_a[128], url_b[128], chain_url[160];

static int setup(void **state)
{
	const char *bin = getenv("PHR_BIN"), *src = getenv("PHR_SOURCE_DIR");
	char a_dir[600], b_dir[600], dep[700], o[700], e[700], rpc[200], peers[700];
	FILE *f;

	(void)state;
	if (bin == NULL || src == NULL || (dir = node_test_tmpdir("two")) == NULL)
		return -1;
	snprintf(a_dir, sizeof(a_dir), "%s/a", dir);
	snprintf(b_dir, sizeof(b_dir), "%s/b", dir);
	if (strcmp(mode, "anvil") == 0) {
		char anvil[600], port[32];
		snprintf(anvil, sizeof(anvil), "%s/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil", src);
		if (access(anvil, X_OK) != 0)
			return -1;
		const char *argv[] = { anvil, "--port", "0", "--hardfork", "cancun", NULL };
		snprintf(o, sizeof(o), "%s/anvil.out", dir);
		snprintf(e, sizeof(e), "%s/anvil.err", dir);
		pids[2] = node_test_spawn(argv, o, e, "Listening on ", port, sizeof(port));
		if (pids[2] <= 0)
			return -1;
		snprintf(chain_url, sizeof(chain_url), "http://%s", port);
		const char *argv_a[] = { bin, "node", "--datadir", a_dir, "--listen", "127.0.0.1:0",
				   "--dev", "--chain-rpc", chain_url, NULL };
		snprintf(o, sizeof(o), "%s/a.out", dir);
		snprintf(e, sizeof(e), "%s/a.log", dir);
		pids[0] = node_test_spawn(argv_a, o, e, "listening on ", url_a, sizeof(url_a));
	} else {
		const char *argv_a[] = { bin, "node", "--datadir", a_dir, "--listen", "127.0.0.1:0",
				   "--dev", NULL };
		snprintf(o, sizeof(o), "%s/a.out", dir);
		snprintf(e, sizeof(e), "%s/a.log", dir);
		pids[0] = node_test_spawn(argv_a, o, e, "listening on ", url_a, sizeof(url_a));
		snprintf(chain_url, sizeof(chain_url), "%s/rpc", url_a);
	}
	if (pids[0] <= 0)
		return -1;
	snprintf(rpc, sizeof(rpc), "%s", chain_url);
	snprintf(dep, sizeof(dep), "%s/deployment.json", a_dir);
	const char *argv_b[] = { bin, "node", "--datadir", b_dir, "--listen", "127.0.0.1:0",
			   "--dev", "--no-seed", "--chain-rpc", rpc, "--deployment", dep,
			   "--peer", url_a, NULL };
	snprintf(o, sizeof(o), "%s/b.out", dir);
	snprintf(e, sizeof(e), "%s/b.log", dir);
	pids[1] = node_test_spawn(argv_b, o, e, "listening on ", url_b, sizeof(url_b));
	if (pids[1] <= 0)
		return -1;
	/* A learns B as a peer through its peers file */
	snprintf(peers, sizeof(peers), "%s/peers", a_dir);
	if ((f = fopen(peers, "w")) == NULL)
		return -1;
	fprintf(f, "%s\n", url_b);
	fclose(f);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* graceful SIGTERM: both nodes exit 0 */
	for (int i = 0; i < 3; i++)
		if (pids[i] > 0)
			node_test_stop(pids[i]);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(dir);
	free(dir);
	curl_global_cleanup();
	return 0;
}

static void token(char out[PHR_API_TOKEN_LEN], char addr[64], const char *node, const char *name)
{
	char nd[700];

	snprintf(nd, sizeof(nd), "%s/%s", dir, node);
	assert_int_equal(node_test_token(out, PHR_API_TOKEN_LEN, addr, nd, name), 0);
}

static void call(struct http_res *r, const char *base, const char *method, const char *path,
		 const char *tok, const char *json)
{
	(void)http_call(r, base, method, path, tok, json);
}

static void content(const char *base, const char *tok, const char *id, const char *want, long status)
{
	struct http_res r;
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/records/%s/content", id);
	call(&r, base, "GET", path, tok, NULL);
	if (status == 200) {
		if (r.status != 200)
			fail_msg("read %s at %s: %ld %s", id, base, r.status, r.body ? (char *)r.body : "");
		assert_int_equal(r.len, strlen(want));
		assert_memory_equal(r.body, want, r.len);
	} else if (!http_is_problem(&r, status)) {
		fail_msg("read %s at %s: %ld, want %ld", id, base, r.status, status);
	}
	http_res_release(&r);
}

static void post_ok(const char *base, const char *path, const char *tok, const char *json,
		    long status, char *id_out)
{
	struct http_res r;

	call(&r, base, "POST", path, tok, json);
	if (r.status != status)
		fail_msg("POST %s%s: %ld %s", base, path, r.status, r.body ? (char *)r.body : "");
	if (id_out != NULL)
		snprintf(id_out, 32, "%s", json_string_value(json_object_get(r.json, "id")));
	http_res_release(&r);
}

static void advance_chain(unsigned seconds)
{
	struct http_res r;
	char body[128];

	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_increaseTime\",\"params\":[%u]}",
		 seconds);
	assert_int_equal(http_do(&r, "POST", chain_url, NULL, "application/json", body, strlen(body), NULL), 0);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"evm_mine\",\"params\":[]}");
	assert_int_equal(http_do(&r, "POST", chain_url, NULL, "application/json", body, strlen(body), NULL), 0);
	assert_int_equal(r.status, 200);
	http_res_release(&r);
}

static size_t count_actions(json_t *items, const char *action, const char *accessor)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(items, i, e)
		if (strcmp(json_string_value(json_object_get(e, "action")), action) == 0 &&
		    (accessor == NULL ||
		     strcasecmp(json_string_value(json_object_get(e, "accessor")), accessor) == 0))
			n++;
	return n;
}

static void test_two_nodes(void **state)
{
	static const char m1[] = "PHR-2NODE-MARKER-one: creatinine 88 umol/L";
	static const char m2[] = "PHR-2NODE-MARKER-two: allergy penicillin";
	char prov_a[PHR_API_TOKEN_LEN], clinic_a[PHR_API_TOKEN_LEN], pat_a[PHR_API_TOKEN_LEN];
	char pat_b[PHR_API_TOKEN_LEN], clinic_b[PHR_API_TOKEN_LEN];
	char pat[64], prov[64], clinic[64], body[512], id1[32], id2[32], path[256];
	struct http_res r;
	size_t files = 0;

	(void)state;
	token(prov_a, prov, "a", "provider");
	token(clinic_a, clinic, "a", "clinic");
	token(pat_a, pat, "a", "patient");
	token(pat_b, NULL, "b", "patient");
	token(clinic_b, NULL, "b", "clinic");

	/* 6.1 on A: the provider (Write from the demo seed) submits */
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"%s\"}", pat, m1);
	post_ok(url_a, "/api/v1/records", prov_a, body, 201, id1);
	/* the patient reads it on B: capsule and ciphertext come from A */
	content(url_b, pat_b, id1, m1, 200);

	/* 6.2 on B: the patient grants the clinic Write; B wraps the keys of the
	 * patient's records (capsules fetched from A) to the clinic */
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"write\",\"duration\":3600}", clinic);
	post_ok(url_b, "/api/v1/access/grants", pat_b, body, 201, NULL);
	/* the clinic reads on A: its capsule comes from B */
	content(url_a, clinic_a, id1, m1, 200);
	/* the clinic submits on B; the patient shares that record with the provider
	 * on B; the provider reads it on A (capsule and ciphertext from B) */
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":8,\"text\":\"%s\"}", pat, m2);
	post_ok(url_b, "/api/v1/records", clinic_b, body, 201, id2);
	snprintf(body, sizeof(body),
		 "{\"provider\":\"%s\",\"level\":\"read\",\"scope\":{\"record\":\"%s\"},\"duration\":3600}",
		 prov, id2);
	post_ok(url_b, "/api/v1/access/grants", pat_b, body, 201, NULL);
	content(url_a, prov_a, id2, m2, 200);

	/* revocation on B stops the clinic on A at once */
	snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", clinic);
	post_ok(url_b, "/api/v1/access/revoke", pat_b, body, 200, NULL);
	content(url_a, clinic_a, id1, NULL, 403);
	/* a short grant, then chain time passes it */
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"read\",\"duration\":60}", clinic);
	post_ok(url_b, "/api/v1/access/grants", pat_b, body, 201, NULL);
	content(url_a, clinic_a, id1, m1, 200);
	advance_chain(120);
	content(url_a, clinic_a, id1, NULL, 403);
	content(url_b, clinic_b, id2, NULL, 403);

	/* denied attempts are on record at the node that refused them */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/denials", pat);
	call(&r, url_a, "GET", path, pat_a, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_integer_value(json_object_get(r.json, "count")) >= 2);
	http_res_release(&r);
	/* the audit trail (read on B, verified against the chain's head) shows every step */
	snprintf(path, sizeof(path), "/api/v1/patients/%s/audit", pat);
	call(&r, url_b, "GET", path, pat_b, NULL);
	assert_int_equal(r.status, 200);
	{
		json_t *items = json_object_get(r.json, "items");
		assert_true(count_actions(items, "Create", prov) >= 4); /* 3 seeded + id1 */
		assert_int_equal(count_actions(items, "Create", clinic), 1);
		assert_true(count_actions(items, "View", pat) >= 1);
		assert_true(count_actions(items, "View", clinic) >= 2);
		assert_true(count_actions(items, "View", prov) >= 1);
		assert_true(count_actions(items, "Share", clinic) >= 2);
		assert_int_equal(count_actions(items, "Revoke", clinic), 1);
	}
	http_res_release(&r);

	/* graceful SIGTERM: both nodes exit 0 (and their logs are complete) */
	for (int i = 0; i < 2; i++) {
		int st = node_test_stop(pids[i]);
		pids[i] = 0;
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* no plaintext in the data directories (chain db, stores, local dbs) or the logs */
	assert_int_equal(node_test_scan(dir, (const uint8_t *)"PHR-2NODE-MARKER", 16, &files), 0);
	assert_true(files > 20);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_nodes),
	};
	if (argc > 1)
		mode = argv[1];
	if (strcmp(mode, "anvil") == 0) {
		char p[600];
		const char *src = getenv("PHR_SOURCE_DIR");
		snprintf(p, sizeof(p), "%s/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
			 src ? src : ".");
		if (access(p, X_OK) != 0) {
			fprintf(stderr, "anvil not installed: skipped\n");
			return 77;
		}
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
