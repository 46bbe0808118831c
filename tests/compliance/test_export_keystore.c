/*
 * `phr export --keystore`: a patient whose key only her keystore holds (dev
 * account 8, not hosted by the `phr node --dev` under test) registers, grants
 * the node's hosted provider Write, who writes a lab result and a raw file;
 * the export logs each View with her key, decrypts in the CLI and writes
 * the Bundle (it validates, holds both records' exact content), the NDJSON
 * and the access log (her Views, purpose PatientRequest); no CAR (the node
 * cannot sign her manifest); the node's data directory and logs hold no
 * plaintext.
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

#include <jansson.h>
#include <sodium.h>

#include "node/node_test_util.h"
#include "phr/api.h"
#include "phr/crypto.h"
#include "phr/fhir_validate.h"

#define MARKER "EXPORT-KEYSTORE-MARKER"

static char *dir, url[128], nodedir[700], ks[800], addr_s[64];
static pid_t node;

static int setup(void **state)
{
	const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	char o[800], e[800], *json = NULL;
	uint8_t sk[32], addr[20];
	FILE *f;

	(void)state;
	if (getenv("PHR_BIN") == NULL || phr_crypto_init() != PHR_OK ||
	    (dir = node_test_tmpdir("exportks")) == NULL)
		return -1;
	snprintf(nodedir, sizeof(nodedir), "%s/node", dir);
	if (mkdir(nodedir, 0700) != 0)
		return -1;
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", nodedir, "--listen",
			       "127.0.0.1:0", "--dev", "--no-seed", NULL };
	snprintf(o, sizeof(o), "%s/stdout.log", nodedir);
	snprintf(e, sizeof(e), "%s/stderr.log", nodedir);
	node = node_test_spawn(argv, o, e, "listening on ", url, sizeof(url));
	if (node <= 0)
		return -1;
	if (phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 8) != PHR_OK ||
	    phr_eth_address_from_seckey(addr, sk) != PHR_OK ||
	    phr_keystore_encrypt(&json, sk, "dev", 3, &light) != PHR_OK)
		return -1;
	sodium_memzero(sk, sizeof(sk));
	phr_eth_address_checksum(addr_s, addr);
	snprintf(ks, sizeof(ks), "%s/pat.json", dir);
	if ((f = fopen(ks, "w")) == NULL)
		return -1;
	fputs(json, f);
	fclose(f);
	free(json);
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

/* `phr ARGS --node URL` as the keystore patient; @return the exit status. */
static int phr(const char *fmt, ...)
{
	char args[1600], cmd[2600];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "PHR_DATADIR='%s/cli' PHR_PASSWORD=dev '%s' %s --node %s > '%s/cli.out' 2>&1",
		 dir, getenv("PHR_BIN"), args, url, dir);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void submit(const char *tok, const char *body)
{
	struct phr_buf resp;
	long status = 0;

	phr_buf_init(&resp, 1 << 20);
	assert_int_equal(phr_api_client_call(&status, &resp, url, "POST", "/api/v1/records", tok,
					     "application/json", body, strlen(body), NULL),
			 PHR_OK);
	if (status != 201)
		fail_msg("submit: %ld %.*s", status, (int)resp.len, (char *)resp.data);
	phr_buf_release(&resp);
}

static void test_export_keystore(void **state)
{
	char p[900], body[400], prov_tok[PHR_API_TOKEN_LEN], prov[64];
	json_t *b, *issues = NULL, *e, *log;
	size_t i, views = 0, found = 0;

	(void)state;
	assert_int_equal(phr("patient register --keystore '%s'", ks), 0);
	assert_int_equal(node_test_token(prov_tok, sizeof(prov_tok), prov, nodedir, "provider"), 0);
	assert_int_equal(phr("access grant --keystore '%s' --provider %s --level write --scope all "
			     "--duration 900",
			     ks, prov),
			 0);
	snprintf(body, sizeof(body),
		 "{\"patient\":\"%s\",\"type\":5,\"text\":\"{\\\"resourceType\\\":\\\"Observation\\\","
		 "\\\"status\\\":\\\"final\\\",\\\"code\\\":{\\\"text\\\":\\\"" MARKER "\\\"}}\"}",
		 addr_s);
	submit(prov_tok, body);
	snprintf(body, sizeof(body), "{\"patient\":\"%s\",\"type\":0,\"text\":\"note " MARKER "\"}",
		 addr_s);
	submit(prov_tok, body);

	snprintf(p, sizeof(p), "%s/out", dir);
	if (phr("export --keystore '%s' --out '%s'", ks, p) != 0) {
		struct phr_buf o;
		snprintf(p, sizeof(p), "%s/cli.out", dir);
		phr_buf_init(&o, 0);
		if (phr_file_read(&o, p, 1 << 16) != PHR_OK)
			fail_msg("phr export failed (no output)");
		fail_msg("phr export failed: %.*s", (int)o.len, (char *)o.data);
	}
	snprintf(p, sizeof(p), "%s/out/bundle.json", dir);
	b = json_load_file(p, 0, NULL);
	assert_non_null(b);
	if (phr_fhir_validate(&issues, b) != PHR_OK)
		fail_msg("bundle invalid: %s", json_dumps(issues, JSON_INDENT(1)));
	json_decref(issues);
	assert_int_equal(json_array_size(json_object_get(b, "entry")), 2);
	json_array_foreach(json_object_get(b, "entry"), i, e) {
		json_t *res = json_object_get(e, "resource");
		const char *rt = json_string_value(json_object_get(res, "resourceType"));
		if (strcmp(rt, "Observation") == 0)
			found += strcmp(json_string_value(json_object_get(json_object_get(res, "code"),
									  "text")),
					MARKER) == 0;
		else if (strcmp(rt, "Binary") == 0)
			/* "note EXPORT-KEYSTORE-MARKER" in base64 */
			found += strcmp(json_string_value(json_object_get(res, "data")),
					"bm90ZSBFWFBPUlQtS0VZU1RPUkUtTUFSS0VS") == 0;
	}
	assert_int_equal(found, 2);
	json_decref(b);
	/* her own Views, logged with her key, are in the access log */
	snprintf(p, sizeof(p), "%s/out/access-log.json", dir);
	log = json_load_file(p, 0, NULL);
	assert_non_null(log);
	json_array_foreach(log, i, e)
		views += strcmp(json_string_value(json_object_get(e, "action")), "View") == 0 &&
			 strcmp(json_string_value(json_object_get(e, "purpose")), "PatientRequest") == 0 &&
			 strcasecmp(json_string_value(json_object_get(e, "recipient")), addr_s) == 0;
	assert_int_equal(views, 2);
	json_decref(log);
	snprintf(p, sizeof(p), "%s/out/bundle.ndjson", dir);
	assert_int_equal(access(p, R_OK), 0);
	/* no CAR for a keystore patient (the node cannot sign her manifest) */
	snprintf(p, sizeof(p), "%s/out/records.car", dir);
	assert_int_not_equal(access(p, R_OK), 0);
	/* no plaintext on the node's disk or in its logs */
	{
		size_t files = 0;
		assert_int_equal(node_test_scan(nodedir, (const uint8_t *)MARKER, strlen(MARKER), &files),
				 0);
		assert_true(files > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_keystore),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
