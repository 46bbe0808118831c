/*
 * The indexer of a node on an external chain across a chain outage (two
 * processes): node A runs the embedded chain and serves /rpc, node B follows
 * it with --chain-rpc. A is stopped: B's /healthz and lists answer 5xx. A is
 * started again on the same port and data directory: B is healthy again, its
 * lists include what was written after the outage, and its index was resumed,
 * not rebuilt. Then `phr node reindex` rebuilds B's index from the chain and
 * B, restarted, answers the same lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "node_test_util.h"

static char *dir;
static pid_t pid_a, pid_b;
static char url_a[128], url_b[128], rpc[160], a_dir[600], b_dir[600], dep[700];

/* Each start writes new files: node_test_spawn must not find the marker of an earlier run. */
static pid_t start(const char *name, const char *const argv[], char *url, size_t cap)
{
	static unsigned runs;
	char o[700], e[700];

	runs++;
	snprintf(o, sizeof(o), "%s/%s%u.out", dir, name, runs);
	snprintf(e, sizeof(e), "%s/%s%u.log", dir, name, runs);
	return node_test_spawn(argv, o, e, "listening on ", url, cap);
}

static pid_t start_a(const char *listen)
{
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", a_dir, "--listen", listen,
			       "--dev", NULL };

	return start("a", argv, url_a, sizeof(url_a));
}

static pid_t start_b(void)
{
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", b_dir, "--listen",
			       "127.0.0.1:0", "--dev", "--no-seed", "--chain-rpc", rpc,
			       "--deployment", dep, "--peer", url_a, NULL };

	return start("b", argv, url_b, sizeof(url_b));
}

static int setup(void **state)
{
	(void)state;
	if (getenv("PHR_BIN") == NULL || (dir = node_test_tmpdir("reconnect")) == NULL)
		return -1;
	snprintf(a_dir, sizeof(a_dir), "%s/a", dir);
	snprintf(b_dir, sizeof(b_dir), "%s/b", dir);
	snprintf(dep, sizeof(dep), "%s/deployment.json", a_dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((pid_a = start_a("127.0.0.1:0")) <= 0)
		return -1;
	snprintf(rpc, sizeof(rpc), "%s/rpc", url_a);
	return (pid_b = start_b()) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	node_test_stop(pid_b);
	node_test_stop(pid_a);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(dir);
	free(dir);
	curl_global_cleanup();
	return 0;
}

static void token(char out[PHR_API_TOKEN_LEN], char addr[64], const char *node_dir,
		  const char *name)
{
	assert_int_equal(node_test_token(out, PHR_API_TOKEN_LEN, addr, node_dir, name), 0);
}

/* GET base+path; the status; the body's "items" (new reference) in *items when 200. */
static long get(const char *base, const char *path, const char *tok, json_t **items)
{
	struct http_res r;
	char url[512];
	long st;

	snprintf(url, sizeof(url), "%s%s", base, path);
	assert_int_equal(http_do(&r, "GET", url, tok, NULL, NULL, 0, NULL), 0);
	st = r.status;
	if (items != NULL) {
		*items = NULL;
		if (st == 200 && r.json != NULL)
			*items = json_incref(json_object_get(r.json, "items"));
	}
	http_res_release(&r);
	return st;
}

/* /healthz of B until it answers @p want (up to 10 s). */
static void wait_health(long want)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	long st = 0;

	for (int i = 0; i < 100 && (st = get(url_b, "/healthz", NULL, NULL)) != want; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(st, want);
}

/* records, grants and audit lists of the patient at B, as one array */
static json_t *lists(const char *base, const char *tok, const char *pat)
{
	static const char *const what[] = { "records", "grants", "requests", "audit" };
	json_t *all = json_array(), *items;
	char path[256];

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/api/v1/patients/%s/%s", pat, what[i]);
		assert_int_equal(get(base, path, tok, &items), 200);
		assert_non_null(items);
		json_array_append_new(all, items);
	}
	return all;
}

static bool log_has(const char *name, const char *needle)
{
	char path[700], *buf;
	FILE *f;
	size_t n;
	bool hit;

	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = 0;
	hit = strstr(buf, needle) != NULL;
	free(buf);
	return hit;
}

static void reconnect_and_reindex(void **state)
{
	char tok_b[PHR_API_TOKEN_LEN], tok_a[PHR_API_TOKEN_LEN], pat[64], path[256], listen[64];
	char body[256], url[512], out[128];
	json_t *before, *after, *items;
	struct http_res r;
	int st;

	(void)state;
	token(tok_b, pat, b_dir, "patient");
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", pat);
	wait_health(200);
	assert_int_equal(get(url_b, path, tok_b, &items), 200);
	assert_int_equal(json_array_size(items), 3); /* A's demo seed */
	json_decref(items);

	/* the chain goes away: B is unhealthy and cannot answer lists */
	snprintf(listen, sizeof(listen), "%s", url_a + strlen("http://"));
	assert_true(WIFEXITED(node_test_stop(pid_a)));
	pid_a = 0;
	wait_health(502);
	assert_true(get(url_b, path, tok_b, NULL) >= 500);

	/* and comes back on the same address: B resumes */
	pid_a = start_a(listen);
	assert_true(pid_a > 0);
	wait_health(200);
	token(tok_a, NULL, a_dir, "provider");
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":5,\"text\":\"after the outage\"}",
		 pat);
	snprintf(url, sizeof(url), "%s/api/v1/records", url_a);
	assert_int_equal(http_do(&r, "POST", url, tok_a, "application/json", body, strlen(body),
				 NULL),
			 0);
	assert_int_equal(r.status, 201);
	http_res_release(&r);
	/* read-your-writes across nodes: B catches up before answering */
	assert_int_equal(get(url_b, path, tok_b, &items), 200);
	assert_int_equal(json_array_size(items), 4);
	json_decref(items);
	before = lists(url_b, tok_b, pat);
	assert_false(log_has("b2", "rebuilding"));
	assert_true(log_has("b2", "caught up with the chain"));

	/* phr node reindex rebuilds B's index from scratch; B answers the same */
	assert_true(WIFEXITED(node_test_stop(pid_b)));
	pid_b = 0;
	{
		const char *argv[] = { getenv("PHR_BIN"), "node", "reindex", "--datadir", b_dir,
				       "--chain-rpc", rpc, "--deployment", dep, NULL };
		char o[700], e[700];
		int ws = 0;
		pid_t p;
		snprintf(o, sizeof(o), "%s/reindex.out", dir);
		snprintf(e, sizeof(e), "%s/reindex.log", dir);
		p = node_test_spawn(argv, o, e, "indexed ", out, sizeof(out));
		assert_true(p > 0);
		assert_int_equal(waitpid(p, &ws, 0), p);
		assert_true(WIFEXITED(ws));
		assert_int_equal(WEXITSTATUS(ws), 0);
		assert_non_null(strstr(out, " logs up to block "));
		assert_true(strtoul(out, NULL, 10) > 20);
	}
	pid_b = start_b();
	assert_true(pid_b > 0);
	after = lists(url_b, tok_b, pat);
	st = json_equal(before, after);
	if (!st) {
		char *a = json_dumps(before, JSON_COMPACT), *b = json_dumps(after, JSON_COMPACT);
		fail_msg("lists differ after reindex:\n%s\n%s", a, b);
	}
	/* and A's own index answers the same lists */
	token(tok_a, NULL, a_dir, "patient");
	json_decref(after);
	after = lists(url_a, tok_a, pat);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reconnect_and_reindex),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
