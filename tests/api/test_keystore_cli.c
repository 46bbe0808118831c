/*
 * Keys stay in the caller's keystore: a `phr node --dev` that hosts neither
 * the patient nor the provider (dev accounts 8 and 9, keystores only on the
 * "client" side), and both flows through the CLI with --keystore: register,
 * login (token saved per node URL), grant, submit, get, request, approve,
 * deny, revoke, an Admin grant that needs the patient's TOTP at the relay.
 * The relay (POST /api/v1/tx) refuses transactions of another signer, of
 * another chain, to a contract outside the deployment and malformed ones
 * with problem+json 4xx. Afterwards the node's data directory (chain
 * database, store, auth.db, node.key) and its logs hold neither secret key
 * (raw or hex, account or X25519) nor the TOTP secret. A second node on the
 * same chain (--chain-rpc, hosting nobody) relays a keystore user's transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "../node/node_test_util.h"
#include "phr/api.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/tx.h"

struct user {
	const char *name;
	uint32_t index;
	uint8_t sk[32], box_sk[32], addr[20];
	char addr_s[PHR_ETH_ADDRESS_STR_LEN], ks[700];
};

static char *dir, url[128], nodedir[700];
static pid_t node;
static struct user pat = { "pat", 8, { 0 }, { 0 }, { 0 }, "", "" };
static struct user prov = { "prov", 9, { 0 }, { 0 }, { 0 }, "", "" };
static char out[1 << 16];

/* Runs `phr ARGS` as user @p u (its own PHR_DATADIR); output in out. @return the exit status. */
static int phr(const struct user *u, const char *fmt, ...)
{
	char args[2048], cmd[3200];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* --node URL of this test's node unless the arguments name another */
	snprintf(cmd, sizeof(cmd), "PHR_DATADIR='%s/cli-%s' PHR_PASSWORD=dev '%s' %s %s %s 2>&1", dir,
		 u->name, getenv("PHR_BIN"), args, strstr(args, "--node ") ? "" : "--node",
		 strstr(args, "--node ") ? "" : url);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(int want, const struct user *u, const char *args)
{
	int got = phr(u, "%s", args);

	if (got != want)
		fail_msg("phr %s (as %s): exit %d, want %d:\n%s", args, u->name, got, want, out);
}

static void make_user(struct user *u)
{
	const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	uint8_t box_pk[32];
	char *json = NULL;
	FILE *f;

	assert_int_equal(phr_bip32_eth_key(u->sk, NODE_TEST_MNEMONIC, u->index), PHR_OK);
	assert_int_equal(phr_eth_address_from_seckey(u->addr, u->sk), PHR_OK);
	assert_int_equal(phr_identity_box_keys(box_pk, u->box_sk, u->sk), PHR_OK);
	phr_eth_address_checksum(u->addr_s, u->addr);
	assert_int_equal(phr_keystore_encrypt(&json, u->sk, "dev", 3, &light), PHR_OK);
	snprintf(u->ks, sizeof(u->ks), "%s/%s.json", dir, u->name);
	f = fopen(u->ks, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	free(json);
}

static int setup(void **state)
{
	char o[800], e[800];

	(void)state;
	if (getenv("PHR_BIN") == NULL || phr_crypto_init() != PHR_OK ||
	    (dir = node_test_tmpdir("keystore")) == NULL)
		return -1;
	snprintf(nodedir, sizeof(nodedir), "%s/node", dir);
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", nodedir, "--listen",
			       "127.0.0.1:0", "--dev", NULL };
	/* the node's own logs go into its data directory, which the test scans */
	if (mkdir(nodedir, 0700) != 0)
		return -1;
	snprintf(o, sizeof(o), "%s/stdout.log", nodedir);
	snprintf(e, sizeof(e), "%s/stderr.log", nodedir);
	setenv("PHR_LOG_LEVEL", "debug", 1);
	node = node_test_spawn(argv, o, e, "listening on ", url, sizeof(url));
	unsetenv("PHR_LOG_LEVEL");
	return node > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	node_test_stop(node);
	if (getenv("PHR_KEEP_TMP") == NULL)
		node_test_rmrf(dir);
	free(dir);
	sodium_memzero(pat.sk, sizeof(pat.sk));
	sodium_memzero(prov.sk, sizeof(prov.sk));
	return 0;
}

/* A JSON request to the node; the parsed answer in *j (may be NULL). @return the status. */
static long api(json_t **j, const char *method, const char *path, const char *token,
		const char *body, const char *extra)
{
	struct phr_buf resp;
	long status = 0;

	phr_buf_init(&resp, 1 << 20);
	assert_int_equal(phr_api_client_call(&status, &resp, url, method, path, token,
					     body ? "application/json" : NULL, body,
					     body ? strlen(body) : 0, extra),
			 PHR_OK);
	if (j != NULL) {
		*j = NULL;
		if (resp.len > 0)
			assert_int_equal(phr_json_parse(j, NULL, 0, (const char *)resp.data, resp.len), PHR_OK);
	}
	phr_buf_release(&resp);
	return status;
}

/* The token `phr login` saved for this node in the user's tokens.json. */
static void saved_token(const struct user *u, char tok[PHR_API_TOKEN_LEN])
{
	char path[800];
	json_t *t;
	struct stat st;

	snprintf(path, sizeof(path), "%s/cli-%s/tokens.json", dir, u->name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	t = json_load_file(path, 0, NULL);
	assert_non_null(t);
	assert_non_null(json_object_get(t, url));
	assert_string_equal(json_string_value(json_object_get(json_object_get(t, url), "address")),
			    u->addr_s);
	snprintf(tok, PHR_API_TOKEN_LEN, "%s",
		 json_string_value(json_object_get(json_object_get(t, url), "token")));
	assert_int_equal(strlen(tok), PHR_API_TOKEN_LEN - 1);
	json_decref(t);
}

static bool is_problem(json_t *j, long status, long want)
{
	return status == want && j != NULL &&
	       json_integer_value(json_object_get(j, "status")) == want &&
	       json_is_string(json_object_get(j, "detail"));
}

/* The id field of the CLI's JSON answer in out. */
static void out_id(char id[32])
{
	json_t *j = NULL;

	if (phr_json_parse(&j, NULL, 0, out, strlen(out)) != PHR_OK || !json_is_string(json_object_get(j, "id")))
		fail_msg("no id in: %s", out);
	snprintf(id, 32, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
}

/* A signed legacy transaction (no chain access: the relay checks come first). */
static void signed_tx(char *hex, size_t cap, const uint8_t sk[32], uint64_t chain_id,
		      const uint8_t to[20], const uint8_t *data, size_t n)
{
	struct phr_tx tx;
	struct phr_buf raw;

	phr_tx_init(&tx);
	phr_buf_init(&raw, 0);
	tx.has_chain_id = true;
	tx.chain_id = chain_id;
	tx.gas_limit = 100000;
	tx.gas_price.w[0] = 1000000000;
	tx.has_to = true;
	memcpy(tx.to, to, 20);
	assert_int_equal(phr_tx_set_data(&tx, data, n), PHR_OK);
	assert_int_equal(phr_tx_sign(&tx, sk), PHR_OK);
	assert_int_equal(phr_tx_encode(&raw, &tx), PHR_OK);
	assert_int_equal(phr_hex_encode(hex, cap, raw.data, raw.len, true), PHR_OK);
	phr_tx_release(&tx);
	phr_buf_release(&raw);
}

/* Signs a call with @p sk (nonce 0) and posts it to the relay. @return the status. */
static long relay_tx(json_t **j, const char *token, const uint8_t sk[32], uint64_t chain_id,
		     const uint8_t to[20], const uint8_t *data, size_t n)
{
	static char body[4096], hex[2048];

	signed_tx(hex, sizeof(hex), sk, chain_id, to, data, n);
	snprintf(body, sizeof(body), "{\"raw\":\"%s\"}", hex);
	return api(j, "POST", "/api/v1/tx", token, body, NULL);
}

/* The node's deployment, from /api/v1/info. */
static void node_deployment(struct phr_deployment *d)
{
	json_t *info = NULL;

	assert_int_equal(api(&info, "GET", "/api/v1/info", NULL, NULL, NULL), 200);
	assert_int_equal(phr_deployment_from_json(d, json_object_get(info, "deployment")), PHR_OK);
	json_decref(info);
}

static void relay_refusals(const char *tok_pat, const char *tok_prov)
{
	static char body[4096], hex[2048];
	struct phr_deployment d;
	json_t *j = NULL;
	const uint8_t data[4] = { 0xec, 0x41, 0x7a, 0x90 };
	uint8_t elsewhere[20];
	long st;

	node_deployment(&d);
	/* signed by the patient, sent with the provider's token */
	st = relay_tx(&j, tok_prov, pat.sk, d.chain_id, d.registry, data, sizeof(data));
	assert_true(is_problem(j, st, 403));
	json_decref(j);
	/* no token */
	st = relay_tx(&j, NULL, pat.sk, d.chain_id, d.registry, data, sizeof(data));
	assert_true(is_problem(j, st, 401));
	json_decref(j);
	/* another chain */
	st = relay_tx(&j, tok_pat, pat.sk, d.chain_id + 1, d.registry, data, sizeof(data));
	assert_true(is_problem(j, st, 400));
	json_decref(j);
	/* a contract outside the deployment */
	memset(elsewhere, 0x42, sizeof(elsewhere));
	st = relay_tx(&j, tok_pat, pat.sk, d.chain_id, elsewhere, data, sizeof(data));
	assert_true(is_problem(j, st, 403));
	json_decref(j);
	/* a bad signature: one byte of s flipped */
	signed_tx(hex, sizeof(hex), pat.sk, d.chain_id, d.registry, data, sizeof(data));
	hex[strlen(hex) - 3] = hex[strlen(hex) - 3] == '0' ? '1' : '0';
	snprintf(body, sizeof(body), "{\"raw\":\"%s\"}", hex);
	st = api(&j, "POST", "/api/v1/tx", tok_pat, body, NULL);
	if (!(is_problem(j, st, 400) || is_problem(j, st, 403)))
		fail_msg("tampered signature: %ld", st);
	json_decref(j);
	/* break-glass through the relay needs the caller's second factor (the provider has none) */
	{
		uint8_t em[4 + 3 * 32] = { 0x92, 0xdc, 0xa8, 0x6f };
		memcpy(em + 4 + 12, pat.addr, 20);
		em[4 + 63] = 1;
		st = relay_tx(&j, tok_prov, prov.sk, d.chain_id, d.emergency, em, sizeof(em));
		assert_true(is_problem(j, st, 403));
		assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "second factor"));
		json_decref(j);
	}
	/* malformed bodies */
	{
		static const char *const bad[] = { "{\"raw\":\"0xzz\"}", "{\"raw\":5}", "{\"raw\":\"0x\"}",
						   "{\"raw\":\"c0ffee\"}", "{\"raw\":\"0xc0\"}", "{}", "[1]",
						   "{\"raw\":" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			st = api(&j, "POST", "/api/v1/tx", tok_pat, bad[i], NULL);
			if (!is_problem(j, st, 400))
				fail_msg("relay body %s: %ld", bad[i], st);
			json_decref(j);
		}
	}
}

/* Base32 (RFC 4648, no padding) of the TOTP secret, as otpauth carries it. */
static void totp_enrol(const char *tok, uint8_t secret[64], size_t *sl, char b32[128])
{
	json_t *j = NULL;
	uint32_t code;
	char body[64];

	assert_int_equal(api(&j, "POST", "/api/v1/me/totp", tok, NULL, NULL), 201);
	snprintf(b32, 128, "%s", json_string_value(json_object_get(j, "secret")));
	assert_int_equal(phr_totp_secret_decode(secret, 64, sl, b32), PHR_OK);
	json_decref(j);
	/* the previous step's code (accepted): the current and the next step stay unused */
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, secret, *sl, (uint64_t)time(NULL) - 30, 30, 6), PHR_OK);
	snprintf(body, sizeof(body), "{\"code\":\"%06u\"}", (unsigned)code);
	assert_int_equal(api(&j, "POST", "/api/v1/me/totp/confirm", tok, body, NULL), 200);
	json_decref(j);
}

static void no_secret_in(const char *what, const uint8_t *needle, size_t n)
{
	size_t files = 0, hits = node_test_scan(nodedir, needle, n, &files);

	assert_true(files > 3);
	if (hits != 0)
		fail_msg("%s found in %zu file(s) of the node's directory", what, hits);
}

static void scan_secrets(const uint8_t *totp_secret, size_t sl, const char *b32)
{
	const struct user *us[] = { &pat, &prov };

	for (size_t i = 0; i < 2; i++) {
		char hx[PHR_HEX_LEN(32, false)];
		no_secret_in("an account key", us[i]->sk, 32);
		no_secret_in("an X25519 key", us[i]->box_sk, 32);
		assert_int_equal(phr_hex_encode(hx, sizeof(hx), us[i]->sk, 32, false), PHR_OK);
		no_secret_in("an account key (hex)", (const uint8_t *)hx, 64);
		assert_int_equal(phr_hex_encode(hx, sizeof(hx), us[i]->box_sk, 32, false), PHR_OK);
		no_secret_in("an X25519 key (hex)", (const uint8_t *)hx, 64);
	}
	no_secret_in("the TOTP secret", totp_secret, sl);
	no_secret_in("the TOTP secret (base32)", (const uint8_t *)b32, strlen(b32));
}

static void test_keystore_flows(void **state)
{
	char tok_pat[PHR_API_TOKEN_LEN], tok_prov[PHR_API_TOKEN_LEN], rec[32], req[32], req2[32],
		args[1600], b32[128];
	uint8_t totp_secret[64];
	size_t sl = 0;
	json_t *j = NULL;
	uint32_t code;

	(void)state;
	make_user(&pat);
	make_user(&prov);

	/* registration, signed here and relayed: no token yet, the CLI signs in by itself */
	snprintf(args, sizeof(args), "patient register --keystore '%s'", pat.ks);
	expect(0, &pat, args);
	assert_non_null(strstr(out, pat.addr_s));
	snprintf(args, sizeof(args), "patient register --keystore '%s'", prov.ks);
	expect(0, &prov, args);
	expect(1, &pat, "patient register --keystore /nonexistent.json");

	/* login saves a token per node URL */
	snprintf(args, sizeof(args), "login --keystore '%s'", pat.ks);
	expect(0, &pat, args);
	saved_token(&pat, tok_pat);
	snprintf(args, sizeof(args), "login --keystore '%s'", prov.ks);
	expect(0, &prov, args);
	saved_token(&prov, tok_prov);
	/* the node hosts neither */
	assert_int_equal(api(&j, "GET", "/api/v1/me", tok_pat, NULL, NULL), 200);
	assert_true(json_is_false(json_object_get(j, "hosted")));
	json_decref(j);
	assert_int_equal(api(&j, "GET", "/api/v1/me", tok_prov, NULL, NULL), 200);
	assert_true(json_is_false(json_object_get(j, "hosted")));
	json_decref(j);
	/* the saved token serves later commands on that node, not on another */
	expect(0, &pat, "patient me --json");
	assert_non_null(strstr(out, pat.addr_s));
	{
		char a2[200];
		snprintf(a2, sizeof(a2), "patient me --node http://127.0.0.1:1");
		expect(2, &pat, a2);
		assert_non_null(strstr(out, "not logged in to http://127.0.0.1:1"));
	}
	/* without its keys the node cannot act for them (server-side path refused) */
	expect(1, &pat, "patient register");
	assert_non_null(strstr(out, "does not hold the caller's keys"));

	/* the credentialing authority (a hosted dev identity) verifies the provider */
	{
		char path[800], body[128];
		json_t *t;
		snprintf(path, sizeof(path), "%s/dev/tokens.json", nodedir);
		t = json_load_file(path, 0, NULL);
		assert_non_null(t);
		snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", prov.addr_s);
		assert_int_equal(api(&j, "POST", "/api/v1/providers/verify",
				     json_string_value(json_object_get(json_object_get(t, "authority"), "token")),
				     body, NULL), 201);
		json_decref(j);
		json_decref(t);
	}

	relay_refusals(tok_pat, tok_prov);

	/* patient grants Write on lab results; the provider submits from its keystore */
	snprintf(args, sizeof(args),
		 "access grant --keystore '%s' --provider %s --level write --scope category:5 --duration 900",
		 pat.ks, prov.addr_s);
	expect(0, &pat, args);
	snprintf(args, sizeof(args),
		 "record submit --keystore '%s' --patient %s --type 5 --text 'LAB: NA-KEYSTORE-MARKER potassium 4.1'",
		 prov.ks, pat.addr_s);
	expect(0, &prov, args);
	out_id(rec);
	/* both read it with their own keys (View logged by each, decrypted here) */
	snprintf(args, sizeof(args), "record get %s --keystore '%s'", rec, pat.ks);
	expect(0, &pat, args);
	assert_string_equal(out, "LAB: NA-KEYSTORE-MARKER potassium 4.1");
	snprintf(args, sizeof(args), "record get %s --keystore '%s'", rec, prov.ks);
	expect(0, &prov, args);
	assert_string_equal(out, "LAB: NA-KEYSTORE-MARKER potassium 4.1");

	/* provider requests Read on everything; the patient approves; then revokes all */
	snprintf(args, sizeof(args),
		 "access request --keystore '%s' --patient %s --purpose 1 --duration 900 --scope all",
		 prov.ks, pat.addr_s);
	expect(0, &prov, args);
	out_id(req);
	expect(0, &pat, "access list --requests --json");
	assert_non_null(strstr(out, "Pending"));
	/* only the patient answers */
	snprintf(args, sizeof(args), "access approve %s --keystore '%s'", req, prov.ks);
	expect(1, &prov, args);
	snprintf(args, sizeof(args), "access approve %s --keystore '%s'", req, pat.ks);
	expect(0, &pat, args);
	assert_non_null(strstr(out, "Approved"));
	expect(0, &pat, "access list --json");
	assert_non_null(strstr(out, prov.addr_s));
	snprintf(args, sizeof(args), "access revoke --keystore '%s' --provider %s --scope all", pat.ks,
		 prov.addr_s);
	expect(0, &pat, args);
	snprintf(args, sizeof(args), "access revoke --keystore '%s' --provider %s --scope category:5",
		 pat.ks, prov.addr_s);
	expect(0, &pat, args);
	snprintf(args, sizeof(args), "record get %s --keystore '%s'", rec, prov.ks);
	expect(1, &prov, args);
	/* a second request, denied */
	snprintf(args, sizeof(args),
		 "access request --keystore '%s' --patient %s --purpose 5 --duration 600", prov.ks,
		 pat.addr_s);
	expect(0, &prov, args);
	out_id(req2);
	assert_string_not_equal(req, req2);
	snprintf(args, sizeof(args), "access deny %s --keystore '%s'", req2, pat.ks);
	expect(0, &pat, args);
	assert_non_null(strstr(out, "Denied"));

	/* an Admin grant needs the patient's second factor, also through the relay */
	snprintf(args, sizeof(args),
		 "access grant --keystore '%s' --provider %s --level admin --duration 600", pat.ks,
		 prov.addr_s);
	expect(1, &pat, args);
	assert_non_null(strstr(out, "second factor"));
	totp_enrol(tok_pat, totp_secret, &sl, b32);
	snprintf(args, sizeof(args),
		 "access grant --keystore '%s' --provider %s --level admin --duration 600 --totp 000000",
		 pat.ks, prov.addr_s);
	expect(1, &pat, args);
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, totp_secret, sl, (uint64_t)time(NULL), 30, 6),
			 PHR_OK);
	snprintf(args, sizeof(args),
		 "access grant --keystore '%s' --provider %s --level admin --duration 600 --totp %06u",
		 pat.ks, prov.addr_s, (unsigned)code);
	expect(0, &pat, args);
	/* approving a request for Admin access is an Admin grant too */
	snprintf(args, sizeof(args),
		 "access request --keystore '%s' --patient %s --purpose 3 --duration 600 --level admin",
		 prov.ks, pat.addr_s);
	expect(0, &prov, args);
	out_id(req);
	snprintf(args, sizeof(args), "access approve %s --keystore '%s'", req, pat.ks);
	expect(1, &pat, args);
	assert_non_null(strstr(out, "TOTP code is required"));
	assert_int_equal(phr_totp(&code, PHR_TOTP_SHA1, totp_secret, sl, (uint64_t)time(NULL) + 30, 30, 6),
			 PHR_OK);
	snprintf(args, sizeof(args), "access approve %s --keystore '%s' --totp %06u", req, pat.ks,
		 (unsigned)code);
	expect(0, &pat, args);
	/* trailing bytes after approveRequest's argument do not hide an Admin approval */
	snprintf(args, sizeof(args),
		 "access request --keystore '%s' --patient %s --purpose 3 --duration 600 --level admin",
		 prov.ks, pat.addr_s);
	expect(0, &prov, args);
	out_id(req);
	{
		struct phr_deployment d;
		struct phr_u256 rid;
		uint8_t ap[4 + 32 + 7] = { 0xd7, 0xd1, 0xbb, 0xdb };
		long st;
		assert_int_equal(phr_u256_parse(&rid, req), PHR_OK);
		phr_u256_to_be(ap + 4, &rid);
		memset(ap + 36, 0xee, 7);
		node_deployment(&d);
		st = relay_tx(&j, tok_pat, pat.sk, d.chain_id, d.registry, ap, sizeof(ap));
		assert_true(is_problem(j, st, 401));
		json_decref(j);
	}
	snprintf(args, sizeof(args), "access deny %s --keystore '%s'", req, pat.ks);
	expect(0, &pat, args);

	/* Recovery calls through the relay: the enrolled patient needs a code, the provider
	 * (no second factor) passes the gate and meets the chain (a stale nonce: 409) */
	{
		struct phr_deployment d;
		uint8_t rc[4 + 32] = { 0xe4, 0x63, 0x9f, 0x5e };
		long st;
		node_deployment(&d);
		st = relay_tx(&j, tok_pat, pat.sk, d.chain_id, d.recovery, rc, sizeof(rc));
		assert_true(is_problem(j, st, 401));
		assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "TOTP"));
		json_decref(j);
		st = relay_tx(&j, tok_prov, prov.sk, d.chain_id, d.recovery, rc, sizeof(rc));
		assert_true(is_problem(j, st, 409));
		json_decref(j);
	}

	/* a saved token past its expiry: plain commands ask for a new login, keystore
	 * commands sign in by themselves */
	{
		char path[800];
		json_t *t;
		snprintf(path, sizeof(path), "%s/cli-%s/tokens.json", dir, pat.name);
		t = json_load_file(path, 0, NULL);
		assert_non_null(t);
		assert_true(json_is_integer(json_object_get(json_object_get(t, url), "expires")));
		json_object_set_new(json_object_get(t, url), "expires", json_integer(1000));
		assert_int_equal(json_dump_file(t, path, 0), 0);
		json_decref(t);
		expect(2, &pat, "patient me");
		assert_non_null(strstr(out, "has expired"));
		snprintf(args, sizeof(args), "access revoke --keystore '%s' --provider %s --scope all", pat.ks,
			 prov.addr_s);
		expect(0, &pat, args);
		snprintf(args, sizeof(args), "login --keystore '%s'", pat.ks);
		expect(0, &pat, args);
	}

	/* the audit trail shows the steps, all signed by their actors */
	expect(0, &pat, "audit --json");
	assert_non_null(strstr(out, "\"action\":\"Create\""));
	assert_non_null(strstr(out, "\"action\":\"View\""));

	/* node.key is private; nothing secret anywhere in the node's directory or logs */
	{
		char path[800];
		struct stat st;
		snprintf(path, sizeof(path), "%s/node.key", nodedir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	scan_secrets(totp_secret, sl, b32);
	sodium_memzero(totp_secret, sizeof(totp_secret));
}

/* A second node on the first one's chain (--chain-rpc, no --dev: it hosts nobody and
 * serves no /rpc): a keystore user talks only to it; reads go to the chain named with
 * --chain-rpc, the signed transaction through this node's relay. */
static void test_external_chain_node(void **state)
{
	static struct user ext = { "ext", 7, { 0 }, { 0 }, { 0 }, "", "" };
	char bdir[800], dep[800], rpc[200], url_b[128], o[900], e[900], args[1600];
	pid_t b;
	FILE *f;
	size_t n;
	static char log[1 << 16];

	(void)state;
	make_user(&ext);
	snprintf(bdir, sizeof(bdir), "%s/nodeB", dir);
	snprintf(dep, sizeof(dep), "%s/deployment.json", nodedir);
	snprintf(rpc, sizeof(rpc), "%s/rpc", url);
	snprintf(o, sizeof(o), "%s/nodeB.out", dir);
	snprintf(e, sizeof(e), "%s/nodeB.log", dir);
	{
		const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", bdir, "--listen",
				       "127.0.0.1:0", "--chain-rpc", rpc, "--deployment", dep, NULL };
		b = node_test_spawn(argv, o, e, "listening on ", url_b, sizeof(url_b));
	}
	assert_true(b > 0);
	/* reads go through this node's /rpc, which forwards them to the chain it uses */
	snprintf(args, sizeof(args), "patient register --keystore '%s' --node %s", ext.ks, url_b);
	expect(0, &ext, args);
	assert_non_null(strstr(out, ext.addr_s));
	snprintf(args, sizeof(args), "login --keystore '%s' --node %s", ext.ks, url_b);
	expect(0, &ext, args);
	snprintf(args, sizeof(args), "patient me --json --node %s", url_b);
	expect(0, &ext, args);
	assert_non_null(strstr(out, "\"patient\""));
	assert_non_null(strstr(out, "\"hosted\":false"));
	node_test_stop(b);
	/* node B relayed the registration */
	f = fopen(e, "r");
	assert_non_null(f);
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	assert_non_null(strstr(log, "relayed 0x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keystore_flows),
		cmocka_unit_test(test_external_chain_node),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
