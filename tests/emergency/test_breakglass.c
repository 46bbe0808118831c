/*
 * Break-glass while the patient is unconscious, with processes (issue 8):
 * node P (embedded chain served at /rpc; hosts the emergency provider), the
 * patient's node N and three escrow nodes E1..E3 (--chain-rpc). The patient
 * escrows its emergency summary 2-of-3 with `phr emergency setup`, then its
 * node is stopped. A provider without the emergency role can neither open
 * break-glass nor get a share; the emergency provider opens it and reads the
 * summary through 2 of 3 holders (E3 down); with only one holder alive it
 * cannot; E2 restarts (its escrow survives); after 24 h of chain time it
 * cannot. The patient's webhook receiver, down all along, comes up at the
 * end and receives the signed notifications. The audit trail on chain has
 * Share, Emergency and View entries with purpose Emergency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api_test_util.h"
#include "../node/node_test_util.h"
#include "hook_server.h"
#include "phr/core.h"
#include "phr/crypto.h"
#include "phr/notify.h"

enum { P, N, E1, E2, E3, NPROC };

static const char *bin, *src;
static char *dir;
static pid_t pids[NPROC];
static char urls[NPROC][128];
static char chain_url[160], dep[700], summary[700];
static uint16_t hook_port;
static const char secret_hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static pid_t spawn_node(int i, bool restart)
{
	static const char *const names[NPROC] = { "p", "n", "e1", "e2", "e3" };
	char d[600], o[700], e[700];

	snprintf(d, sizeof(d), "%s/%s", dir, names[i]);
	snprintf(o, sizeof(o), "%s/%s%s.out", dir, names[i], restart ? "-2" : "");
	snprintf(e, sizeof(e), "%s/%s%s.log", dir, names[i], restart ? "-2" : "");
	if (i == P) {
		const char *argv[] = { bin, "node", "--datadir", d, "--listen", "127.0.0.1:0", "--dev",
				       "--no-seed", NULL };
		pids[i] = node_test_spawn(argv, o, e, "listening on ", urls[i], sizeof(urls[i]));
	} else if (i == N) {
		const char *argv[] = { bin, "node", "--datadir", d, "--listen", "127.0.0.1:0", "--dev",
				       "--no-seed", "--chain-rpc", chain_url, "--deployment", dep, NULL };
		pids[i] = node_test_spawn(argv, o, e, "listening on ", urls[i], sizeof(urls[i]));
	} else {
		const char *argv[] = { bin, "node", "--datadir", d, "--listen", "127.0.0.1:0",
				       "--chain-rpc", chain_url, "--deployment", dep, NULL };
		pids[i] = node_test_spawn(argv, o, e, "listening on ", urls[i], sizeof(urls[i]));
	}
	return pids[i];
}

static int setup(void **state)
{
	(void)state;
	bin = getenv("PHR_BIN");
	src = getenv("PHR_SOURCE_DIR");
	if (bin == NULL || src == NULL || (dir = node_test_tmpdir("breakglass")) == NULL)
		return -1;
	/* fast retries for the test; the keystores of --dev use the password "dev" */
	setenv("PHR_NOTIFY_BACKOFF", "1", 1);
	setenv("PHR_NOTIFY_BACKOFF_MAX", "2", 1);
	setenv("PHR_PASSWORD", "dev", 1);
	snprintf(summary, sizeof(summary), "%s/tests/emergency/summary.json", src);
	if (spawn_node(P, false) <= 0)
		return -1;
	snprintf(chain_url, sizeof(chain_url), "%s/rpc", urls[P]);
	snprintf(dep, sizeof(dep), "%s/p/deployment.json", dir);
	for (int i = N; i < NPROC; i++)
		if (spawn_node(i, false) <= 0)
			return -1;
	hook_port = hook_free_port();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return hook_port ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = NPROC - 1; i >= 0; i--)
		if (pids[i] > 0)
			node_test_stop(pids[i]);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(dir);
	free(dir);
	curl_global_cleanup();
	return 0;
}

/* Runs `phr CMD ARGS...` (@p ap NULL-terminated; `emergency` also gets the
 * chain and deployment); output in DIR/cli-TAG.out|.err. @return its exit status. */
static int run_phr(const char *tag, const char *cmd, va_list ap)
{
	const char *argv[48];
	char o[700], e[700];
	size_t n = 0;
	int st = 0;
	pid_t pid;

	argv[n++] = bin;
	argv[n++] = cmd;
	for (const char *a; n < 44 && (a = va_arg(ap, const char *)) != NULL;)
		argv[n++] = a;
	if (strcmp(cmd, "emergency") == 0) {
		argv[n++] = "--chain-rpc";
		argv[n++] = chain_url;
		argv[n++] = "--deployment";
		argv[n++] = dep;
	}
	argv[n] = NULL;
	snprintf(o, sizeof(o), "%s/cli-%s.out", dir, tag);
	snprintf(e, sizeof(e), "%s/cli-%s.err", dir, tag);
	pid = fork();
	if (pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs `phr emergency ARGS...` (NULL-terminated); @return its exit status. */
static int phr_emergency(const char *tag, ...)
{
	va_list ap;
	int rv;

	va_start(ap, tag);
	rv = run_phr(tag, "emergency", ap);
	va_end(ap);
	return rv;
}

/* Runs `phr recovery ARGS...` (NULL-terminated); @return its exit status. */
static int phr_recovery(const char *tag, ...)
{
	va_list ap;
	int rv;

	va_start(ap, tag);
	rv = run_phr(tag, "recovery", ap);
	va_end(ap);
	return rv;
}

/* Moves the chain's clock by @p secs and mines a block. */
static void advance(unsigned secs)
{
	struct http_res r;
	char rb[160];

	snprintf(rb, sizeof(rb),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_increaseTime\",\"params\":[%u]}", secs);
	assert_int_equal(http_do(&r, "POST", chain_url, NULL, "application/json", rb, strlen(rb), NULL), 0);
	http_res_release(&r);
	snprintf(rb, sizeof(rb), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"evm_mine\",\"params\":[]}");
	assert_int_equal(http_do(&r, "POST", chain_url, NULL, "application/json", rb, strlen(rb), NULL), 0);
	http_res_release(&r);
}

static void keystore(char *out, size_t cap, const char *node, const char *name)
{
	snprintf(out, cap, "%s/%s/dev/keys/%s.json", dir, node, name);
}

static bool same_file(const char *a, const char *b)
{
	struct phr_buf x, y;
	bool same;

	phr_buf_init(&x, 0);
	phr_buf_init(&y, 0);
	same = phr_file_read(&x, a, 1 << 20) == PHR_OK && phr_file_read(&y, b, 1 << 20) == PHR_OK &&
	       x.len == y.len && x.len > 0 && memcmp(x.data, y.data, x.len) == 0;
	phr_buf_release(&x);
	phr_buf_release(&y);
	return same;
}

static size_t count_audit(json_t *items, const char *action, unsigned purpose, const char *who)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(items, i, e)
		if (strcmp(json_string_value(json_object_get(e, "action")), action) == 0 &&
		    json_integer_value(json_object_get(e, "purpose")) == (json_int_t)purpose &&
		    (who == NULL || strcasecmp(json_string_value(json_object_get(e, "accessor")), who) == 0))
			n++;
	return n;
}

static void test_breakglass(void **state)
{
	char ks_pat[700], ks_em[700], ks_prov[700], out[700], hook[128], body[256], path[400];
	char tok_pat[PHR_API_TOKEN_LEN], pat[64], tok_em[PHR_API_TOKEN_LEN], em[64];
	char tok_pat_p[PHR_API_TOKEN_LEN];
	struct hook_server hs;
	struct http_res r;
	uint8_t sec[32];
	size_t sl = 0;

	char nd[650], pd[650];

	(void)state;
	memset(&hs, 0, sizeof(hs));
	snprintf(nd, sizeof(nd), "%s/n", dir);
	snprintf(pd, sizeof(pd), "%s/p", dir);
	keystore(ks_pat, sizeof(ks_pat), "n", "patient");
	keystore(ks_em, sizeof(ks_em), "p", "emergency");
	keystore(ks_prov, sizeof(ks_prov), "p", "provider");
	assert_int_equal(node_test_token(tok_pat, sizeof(tok_pat), pat, nd, "patient"), 0);
	assert_int_equal(node_test_token(tok_em, sizeof(tok_em), em, pd, "emergency"), 0);
	assert_int_equal(node_test_token(tok_pat_p, sizeof(tok_pat_p), NULL, pd, "patient"), 0);
	snprintf(hook, sizeof(hook), "http://127.0.0.1:%u/hook", (unsigned)hook_port);

	/* every subcommand documents itself */
	assert_int_equal(phr_emergency("help", "--help", NULL), 0);
	assert_int_equal(phr_emergency("help-read", "read", "--help", NULL), 0);
	assert_int_equal(phr_emergency("help-setup", "setup", "--help", NULL), 0);
	assert_int_equal(phr_emergency("bad-setup", "setup", "--threshold", "1", NULL), 2);

	/* the patient's node takes a webhook through the API */
	snprintf(body, sizeof(body), "{\"url\":\"%s\",\"secret\":\"%s\"}", hook, secret_hex);
	snprintf(path, sizeof(path), "%s/api/v1/me/webhooks", urls[N]);
	assert_int_equal(http_do(&r, "POST", path, tok_pat, "application/json", body, strlen(body), NULL), 0);
	assert_int_equal(r.status, 201);
	http_res_release(&r);

	/* bad webhooks are problems, not subscriptions; the list and delete routes */
	snprintf(path, sizeof(path), "%s/api/v1/me/webhooks", urls[N]);
	snprintf(body, sizeof(body), "{\"url\":\"https://x.example/h\",\"secret\":\"%s\"}", secret_hex);
	assert_int_equal(http_do(&r, "POST", path, tok_pat, "application/json", body, strlen(body), NULL), 0);
	assert_true(http_is_problem(&r, 400));
	http_res_release(&r);
	snprintf(body, sizeof(body), "{\"url\":\"%s\",\"secret\":\"0011\"}", hook);
	assert_int_equal(http_do(&r, "POST", path, tok_pat, "application/json", body, strlen(body), NULL), 0);
	assert_true(http_is_problem(&r, 400));
	http_res_release(&r);
	assert_int_equal(http_do(&r, "GET", path, tok_pat, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 1);
	http_res_release(&r);
	snprintf(path, sizeof(path), "%s/api/v1/me/webhooks/999", urls[N]);
	assert_int_equal(http_do(&r, "DELETE", path, tok_pat, NULL, NULL, 0, NULL), 0);
	assert_true(http_is_problem(&r, 404));
	http_res_release(&r);
	/* an escrow holder refuses garbage */
	snprintf(path, sizeof(path), "%s/api/v1/escrow/%s", urls[E1], pat);
	assert_int_equal(http_do(&r, "PUT", path, NULL, "application/json", "{\"deposit\":\"{}\"}", 14, NULL), 0);
	assert_true(r.status >= 400 && r.status < 500);
	http_res_release(&r);
	snprintf(path, sizeof(path), "%s/api/v1/escrow/%s/release", urls[E1], pat);
	assert_int_equal(http_do(&r, "POST", path, NULL, "application/json", "{\"request\":1}", 13, NULL), 0);
	assert_true(r.status >= 400 && r.status < 500);
	http_res_release(&r);

	/* the patient escrows its summary 2 of 3 */
	assert_int_equal(phr_emergency("setup", "setup", "--keystore", ks_pat, "--summary", summary,
				       "--escrow", urls[E1], "--escrow", urls[E2], "--escrow", urls[E3],
				       "--threshold", "2", "--webhook", hook, "--webhook-secret",
				       secret_hex, NULL),
			 0);
	/* the patient becomes unreachable */
	assert_int_equal(node_test_stop(pids[N]), 0);
	pids[N] = 0;

	/* a provider without the emergency role: no break-glass, no share */
	snprintf(out, sizeof(out), "%s/summary-prov.json", dir);
	assert_int_not_equal(phr_emergency("open-prov", "open", "--keystore", ks_prov, "--patient", pat,
					   "--reason-code", "1", "--reason", "curious", NULL),
			     0);
	assert_int_not_equal(phr_emergency("read-prov", "read", "--keystore", ks_prov, "--patient", pat,
					   "--escrow", urls[E1], "--escrow", urls[E2], "--escrow",
					   urls[E3], "--out", out, NULL),
			     0);
	assert_int_not_equal(access(out, F_OK), 0);
	/* the emergency provider before opening: nothing */
	assert_int_not_equal(phr_emergency("read-early", "read", "--keystore", ks_em, "--patient", pat,
					   "--escrow", urls[E1], "--escrow", urls[E2], "--out", out,
					   NULL),
			     0);

	/* break-glass */
	assert_int_equal(phr_emergency("open", "open", "--keystore", ks_em, "--patient", pat,
				       "--reason-code", "1", "--reason", "unconscious on arrival", NULL),
			 0);
	/* E3 is down: 2 of 3 suffice; the provider knows only E1, the manifest names the others */
	assert_int_equal(node_test_stop(pids[E3]), 0);
	pids[E3] = 0;
	snprintf(out, sizeof(out), "%s/summary-read.json", dir);
	assert_int_equal(phr_emergency("read-2of3", "read", "--keystore", ks_em, "--patient", pat,
				       "--escrow", urls[E1], "--out", out, NULL),
			 0);
	assert_true(same_file(out, summary));
	/* only E1 alive: it cannot */
	assert_int_equal(node_test_stop(pids[E2]), 0);
	pids[E2] = 0;
	snprintf(out, sizeof(out), "%s/summary-1of3.json", dir);
	assert_int_not_equal(phr_emergency("read-1of3", "read", "--keystore", ks_em, "--patient", pat,
					   "--escrow", urls[E1], "--escrow", urls[E2], "--escrow",
					   urls[E3], "--out", out, NULL),
			     0);
	assert_int_not_equal(access(out, F_OK), 0);
	/* E2 comes back with its escrow */
	assert_true(spawn_node(E2, true) > 0);
	snprintf(out, sizeof(out), "%s/summary-again.json", dir);
	assert_int_equal(phr_emergency("read-again", "read", "--keystore", ks_em, "--patient", pat,
				       "--escrow", urls[E1], "--escrow", urls[E2], "--out", out, NULL),
			 0);
	assert_true(same_file(out, summary));
	/* the patient (its owner key) closes the session: no more shares */
	assert_int_equal(phr_emergency("close", "close", "--keystore", ks_pat, "--patient", pat,
				       "--provider", em, NULL),
			 0);
	snprintf(out, sizeof(out), "%s/summary-closed.json", dir);
	assert_int_not_equal(phr_emergency("read-closed", "read", "--keystore", ks_em, "--patient", pat,
					   "--escrow", urls[E1], "--escrow", urls[E2], "--out", out,
					   NULL),
			     0);
	assert_int_not_equal(access(out, F_OK), 0);
	/* a new session, then a day later it has expired */
	assert_int_equal(phr_emergency("open-again", "open", "--keystore", ks_em, "--patient", pat,
				       "--reason-code", "2", "--reason", "trauma", NULL),
			 0);
	advance(86400u + 60u);
	snprintf(out, sizeof(out), "%s/summary-expired.json", dir);
	assert_int_not_equal(phr_emergency("read-expired", "read", "--keystore", ks_em, "--patient", pat,
					   "--escrow", urls[E1], "--escrow", urls[E2], "--out", out,
					   NULL),
			     0);
	assert_int_not_equal(access(out, F_OK), 0);

	/* the patient sees E1's release log and the expired session */
	assert_int_equal(phr_emergency("status", "status", "--keystore", ks_pat, "--patient", pat,
				       "--provider", em, "--escrow", urls[E1], NULL),
			 0);
	{
		char sp[700];
		json_t *j, *rel, *e;
		size_t i, yes = 0, no = 0;
		snprintf(sp, sizeof(sp), "%s/cli-status.out", dir);
		j = json_load_file(sp, 0, NULL);
		assert_non_null(j);
		assert_false(json_is_true(json_object_get(json_object_get(j, "session"), "active")));
		rel = json_object_get(json_object_get(json_array_get(json_object_get(j, "escrow"), 0), "kept"),
				      "releases");
		assert_true(json_is_array(rel));
		json_array_foreach(rel, i, e)
			json_is_true(json_object_get(e, "released")) ? yes++ : no++;
		assert_int_equal(yes, 3); /* read-2of3, read-1of3 (E1 alone answered) and read-again */
		assert_true(no >= 4);     /* provider, early, closed, expired */
		json_decref(j);
	}

	/* on chain: Share by the patient, Emergency (the opening) and View by the provider,
	 * all with purpose Emergency (4) */
	snprintf(path, sizeof(path), "%s/api/v1/patients/%s/audit", urls[P], pat);
	assert_int_equal(http_do(&r, "GET", path, tok_pat_p, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 200);
	{
		json_t *items = json_object_get(r.json, "items");
		assert_int_equal(count_audit(items, "Share", 4, pat), 1);
		assert_int_equal(count_audit(items, "Emergency", 4, em), 2);
		assert_int_equal(count_audit(items, "Revoke", 4, em), 1); /* the close */
		assert_int_equal(count_audit(items, "View", 4, em), 2);
	}
	http_res_release(&r);
	/* P hosts the patient: the opening is in its notification list */
	snprintf(path, sizeof(path), "%s/api/v1/patients/%s/notifications", urls[P], pat);
	for (int k = 0; k < 30; k++) {
		assert_int_equal(http_do(&r, "GET", path, tok_pat_p, NULL, NULL, 0, NULL), 0);
		assert_int_equal(r.status, 200);
		if (json_integer_value(json_object_get(r.json, "count")) >= 1)
			break;
		http_res_release(&r);
		usleep(200 * 1000);
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "kind")),
			    "emergency");
	http_res_release(&r);
	/* someone else may not read them */
	assert_int_equal(http_do(&r, "GET", path, tok_em, NULL, NULL, 0, NULL), 0);
	assert_int_equal(r.status, 403);
	http_res_release(&r);

	/* the patient's receiver was down all along; it comes up and gets the
	 * holders' notifications, signed with its secret */
	assert_int_equal(hook_start(&hs, hook_port), 0);
	assert_int_equal(phr_hex_decode(sec, sizeof(sec), &sl, secret_hex, strlen(secret_hex)), PHR_OK);
	{
		bool released = false, opened = false;
		for (int k = 0; k < 150 && !(released && opened); k++) {
			usleep(100 * 1000);
			pthread_mutex_lock(&hs.mu);
			for (size_t i = 0; i < hs.n; i++) {
				json_t *j = json_loads(hs.msgs[i].body, 0, NULL);
				const char *ev = json_string_value(json_object_get(json_object_get(j, "payload"), "event"));
				assert_int_equal(phr_notify_verify(hs.msgs[i].sig, sec, sl,
								   strtoull(hs.msgs[i].ts, NULL, 10),
								   (uint64_t)time(NULL), 300,
								   (const uint8_t *)hs.msgs[i].body,
								   hs.msgs[i].len),
						 PHR_OK);
				assert_string_equal(json_string_value(json_object_get(j, "kind")), "emergency");
				released |= ev != NULL && strcmp(ev, "escrow_share_released") == 0;
				opened |= ev != NULL && strcmp(ev, "break_glass_opened") == 0;
				json_decref(j);
			}
			pthread_mutex_unlock(&hs.mu);
		}
		assert_true(released);
		assert_true(opened);
	}
	hook_stop(&hs);
	hook_clear(&hs);
}

/*
 * Owner != patient id, end to end (after test_breakglass: P, E1, E2 up). Two
 * guardians rotate the patient's owner to a fresh key (Recovery, relayed from
 * their keystores); the holders still keep the old owner's manifest, which the
 * provider's combine step now refuses (its signer is not ownerOfPatient); the
 * old key can no longer deposit; the new owner escrows a new summary for the
 * patient id, and a provider that broke the glass reads it.
 */
static void test_owner_rotated(void **state)
{
	char ks_pat[700], ks_em[700], ks_g1[700], ks_g2[700], ks_new[700], out[700], s2[700];
	char pat[64], em[64], g1[64], g2[64], newo[PHR_ETH_ADDRESS_STR_LEN], tok[PHR_API_TOKEN_LEN];
	char nd[650], pd[650];
	const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	struct phr_buf sb;
	uint8_t sk[32], a[20];
	char *ks = NULL;

	(void)state;
	assert_int_equal(phr_crypto_init(), PHR_OK);
	snprintf(nd, sizeof(nd), "%s/n", dir);
	snprintf(pd, sizeof(pd), "%s/p", dir);
	keystore(ks_pat, sizeof(ks_pat), "n", "patient");
	keystore(ks_em, sizeof(ks_em), "p", "emergency");
	keystore(ks_g1, sizeof(ks_g1), "p", "clinic");
	keystore(ks_g2, sizeof(ks_g2), "p", "auditor");
	assert_int_equal(node_test_token(tok, sizeof(tok), pat, nd, "patient"), 0);
	assert_int_equal(node_test_token(tok, sizeof(tok), em, pd, "emergency"), 0);
	assert_int_equal(node_test_token(tok, sizeof(tok), g1, pd, "clinic"), 0);
	assert_int_equal(node_test_token(tok, sizeof(tok), g2, pd, "auditor"), 0);
	/* the new owner: a fresh account (dev mnemonic index 8) in its own keystore */
	assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 8), PHR_OK);
	assert_int_equal(phr_eth_address_from_seckey(a, sk), PHR_OK);
	assert_int_equal(phr_keystore_encrypt(&ks, sk, "dev", 3, &light), PHR_OK);
	sodium_memzero(sk, sizeof(sk));
	phr_eth_address_checksum(newo, a);
	snprintf(ks_new, sizeof(ks_new), "%s/new-owner.json", dir);
	assert_int_equal(phr_file_write_atomic(ks_new, ks, strlen(ks), 0600), PHR_OK);
	phr_free(ks);
	/* another summary for the new owner's escrow */
	snprintf(s2, sizeof(s2), "%s/summary2.json", dir);
	phr_buf_init(&sb, 0);
	assert_int_equal(phr_file_read(&sb, summary, 1 << 20), PHR_OK);
	assert_non_null(memmem(sb.data, sb.len, "\"Alex\"", 6));
	memcpy(memmem(sb.data, sb.len, "\"Alex\"", 6), "\"Alix\"", 6);
	assert_int_equal(phr_file_write_atomic(s2, sb.data, sb.len, 0600), PHR_OK);
	phr_buf_release(&sb);

	/* guardians 2 of 2 rotate the owner after the time lock */
	assert_int_equal(phr_recovery("guardians", "guardians", "--node", urls[P], "--keystore", ks_pat,
				      "--threshold", "2", g1, g2, NULL),
			 0);
	assert_int_equal(phr_recovery("approve-1", "approve", "--node", urls[P], "--keystore", ks_g1,
				      pat, newo, NULL),
			 0);
	assert_int_equal(phr_recovery("approve-2", "approve", "--node", urls[P], "--keystore", ks_g2,
				      pat, newo, NULL),
			 0);
	advance(2u * 86400u + 60u);
	assert_int_equal(phr_recovery("execute", "execute", "--node", urls[P], "--keystore", ks_em, pat,
				      NULL),
			 0);
	/* P hosts the patient id: its chain scan turns the relayed votes and the
	 * execution (signed in keystores, not by P) into notifications, once each */
	{
		char path[400], tok_p[PHR_API_TOKEN_LEN];
		struct http_res r;
		size_t approved = 0, ready = 0, executed = 0;
		assert_int_equal(node_test_token(tok_p, sizeof(tok_p), NULL, pd, "patient"), 0);
		snprintf(path, sizeof(path), "%s/api/v1/patients/%s/notifications", urls[P], pat);
		for (int k = 0; k < 50 && (approved < 2 || executed < 1); k++) {
			json_t *e;
			size_t i;
			usleep(200 * 1000);
			assert_int_equal(http_do(&r, "GET", path, tok_p, NULL, NULL, 0, NULL), 0);
			assert_int_equal(r.status, 200);
			approved = ready = executed = 0;
			json_array_foreach(json_object_get(r.json, "items"), i, e) {
				json_t *pl = json_object_get(e, "payload");
				const char *ev = json_string_value(json_object_get(pl, "event"));
				if (strcmp(json_string_value(json_object_get(e, "kind")), "recovery") != 0 || ev == NULL)
					continue;
				approved += strcmp(ev, "approved") == 0;
				ready += strcmp(ev, "approved") == 0 && json_object_get(pl, "readyAt") != NULL;
				executed += strcmp(ev, "executed") == 0 &&
					    strcasecmp(json_string_value(json_object_get(pl, "newOwner")), newo) == 0;
			}
			http_res_release(&r);
		}
		assert_int_equal(approved, 2);
		assert_int_equal(ready, 1); /* the second vote scheduled the rotation */
		assert_int_equal(executed, 1);
	}

	/* break-glass; the holders answer with the old owner's manifest: refused */
	assert_int_equal(phr_emergency("open-rot", "open", "--keystore", ks_em, "--patient", pat,
				       "--reason-code", "1", "--reason", "collapsed", NULL),
			 0);
	snprintf(out, sizeof(out), "%s/summary-oldowner.json", dir);
	assert_int_not_equal(phr_emergency("read-oldowner", "read", "--keystore", ks_em, "--patient", pat,
					   "--escrow", urls[E1], "--escrow", urls[E2], "--out", out,
					   NULL),
			     0);
	assert_int_not_equal(access(out, F_OK), 0);
	/* the old key no longer deposits */
	assert_int_not_equal(phr_emergency("setup-oldowner", "setup", "--keystore", ks_pat, "--summary",
					   s2, "--escrow", urls[E1], "--escrow", urls[E2], "--threshold",
					   "2", NULL),
			     0);
	/* the new owner escrows for the patient id; the provider reads it */
	assert_int_equal(phr_emergency("setup-newowner", "setup", "--keystore", ks_new, "--patient", pat,
				       "--summary", s2, "--escrow", urls[E1], "--escrow", urls[E2],
				       "--threshold", "2", NULL),
			 0);
	snprintf(out, sizeof(out), "%s/summary-newowner.json", dir);
	assert_int_equal(phr_emergency("read-newowner", "read", "--keystore", ks_em, "--patient", pat,
				       "--escrow", urls[E1], "--out", out, NULL),
			 0);
	assert_true(same_file(out, s2));
	assert_false(same_file(out, summary));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breakglass),
		cmocka_unit_test(test_owner_rotated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
