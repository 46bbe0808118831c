/*
 * TOTP secrets at rest: DIR/auth.db holds them sealed under DIR/node.key.
 * A secret an older version stored in clear is sealed when the API starts
 * (and still checks codes), no file of the data directory holds a secret in
 * clear afterwards (raw bytes, base32), a row moved to another address does
 * not open, and the node refuses a node.key that others may read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api_test_util.h"
#include "phr/crypto.h"

static struct api_fx fx;

static int setup(void **state)
{
	(void)state;
	return api_fx_start(&fx, false);
}

static int teardown(void **state)
{
	(void)state;
	api_fx_stop(&fx);
	return 0;
}

/* Restarts the API on the same data directory (as api_fx_start configures it). */
static int restart(void)
{
	struct phr_api_config acfg = { 0 };
	const struct phr_identity *aud = phr_node_identity_by_name(fx.node, "auditor");

	phr_api_stop(fx.api);
	fx.api = NULL;
	acfg.host = "127.0.0.1";
	acfg.node = fx.node;
	acfg.chain_node = fx.s.cn;
	acfg.store = fx.s.store;
	acfg.datadir = fx.s.dir;
	acfg.threads = 2;
	acfg.auditors = (const uint8_t(*)[20])aud->address;
	acfg.n_auditors = 1;
	if (phr_api_start(&fx.api, &acfg) != PHR_OK)
		return -1;
	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%u", (unsigned)phr_api_port(fx.api));
	return 0;
}

static void sql(const char *stmt, const uint8_t *blob1, size_t n1, const uint8_t *blob2, size_t n2)
{
	char path[600];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(path, sizeof(path), "%s/auth.db", fx.s.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, stmt, -1, &st, NULL), SQLITE_OK);
	if (blob1 != NULL)
		sqlite3_bind_blob(st, 1, blob1, (int)n1, SQLITE_TRANSIENT);
	if (blob2 != NULL)
		sqlite3_bind_blob(st, 2, blob2, (int)n2, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static long admin_grant(const char *token, const char *code)
{
	struct http_res r;
	char url[256], body[256], hdr[64];
	char clinic[PHR_ETH_ADDRESS_STR_LEN];
	long st;

	phr_eth_address_checksum(clinic, phr_node_identity_by_name(fx.node, "clinic")->address);
	snprintf(url, sizeof(url), "%s/api/v1/access/grants", fx.base);
	snprintf(body, sizeof(body), "{\"provider\":\"%s\",\"level\":\"admin\",\"duration\":600}", clinic);
	snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %s", code);
	assert_int_equal(http_do(&r, "POST", url, token, "application/json", body, strlen(body), hdr), 0);
	st = r.status;
	if (st >= 400)
		assert_true(http_is_problem(&r, st));
	http_res_release(&r);
	return st;
}

static void code_at(char out[8], const uint8_t *secret, size_t n, int64_t offset)
{
	uint32_t v;

	assert_int_equal(phr_totp(&v, PHR_TOTP_SHA1, secret, n, (uint64_t)(time(NULL) + offset), 30, 6),
			 PHR_OK);
	snprintf(out, 8, "%06u", (unsigned)v);
}

/* A code that is none of the three accepted ones. */
static const char *code_is_wrong(const uint8_t *secret, size_t n)
{
	static char c[8];
	char a[8], b[8], d[8];

	code_at(a, secret, n, -30);
	code_at(b, secret, n, 0);
	code_at(d, secret, n, 30);
	for (unsigned v = 0;; v++) {
		snprintf(c, sizeof(c), "%06u", v);
		if (strcmp(c, a) != 0 && strcmp(c, b) != 0 && strcmp(c, d) != 0)
			return c;
	}
}

static void test_sealed_at_rest(void **state)
{
	const struct phr_identity *pat = phr_node_identity_by_name(fx.node, "patient");
	const struct phr_identity *prov = phr_node_identity_by_name(fx.node, "provider");
	uint8_t secret[20];
	char tok[PHR_API_TOKEN_LEN], b32[64], code[8], path[600];
	size_t files = 0;

	(void)state;
	/* an older node's row: the secret in clear, confirmed */
	randombytes_buf(secret, sizeof(secret));
	assert_int_equal(phr_totp_secret_encode(b32, sizeof(b32), secret, sizeof(secret)), PHR_OK);
	sql("INSERT OR REPLACE INTO totp(address, secret, confirmed, last_step) VALUES(?,?,1,0)",
	    pat->address, 20, secret, sizeof(secret));
	assert_true(node_test_scan(fx.s.dir, secret, sizeof(secret), &files) >= 1);
	/* the restart seals it; nothing in the directory holds it in clear any more */
	assert_int_equal(restart(), 0);
	files = 0;
	assert_int_equal(node_test_scan(fx.s.dir, secret, sizeof(secret), &files), 0);
	assert_true(files > 3);
	assert_int_equal(node_test_scan(fx.s.dir, (const uint8_t *)b32, strlen(b32), &files), 0);
	/* and it still checks codes: wrong code refused, right one accepted */
	assert_int_equal(phr_api_token_issue(fx.api, tok, pat->address, 600), PHR_OK);
	assert_int_equal(admin_grant(tok, code_is_wrong(secret, sizeof(secret))), 401);
	code_at(code, secret, sizeof(secret), 0);
	assert_int_equal(admin_grant(tok, code), 201);

	/* a sealed row moved to another address does not open (the address is bound in) */
	sql("INSERT OR REPLACE INTO totp(address, secret, confirmed, last_step) "
	    "SELECT ?, secret, 1, 0 FROM totp WHERE address = ?",
	    prov->address, 20, pat->address, 20);
	assert_int_equal(phr_api_token_issue(fx.api, tok, prov->address, 600), PHR_OK);
	code_at(code, secret, sizeof(secret), 30);
	{
		struct http_res r;
		char url[256], body[64];
		snprintf(url, sizeof(url), "%s/api/v1/me/totp/confirm", fx.base);
		snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
		assert_int_equal(http_do(&r, "POST", url, tok, "application/json", body, strlen(body), NULL), 0);
		/* not the caller's input at fault: the store is; no code is accepted */
		assert_true(http_is_problem(&r, 500));
		http_res_release(&r);
	}

	/* node.key readable by others: the API refuses to start; 0600 again: it starts */
	snprintf(path, sizeof(path), "%s/node.key", fx.s.dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_not_equal(restart(), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(restart(), 0);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b32, sizeof(b32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_at_rest),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
