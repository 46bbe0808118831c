/*
 * The CLI over a running `phr node --dev`: login with a keystore (SIWE),
 * record submit/get/list, access request/approve/revoke/list, audit, and
 * exit statuses and messages for refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "node_test_util.h"
#include "phr/api.h"
#include "phr/crypto.h"

static char *dir, url[128], tokens[700], patient[64], clinic[64];
static pid_t node;

/* Runs `phr ARGS` through the shell; output in @p out. @return the exit status. */
static int phr(char *out, size_t cap, const char *fmt, ...)
{
	char args[2048], cmd[3000];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "PHR_DATADIR='%s/cli' PHR_PASSWORD=dev '%s' %s --node %s 2>&1",
		 dir, getenv("PHR_BIN"), args, url);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
	char o[700], e[700], d[700];
	json_t *t;

	(void)state;
	if (getenv("PHR_BIN") == NULL || (dir = node_test_tmpdir("cli")) == NULL)
		return -1;
	snprintf(d, sizeof(d), "%s/node", dir);
	const char *argv[] = { getenv("PHR_BIN"), "node", "--datadir", d, "--listen", "127.0.0.1:0",
			       "--dev", NULL };
	snprintf(o, sizeof(o), "%s/node.out", dir);
	snprintf(e, sizeof(e), "%s/node.log", dir);
	node = node_test_spawn(argv, o, e, "listening on ", url, sizeof(url));
	if (node <= 0)
		return -1;
	snprintf(tokens, sizeof(tokens), "%s/node/dev/tokens.json", dir);
	t = json_load_file(tokens, 0, NULL);
	if (t == NULL)
		return -1;
	snprintf(patient, sizeof(patient), "%s",
		 json_string_value(json_object_get(json_object_get(t, "patient"), "address")));
	snprintf(clinic, sizeof(clinic), "%s",
		 json_string_value(json_object_get(json_object_get(t, "clinic"), "address")));
	json_decref(t);
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

static void test_cli(void **state)
{
	static char out[1 << 16];
	char file[700], got[700];
	FILE *f;

	(void)state;
	/* login with the patient's keystore; later commands use the saved token */
	assert_int_equal(phr(out, sizeof(out), "login --keystore '%s/node/dev/keys/patient.json'", dir), 0);
	assert_non_null(strstr(out, patient));
	assert_int_equal(phr(out, sizeof(out), "patient me --json"), 0);
	assert_non_null(strstr(out, "\"patient\""));
	assert_int_equal(phr(out, sizeof(out), "record list --json"), 0);
	assert_non_null(strstr(out, "\"count\":3"));
	assert_int_equal(phr(out, sizeof(out), "record get 1"), 0);
	assert_non_null(strstr(out, "\"resourceType\":\"Immunization\""));

	/* the provider submits a file; the patient gets it back byte for byte */
	snprintf(file, sizeof(file), "%s/in.txt", dir);
	f = fopen(file, "w");
	fputs("Progress note: CLI-MARKER stable, continue current plan.\n", f);
	fclose(f);
	assert_int_equal(phr(out, sizeof(out),
			     "record submit --token-file '%s' --as provider --patient %s --type 8 --file '%s'",
			     tokens, patient, file), 0);
	assert_non_null(strstr(out, "\"id\":\"4\""));
	snprintf(got, sizeof(got), "%s/out.txt", dir);
	assert_int_equal(phr(out, sizeof(out), "record get 4 --out '%s'", got), 0);
	assert_int_equal(phr(out, sizeof(out), "record get 4"), 0);
	assert_string_equal(out, "Progress note: CLI-MARKER stable, continue current plan.\n");

	/* the clinic has no grant: exit 1 with the API's reason */
	assert_int_equal(phr(out, sizeof(out), "record get 4 --token-file '%s' --as clinic", tokens), 1);
	assert_non_null(strstr(out, "403"));
	/* request, approve, read, revoke */
	assert_int_equal(phr(out, sizeof(out),
			     "access request --token-file '%s' --as clinic --patient %s --purpose 1 --duration 600",
			     tokens, patient), 0);
	assert_int_equal(phr(out, sizeof(out), "access list --requests --json"), 0);
	assert_non_null(strstr(out, "\"status\":\"Pending\""));
	assert_int_equal(phr(out, sizeof(out), "access approve 0"), 0);
	assert_int_equal(phr(out, sizeof(out), "record get 4 --token-file '%s' --as clinic", tokens), 0);
	assert_non_null(strstr(out, "CLI-MARKER"));
	assert_int_equal(phr(out, sizeof(out), "access revoke --provider %s", clinic), 0);
	assert_int_equal(phr(out, sizeof(out), "record get 4 --token-file '%s' --as clinic", tokens), 1);
	assert_int_equal(phr(out, sizeof(out), "access list --json"), 0);
	assert_non_null(strstr(out, "\"state\":\"revoked\""));
	/* a category grant with an expiry */
	assert_int_equal(phr(out, sizeof(out),
			     "access grant --provider %s --level read --scope category:8 --duration 600",
			     clinic), 0);
	assert_int_equal(phr(out, sizeof(out), "record get 4 --token-file '%s' --as clinic", tokens), 0);
	assert_int_equal(phr(out, sizeof(out), "record get 1 --token-file '%s' --as clinic", tokens), 1);
	/* the audit trail, and who looked at record 4 */
	assert_int_equal(phr(out, sizeof(out), "audit --json"), 0);
	assert_non_null(strstr(out, "\"action\":\"Revoke\""));
	assert_int_equal(phr(out, sizeof(out), "audit --record 4 --json"), 0);
	assert_non_null(strstr(out, "\"action\":\"Create\""));
	assert_non_null(strstr(out, "\"action\":\"View\""));
	assert_int_equal(phr(out, sizeof(out), "audit --denials --json"), 0);
	assert_non_null(strstr(out, clinic));

	/* a provider whose keys never reach the node (dev account 7, not hosted) */
	{
		uint8_t sk[32], addr[20];
		char ks[700], tokfile[700], a7[PHR_ETH_ADDRESS_STR_LEN], *json = NULL;
		const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
		assert_int_equal(phr_crypto_init(), PHR_OK);
		assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, 7), PHR_OK);
		assert_int_equal(phr_eth_address_from_seckey(addr, sk), PHR_OK);
		phr_eth_address_checksum(a7, addr);
		assert_int_equal(phr_keystore_encrypt(&json, sk, "dev", 3, &light), PHR_OK);
		snprintf(ks, sizeof(ks), "%s/ext.json", dir);
		f = fopen(ks, "w");
		fputs(json, f);
		fclose(f);
		free(json);
		snprintf(tokfile, sizeof(tokfile), "%s/ext.token", dir);
		/* registers its X25519 key, signing here */
		assert_int_equal(phr(out, sizeof(out), "patient register --keystore '%s'", ks), 0);
		assert_non_null(strstr(out, a7));
		/* the authority verifies it; the patient grants it Read on notes */
		{
			json_t *t = json_load_file(tokens, 0, NULL);
			char body[128];
			struct phr_buf resp;
			long status = 0;
			assert_non_null(t);
			snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", a7);
			phr_buf_init(&resp, 65536);
			assert_int_equal(phr_api_client_call(&status, &resp, url, "POST", "/api/v1/providers/verify",
							     json_string_value(json_object_get(json_object_get(t, "authority"), "token")),
							     "application/json", body, strlen(body), NULL), PHR_OK);
			assert_int_equal(status, 201);
			phr_buf_release(&resp);
			json_decref(t);
		}
		assert_int_equal(phr(out, sizeof(out),
				     "access grant --provider %s --level read --scope category:8 --duration 600", a7), 0);
		assert_int_equal(phr(out, sizeof(out), "login --keystore '%s' --out '%s'", ks, tokfile), 0);
		/* reads record 4 with its own keys: View signed here, capsule opened here */
		assert_int_equal(phr(out, sizeof(out), "record get 4 --keystore '%s' --token-file '%s'", ks, tokfile), 0);
		assert_string_equal(out, "Progress note: CLI-MARKER stable, continue current plan.\n");
		/* not in scope: the View is refused on chain */
		assert_int_equal(phr(out, sizeof(out), "record get 1 --keystore '%s' --token-file '%s'", ks, tokfile), 1);
		/* without its keystore the node cannot act for it */
		assert_int_equal(phr(out, sizeof(out), "record get 4 --token-file '%s'", tokfile), 1);
		assert_non_null(strstr(out, "does not hold the caller's keys"));
		assert_int_equal(phr(out, sizeof(out), "access revoke --provider %s --scope category:8", a7), 0);
		assert_int_equal(phr(out, sizeof(out), "record get 4 --keystore '%s' --token-file '%s'", ks, tokfile), 1);

		/* the patient's own client grants and re-seals the key (patient keystore, signed here) */
		assert_int_equal(phr(out, sizeof(out),
				     "record submit --token-file '%s' --as provider --patient %s --type 7 --text 'Rx: KEYSTORE-MARKER amoxicillin' --json",
				     tokens, patient), 0);
		if (strstr(out, "\"id\":\"5\"") == NULL)
			fail_msg("submit: %s", out);
		assert_int_equal(phr(out, sizeof(out),
				     "access grant --keystore '%s/node/dev/keys/patient.json' --provider %s --level read --scope record:5 --duration 600 --json",
				     dir, a7), 0);
		assert_non_null(strstr(out, "\"wrapped\":1"));
		{
			/* the capsule is on the node before any read (uploaded, not made by the node) */
			struct phr_buf resp;
			long status = 0;
			char p5[200];
			snprintf(p5, sizeof(p5), "/api/v1/records/5/capsules/%s", a7);
			phr_buf_init(&resp, 65536);
			assert_int_equal(phr_api_client_call(&status, &resp, url, "GET", p5, NULL, NULL, NULL, 0, NULL), PHR_OK);
			assert_int_equal(status, 200);
			phr_buf_release(&resp);
		}
		assert_int_equal(phr(out, sizeof(out), "record get 5 --keystore '%s' --token-file '%s'", ks, tokfile), 0);
		assert_string_equal(out, "Rx: KEYSTORE-MARKER amoxicillin");
		/* the provider's own client submits: encrypts here, mints with its own key */
		assert_int_equal(phr(out, sizeof(out),
				     "access grant --provider %s --level write --scope category:7 --duration 600", a7), 0);
		assert_int_equal(phr(out, sizeof(out),
				     "record submit --keystore '%s' --token-file '%s' --patient %s --type 7 --text 'Rx: KEYSTORE-SUBMIT ibuprofen'",
				     ks, tokfile, patient), 0);
		if (strstr(out, "\"id\":\"6\"") == NULL)
			fail_msg("keystore submit: %s", out);
		assert_int_equal(phr(out, sizeof(out), "record get 6"), 0);
		assert_string_equal(out, "Rx: KEYSTORE-SUBMIT ibuprofen");
		assert_int_equal(phr(out, sizeof(out), "record get 6 --keystore '%s' --token-file '%s'", ks, tokfile), 0);
		assert_string_equal(out, "Rx: KEYSTORE-SUBMIT ibuprofen");

		/* only the record's patient (or its provider) uploads capsules */
		{
			struct phr_buf resp;
			long status = 0;
			char p5[200], t7[80];
			uint8_t junk[80] = { 0 };
			FILE *tf = fopen(tokfile, "r");
			assert_non_null(tf);
			assert_non_null(fgets(t7, sizeof(t7), tf));
			fclose(tf);
			t7[strcspn(t7, "\n")] = 0;
			snprintf(p5, sizeof(p5), "/api/v1/records/5/capsules/%s", a7);
			phr_buf_init(&resp, 65536);
			assert_int_equal(phr_api_client_call(&status, &resp, url, "PUT", p5, t7,
							     "application/octet-stream", junk, sizeof(junk), NULL), PHR_OK);
			assert_int_equal(status, 403);
			phr_buf_release(&resp);
		}
	}

	/* usage errors and help */
	assert_int_equal(phr(out, sizeof(out), "record submit --type 1"), 2);
	assert_int_equal(phr(out, sizeof(out), "access frobnicate"), 2);
	assert_int_equal(phr(out, sizeof(out), "login"), 2);
	for (size_t i = 0; i < 5; i++) {
		static const char *const cmds[] = { "login", "patient", "record", "access", "audit" };
		assert_int_equal(phr(out, sizeof(out), "%s --help", cmds[i]), 0);
		assert_non_null(strstr(out, "usage: phr"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
