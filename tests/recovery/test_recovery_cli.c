/*
 * `phr recovery` and `phr backup` against a running `phr node --dev`, every
 * key in its own keystore: the patient names guardians and makes 2-of-3 key
 * shares for three registered holders; two guardians approve a new owner; the
 * execution is refused inside the time lock, then done after it; the new owner
 * registers its key, two holders release their shares to it, it re-wraps the
 * data keys on the node's directory and reads the old records with its own
 * keystore; it backs up, verifies (decrypting with its key) and restores into
 * a fresh directory; a flipped byte fails verify.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "node/node_test_util.h"
#include "phr/chain.h"
#include "phr/crypto.h"

static char *dir, url[128], keys[700], addr[8][64], newowner[64];
static pid_t node;

/* Runs `phr ARGS` through the shell; output in @p out. @return the exit status. */
static int phr(char *out, size_t cap, const char *fmt, ...)
{
	char args[4096], cmd[5000];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "PHR_DATADIR='%s/cli' PHR_PASSWORD=dev '%s' %s 2>&1", dir,
		 getenv("PHR_BIN"), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	if (getenv("PHR_TEST_VERBOSE") != NULL)
		fprintf(stderr, "$ phr %s\n%s\n", args, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void advance(uint64_t secs)
{
	struct phr_chain *c = NULL;
	struct phr_rpc_error err;
	json_t *res = NULL;
	char rpc[200];

	snprintf(rpc, sizeof(rpc), "%s/rpc", url);
	assert_int_equal(phr_chain_open_remote(&c, rpc), PHR_OK);
	memset(&err, 0, sizeof(err));
	assert_int_equal(phr_chain_request(c, &res, &err, "evm_increaseTime",
					   json_pack("[I]", (json_int_t)secs)), PHR_OK);
	json_decref(res);
	res = NULL;
	assert_int_equal(phr_chain_request(c, &res, &err, "evm_mine", json_array()), PHR_OK);
	json_decref(res);
	phr_chain_close(c);
}

static int setup(void **state)
{
	static const char *const names[] = { "operator", "authority", "provider", "patient",
					     "emergency", "auditor", "clinic" };
	char o[700], e[700], d[700], path[800];
	char *ks = NULL;
	uint8_t sk[32], a[20];
	const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	json_t *t;
	FILE *f;

	(void)state;
	if (getenv("PHR_BIN") == NULL || phr_crypto_init() != PHR_OK ||
	    (dir = node_test_tmpdir("recovcli")) == NULL)
		return -1;
	snprintf(d, sizeof(d), "%s/node", dir);
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", d, "--listen", "127.0.0.1:0",
			       "--dev", NULL };
	snprintf(o, sizeof(o), "%s/node.out", dir);
	snprintf(e, sizeof(e), "%s/node.log", dir);
	node = node_test_spawn(argv, o, e, "listening on ", url, sizeof(url));
	if (node <= 0)
		return -1;
	snprintf(keys, sizeof(keys), "%s/node/dev/keys", dir);
	snprintf(path, sizeof(path), "%s/node/dev/tokens.json", dir);
	t = json_load_file(path, 0, NULL);
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < 7; i++)
		snprintf(addr[i], sizeof(addr[i]), "%s",
			 json_string_value(json_object_get(json_object_get(t, names[i]), "address")));
	json_decref(t);
	/* the new owner: a fresh account (dev mnemonic index 8) in its own keystore */
	if (phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 8) != PHR_OK ||
	    phr_eth_address_from_seckey(a, sk) != PHR_OK ||
	    phr_keystore_encrypt(&ks, sk, "dev", 3, &light) != PHR_OK)
		return -1;
	sodium_memzero(sk, sizeof(sk));
	phr_eth_address_checksum(newowner, a);
	snprintf(path, sizeof(path), "%s/new.json", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(ks, f);
	fclose(f);
	phr_free(ks);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_test_stop(node);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(dir);
	free(dir);
	return 0;
}

/* curl METHOD URL PATH with a bearer token and an optional JSON body file; returns the HTTP status. */
static int http(char *out, size_t cap, const char *method, const char *path, const char *token,
		const char *body_file)
{
	char cmd[3000];
	FILE *p;
	size_t n;
	int code = 0;

	snprintf(cmd, sizeof(cmd),
		 "curl -s -o '%s/http.out' -w '%%{http_code}' -X %s -H 'Authorization: Bearer %s' "
		 "-H 'Content-Type: application/json' %s%s%s '%s%s'",
		 dir, method, token, body_file ? "--data-binary @'" : "", body_file ? body_file : "",
		 body_file ? "'" : "", url, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &code), 1);
	pclose(p);
	snprintf(cmd, sizeof(cmd), "%s/http.out", dir);
	p = fopen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	fclose(p);
	return code;
}

/* The token saved by `phr login` for this node. */
static void saved_token(char *tok, size_t cap)
{
	char path[800];
	json_t *t;

	snprintf(path, sizeof(path), "%s/cli/tokens.json", dir);
	t = json_load_file(path, 0, NULL);
	assert_non_null(t);
	snprintf(tok, cap, "%s", json_string_value(json_object_get(json_object_get(t, url), "token")));
	json_decref(t);
	assert_true(strlen(tok) > 10);
}

#define PATIENT addr[3]

static void test_cli(void **state)
{
	static char out[1 << 16];
	char bundle[800];

	(void)state;
	/* guardians emergency, clinic, auditor (2 of 3); shares to provider, clinic, emergency */
	assert_int_equal(phr(out, sizeof(out), "recovery guardians --node %s --keystore %s/patient.json "
				  "--threshold 2 %s %s %s", url, keys, addr[4], addr[6], addr[5]), 0);
	assert_int_equal(phr(out, sizeof(out), "recovery shares make --node %s --keystore %s/patient.json "
				  "--threshold 2 --out-dir %s/shares %s %s %s", url, keys, dir, addr[2],
			     addr[6], addr[4]), 0);
	/* an unregistered holder (the auditor) is refused */
	assert_int_equal(phr(out, sizeof(out), "recovery shares make --node %s --keystore %s/patient.json "
				  "--threshold 2 --out-dir %s/x %s %s", url, keys, dir, addr[2], addr[5]), 1);
	/* not a guardian */
	assert_int_equal(phr(out, sizeof(out), "recovery approve --node %s --keystore %s/provider.json %s %s",
			     url, keys, PATIENT, newowner), 1);
	assert_non_null(strstr(out, "not allowed"));
	assert_int_equal(phr(out, sizeof(out), "recovery approve --node %s --keystore %s/emergency.json %s %s",
			     url, keys, PATIENT, newowner), 0);
	assert_int_equal(phr(out, sizeof(out), "recovery status --node %s %s %s", url, PATIENT, newowner), 0);
	assert_non_null(strstr(out, "\"votes\":1"));
	assert_non_null(strstr(out, "\"pending\":false"));
	assert_int_equal(phr(out, sizeof(out), "recovery approve --node %s --keystore %s/clinic.json %s %s",
			     url, keys, PATIENT, newowner), 0);
	assert_int_equal(phr(out, sizeof(out), "recovery status --node %s %s", url, PATIENT), 0);
	assert_non_null(strstr(out, "\"pending\":true"));
	/* a holder releases nothing before the rotation */
	assert_int_equal(phr(out, sizeof(out), "recovery shares release %s/shares/share-1.json --node %s "
				  "--keystore %s/provider.json --to %s --out %s/r1.json", dir, url, keys,
			     newowner, dir), 1);
	assert_int_equal(phr(out, sizeof(out), "recovery execute --node %s --keystore %s/auditor.json %s",
			     url, keys, PATIENT), 1);
	assert_non_null(strstr(out, "time-locked"));
	advance(2 * 86400 + 60);
	assert_int_equal(phr(out, sizeof(out), "recovery execute --node %s --keystore %s/auditor.json %s",
			     url, keys, PATIENT), 0);
	assert_int_equal(phr(out, sizeof(out), "recovery status --node %s %s", url, PATIENT), 0);
	assert_non_null(strstr(out, newowner));

	/* the new owner registers its key; two holders release; it re-wraps */
	assert_int_equal(phr(out, sizeof(out), "recovery update-key --node %s --keystore %s/new.json %s",
			     url, dir, PATIENT), 0);
	/* over the API: the recovery state, the backup job, a share released by a hosted holder */
	{
		char tok[200], path[300], body[900], sharefile[800];
		json_t *j;
		/* every keystore command above signed in (nonce + login), so the node's
		 * per-address limit on /api/v1/auth/ (burst 20, 5 per second) may answer
		 * 429 here: phr_api_client_login waits the Retry-After second and retries */
		assert_int_equal(phr(out, sizeof(out), "login --keystore %s/new.json --node %s", dir, url), 0);
		saved_token(tok, sizeof(tok));
		snprintf(path, sizeof(path), "/api/v1/recovery/%s", PATIENT);
		assert_int_equal(http(out, sizeof(out), "GET", path, tok, NULL), 200);
		assert_non_null(strstr(out, newowner));
		assert_int_equal(http(out, sizeof(out), "GET", "/api/v1/backups/status", tok, NULL), 200);
		assert_non_null(strstr(out, "\"failures\":0"));
		snprintf(sharefile, sizeof(sharefile), "%s/shares/share-2.json", dir);
		j = json_load_file(sharefile, 0, NULL);
		assert_non_null(j);
		snprintf(body, sizeof(body), "%s/release.json", dir);
		j = json_pack("{s:o}", "share", j);
		assert_int_equal(json_dump_file(j, body, 0), 0);
		json_decref(j);
		assert_int_equal(http(out, sizeof(out), "POST", "/api/v1/recovery/shares/release", tok, body),
				 200);
		assert_non_null(strstr(out, "\"share\""));
		assert_non_null(strstr(out, newowner)); /* sealed to the new owner's registered key */
		/* the old owner's signed-in token gets nothing */
		snprintf(path, sizeof(path), "%s/node/dev/tokens.json", dir);
		j = json_load_file(path, 0, NULL);
		assert_non_null(j);
		snprintf(tok, sizeof(tok), "%s",
			 json_string_value(json_object_get(json_object_get(j, "patient"), "token")));
		json_decref(j);
		assert_int_equal(http(out, sizeof(out), "POST", "/api/v1/recovery/shares/release", tok, body),
				 403);
	}
	assert_int_equal(phr(out, sizeof(out), "recovery shares release %s/shares/share-1.json --node %s "
				  "--keystore %s/clinic.json --to %s --out %s/r1.json", dir, url, keys,
			     newowner, dir), 1); /* not the clinic's share */
	assert_int_equal(phr(out, sizeof(out), "recovery shares release %s/shares/share-1.json --node %s "
				  "--keystore %s/provider.json --to %s --out %s/r1.json", dir, url, keys,
			     addr[5], dir), 1); /* not the owner */
	assert_int_equal(phr(out, sizeof(out), "recovery shares release %s/shares/share-1.json --node %s "
				  "--keystore %s/provider.json --to %s --out %s/r1.json", dir, url, keys,
			     newowner, dir), 0);
	assert_int_equal(phr(out, sizeof(out), "recovery shares release %s/shares/share-3.json --node %s "
				  "--keystore %s/emergency.json --to %s --out %s/r3.json", dir, url, keys,
			     newowner, dir), 0);
	/* before the re-wrap the new owner's keystore opens nothing */
	assert_int_not_equal(phr(out, sizeof(out), "record get 1 --node %s --keystore %s/new.json", url, dir), 0);
	assert_int_equal(phr(out, sizeof(out), "recovery rewrap --keystore %s/new.json --datadir %s/node "
				  "--chain-rpc %s/rpc %s/r1.json", dir, dir, url, dir), 1); /* one share */
	{
		int st = phr(out, sizeof(out), "recovery rewrap --keystore %s/new.json --datadir %s/node "
			     "--chain-rpc %s/rpc %s/r1.json %s/r3.json", dir, dir, url, dir, dir);
		if (st != 0 || strstr(out, "\"rewrapped\":3,\"failed\":0") == NULL)
			fprintf(stderr, "phr recovery rewrap (exit %d):\n%s\n", st, out); /* the reasons */
		assert_int_equal(st, 0);
		assert_non_null(strstr(out, "\"rewrapped\":3,\"failed\":0"));
	}
	assert_int_equal(phr(out, sizeof(out), "record get 1 --node %s --keystore %s/new.json", url, dir), 0);
	assert_non_null(strstr(out, "Immunization"));
	assert_int_equal(phr(out, sizeof(out), "record get 2 --node %s --keystore %s/new.json", url, dir), 0);
	assert_non_null(strstr(out, "Observation"));

	/* backup by the new owner, verify with its key, restore into a fresh directory */
	snprintf(bundle, sizeof(bundle), "%s/bundle.car", dir);
	assert_int_equal(phr(out, sizeof(out), "backup create --keystore %s/provider.json --datadir %s/node "
				  "--chain-rpc %s/rpc --patient %s --out %s", keys, dir, url, PATIENT, bundle), 1);
	assert_int_equal(phr(out, sizeof(out), "backup create --keystore %s/new.json --datadir %s/node "
				  "--chain-rpc %s/rpc --patient %s --out %s", dir, dir, url, PATIENT, bundle), 0);
	assert_non_null(strstr(out, "\"records\":3"));
	assert_int_equal(phr(out, sizeof(out), "backup verify %s --keystore %s/new.json", bundle, dir), 0);
	assert_non_null(strstr(out, "\"opened\":3"));
	{
		char cmd[4000];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s/fresh' && cp '%s/node/deployment.json' '%s/fresh/'",
			 dir, dir, dir);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s.bad' && printf '\\x41' | dd of='%s.bad' bs=1 seek=3000 conv=notrunc 2>/dev/null",
			 bundle, bundle, bundle);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(phr(out, sizeof(out), "backup restore %s --datadir %s/fresh --chain-rpc %s/rpc",
			     bundle, dir, url), 0);
	assert_non_null(strstr(out, "\"restored\":3"));
	assert_int_equal(phr(out, sizeof(out), "backup verify %s.bad", bundle), 1);
	assert_int_equal(phr(out, sizeof(out), "backup restore %s.bad --datadir %s/fresh --chain-rpc %s/rpc",
			     bundle, dir, url), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
